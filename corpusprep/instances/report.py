"""The short report `shard` prints when it is done."""
from __future__ import annotations

from corpusprep.instances.stats import summary_lines
from corpusprep.storage import display


def format_report(result) -> str:
    m = result.meta
    c = m["counts"]
    if m.get("kind") == "encoded":
        return _encoded_report(result)
    lines = [
        f"shard: {display(result.out)}  ({m['processor']}, seq_len {m['seq_len']}, {m['dtype']}, {len(m['files'])} file(s))",
        f"  documents in   {c['documents']}",
        f"  instances out  {c['instances']}",
        f"  tokens         {c['tokens']}",
        f"  padding share  {c['padding_share']:.2%}",
        f"  [UNK] rate     {c['unk_rate']:.4%}",
    ]
    if c.get("rejected_lines"):
        why = ", ".join(f"{reason} {n}" for reason, n in (c.get("rejected_reasons") or {}).items())
        lines.append(f"  rejected lines {c['rejected_lines']} ({why + '; ' if why else ''}samples in zooprep.json)")
    lines += summary_lines(c, m['processor'])
    if result.resumed_units:
        lines.append(f"  resumed        {result.resumed_units} finished unit(s) reused, {result.built_units} built")
    return "\n".join(lines)


def _encoded_report(result) -> str:
    m, c = result.meta, result.meta["counts"]
    lines = [f"shard: {display(result.out)}  (encoded corpus for {'/'.join(m['encoded']['views'])} views, {m['dtype']}, "
             f"{len(m['files'])} file(s))",
             f"  documents      {c['documents']}",
             f"  tokens         {c['tokens']}",
             f"  [UNK] rate     {c['unk_rate']:.4%}"]
    if c.get("rejected_lines"):
        lines.append(f"  rejected lines {c['rejected_lines']} (samples in zooprep.json)")
    if result.resumed_units:
        lines.append(f"  resumed        {result.resumed_units} finished unit(s) reused, {result.built_units} built")
    return "\n".join(lines)
