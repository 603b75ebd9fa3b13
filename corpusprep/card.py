"""Dataset cards: the README.md (Hugging Face YAML header + prose) every `clean` / `shard` output carries.

Written into the staging area before the commit, so complete.json records it like every other output.
The prose repeats recorded numbers only (report.json / zooprep.json); the header follows the Hub's
dataset-card metadata (language, license, size_categories, source_datasets, task_categories).
"""
from __future__ import annotations

import json
from pathlib import Path

CARD = "README.md"
UNKNOWN_LICENSE = "unknown"
# What each UER objective trains, in the Hub's task categories.
TASKS = {"mlm": "fill-mask", "bert": "fill-mask", "albert": "fill-mask", "cls_mlm": "fill-mask",
         "lm": "text-generation", "bilm": "text-generation", "prefixlm": "text-generation",
         "t5": "text2text-generation", "bart": "text2text-generation", "gsg": "summarization",
         "cls": "text-classification"}
UER_CITATION = """@inproceedings{zhao2019uer,
  title={UER: An Open-Source Toolkit for Pre-training Models},
  author={Zhao, Zhe and Chen, Hui and Zhang, Jinbin and Zhao, Xin and Liu, Tao and Lu, Wei and Chen, Xi and Deng, Haotang and Ju, Qi and Du, Xiaoyong},
  booktitle={Proceedings of EMNLP-IJCNLP 2019: System Demonstrations},
  pages={241--246},
  year={2019}
}"""


def size_category(n: int) -> str:
    """The Hub's size bucket for ``n`` examples."""
    if n < 1000:
        return "n<1K"
    names = ["1K", "10K", "100K", "1M", "10M", "100M", "1B", "10B", "100B", "1T"]
    for lo, hi in zip(names, names[1:]):
        if n < _value(hi):
            return f"{lo}<n<{hi}"
    return "n>1T"


def _value(name: str) -> int:
    return int(name[:-1]) * {"K": 10**3, "M": 10**6, "B": 10**9, "T": 10**12}[name[-1]]


def _sources(paths) -> list[str]:
    names = [Path(str(p).rstrip("/")).name or str(p) for p in paths]
    return [f"extended|{n}" for n in dict.fromkeys(names)][:20] or ["original"]


def _header(license_: str | None, n: int, sources: list[str], tasks: list[str], pretty: str) -> str:
    meta = {"language": ["zh"], "license": license_ or UNKNOWN_LICENSE, "size_categories": [size_category(n)],
            "source_datasets": sources, "task_categories": tasks, "pretty_name": pretty}
    return "---\n" + "".join(_yaml_item(k, v) for k, v in meta.items()) + "---\n"


def _yaml_item(key: str, value) -> str:
    """One YAML mapping entry; scalars as JSON strings (valid YAML double-quoted scalars, any user
    text escaped), so writing a card needs no YAML library on the shard path (start-up)."""
    import json

    if isinstance(value, list):
        return f"{key}:\n" + "".join(f"- {json.dumps(str(v), ensure_ascii=False)}\n" for v in value)
    return f"{key}: {json.dumps(str(value), ensure_ascii=False)}\n"


def _code(text: str) -> str:
    return "```\n" + text.replace("```", "` ` `") + "\n```"


def _h(hist: dict | None) -> str:
    if not hist or not hist.get("count"):
        return "-"
    return f"p50 {hist['p50']}, p90 {hist['p90']}, p99 {hist['p99']}, max {hist['max']}"


def clean_card(report: dict, license_: str | None) -> str:
    """README.md of a `clean` output, from its report.json object."""
    opts = report.get("options", {})
    inputs = opts.get("inputs", [])
    dropped = report.get("dropped", {})
    lines = [_header(license_, report["kept"], _sources(inputs), ["fill-mask", "text-generation"],
                     "zooprep clean output"),
             "# zooprep clean output", "",
             "Chinese pretraining text cleaned, filtered and deduplicated by `zooprep clean` "
             f"(zooprep {report.get('zooprep_version', '?')}). Shards: "
             + ", ".join(f"`{s['path']}` ({s['split']}, {s['records']} documents)" for s in report.get("shards", [])) + ".",
             "", "## Command", "", _code("zooprep clean " + " ".join(inputs) + " --out DIR  # options below"),
             "", _code(json.dumps(opts, ensure_ascii=False, indent=1, sort_keys=True)), "",
             "## Counts", "",
             f"- documents read {report['read']}, kept {report['kept']}, dropped {sum(dropped.values())}"
             + (" (" + ", ".join(f"{k} {v}" for k, v in dropped.items()) + ")" if dropped else ""),
             f"- characters read {report['chars_in']}, kept {report['chars_out']}; bytes read {report['bytes_in']}, "
             f"kept {report['bytes_out']}",
             f"- characters per document: {_h((report.get('lengths') or {}).get('chars_per_document'))}",
             f"- families: " + ", ".join(f"{f} ({c['kept']} kept)" for f, c in (report.get("by_family") or {}).items()),
             "", f"License: {license_ or UNKNOWN_LICENSE} (as given to `--license`; the sources' own terms apply).",
             "Every figure above is from `report.json`; `zooprep report DIR --out report.html` draws them.", ""]
    return "\n".join(lines)


def shard_card(meta: dict, license_: str | None, corpus) -> str:
    """README.md of a `shard` output (instances or an encoded corpus), from its zooprep.json object."""
    c = meta.get("counts", {})
    tok = meta.get("tokenizer", {})
    encoded = meta.get("kind") == "encoded"
    processor = meta.get("processor", "mlm")
    tasks = ["fill-mask", "text-generation"] if encoded else [TASKS.get(processor, "fill-mask")]
    n = c.get("documents", 0) if encoded else c.get("instances", 0)
    what = "an encoded corpus (token ids per document)" if encoded else \
        f"`{processor}` pretraining instances of {meta.get('seq_len')} tokens"
    lengths = c.get("lengths") or {}
    lines = [_header(license_, n, _sources(corpus), tasks, f"zooprep shard {'encoded' if encoded else processor}"),
             "# zooprep shard output", "",
             f"{what.capitalize() if encoded else what} built by `zooprep shard` (zooprep {meta.get('zooprep_version', '?')}), "
             "in the `datasets.save_to_disk` layout: `datasets.load_from_disk(DIR)` opens it.", "",
             "## Command", "", _code("zooprep shard " + " ".join(str(p) for p in corpus) + " --out DIR  # options below"),
             "", _code(json.dumps(meta.get("options", {}), ensure_ascii=False, indent=1, sort_keys=True)), "",
             "## Tokenizer", "",
             f"- kind `{tok.get('kind', '?')}`, file `{Path(str(tok.get('path', ''))).name}`, "
             f"vocab size {tok.get('vocab_size', '?')}",
             f"- sha256 {tok.get('vocab_sha256') or tok.get('model_sha256') or tok.get('fingerprint', '?')}", "",
             "## Counts", "",
             f"- documents {c.get('documents', 0)}" + ("" if encoded else f", instances {c.get('instances', 0)}")
             + f", tokens {c.get('tokens', 0)}",
             f"- [UNK] rate {c.get('unk_rate', 0):.4%}" + ("" if encoded else f", padding share {c.get('padding_share', 0):.2%}"),
             f"- tokens per document: {_h(lengths.get('tokens_per_document'))}",
             f"- tokens per row: {_h(lengths.get('tokens_per_row'))}" if not encoded else None,
             ]
    for name, counts in (c.get("labels") or {}).items():
        lines.append(f"- {name}: " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    if meta.get("splits"):
        v = meta["splits"]["validation"]["counts"]
        lines.append(f"- splits: train {c.get('documents', 0)} documents / {c.get('instances', 0)} instances, "
                     f"validation {v.get('documents', 0)} documents / {v.get('instances', 0)} instances "
                     "(whole documents held out by seed; `datasets.load_from_disk` gives a DatasetDict)")
    for h in c.get("hints", []):
        lines.append(f"- hint: {h}")
    lines += ["", f"License: {license_ or UNKNOWN_LICENSE} (as given to `--license`; the sources' own terms apply).",
              "Every figure above is from `zooprep.json`; `zooprep report DIR --out report.html` draws them.", ""]
    return "\n".join(line for line in lines if line is not None)


def dataset_description(meta: dict) -> str:
    """dataset_info.json ``description`` of a shard."""
    c = meta.get("counts", {})
    if meta.get("kind") == "encoded":
        return f"zooprep encoded corpus: {c.get('documents', 0)} Chinese documents as token ids."
    return (f"zooprep shard: {c.get('instances', 0)} {meta.get('processor')} pretraining instances "
            f"(seq_len {meta.get('seq_len')}) from {c.get('documents', 0)} Chinese documents, UER-py semantics.")


def write_text(path: Path, text: str) -> None:
    from corpusprep.atomic import write_bytes

    write_bytes(path, text.encode("utf-8"))
