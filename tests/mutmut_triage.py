"""Surviving mutmut mutants, named by what they change, against the triage table of docs/testing.md.

    mutmut run                              # the full run (config: [tool.mutmut] in pyproject.toml)
    python tests/mutmut_triage.py           # survivors of that run not yet triaged in docs/testing.md
    python tests/mutmut_triage.py --all     # every survivor with its key, triaged or not

mutmut numbers its mutants per function (``x_strip_html__mutmut_7``), and the numbers shift when the
function changes; the triage keys on what a mutant does instead: ``module.function: old -> new``, the
smallest differing span of the one changed line (``ops.strip_html: "<BR" -> "XX<BRXX"``).
"""
from __future__ import annotations

import argparse
import ast
import difflib
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRIAGE_DOC = REPO / "docs" / "testing.md"
_MANGLED = re.compile(r"^(?P<module>.+?)\.(?P<func>x[_ǁ].*)__mutmut_(?P<n>\d+)$")


_SOURCES: dict[Path, dict[str, str]] = {}


def _function_sources(path: Path) -> dict[str, str]:
    """Function name -> its source lines, for every top-level function and method of ``path`` (cached)."""
    if path not in _SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        out = {}
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out[node.name] = "\n".join(lines[node.lineno - 1:node.end_lineno])
        _SOURCES[path] = out
    return _SOURCES[path]


def _span(old: str, new: str) -> tuple[str, str]:
    """The smallest differing middle of two lines (common prefix and suffix cut at token edges)."""
    a, b = old.strip(), new.strip()
    i = 0
    while i < min(len(a), len(b)) and a[i] == b[i]:
        i += 1
    j = 0
    while j < min(len(a), len(b)) - i and a[-1 - j] == b[-1 - j]:
        j += 1
    while i > 0 and a[i - 1] not in " ([{,":  # widen to whole tokens
        i -= 1
    while j > 0 and a[len(a) - j] not in " )]},:":
        j -= 1
    return a[i:len(a) - j] or "''", b[i:len(b) - j] or "''"


def mutant_key(mutants_dir: Path, name: str) -> str:
    """``module.function: old -> new`` for a mutant of ``mutants_dir`` (the folder mutmut works in)."""
    m = _MANGLED.match(name)
    if not m:
        return name
    module, func = m.group("module"), m.group("func")
    path = mutants_dir / (module.replace(".", "/") + ".py")
    sources = _function_sources(path)
    orig, mutant = sources.get(f"{func}__mutmut_orig", ""), sources.get(f"{func}__mutmut_{m.group('n')}", "")
    same_name = re.compile(r"__mutmut_(orig|\d+)\(")  # the def line differs only in the name, unless a default did
    diff = [d for d in difflib.ndiff(same_name.sub("(", orig).splitlines(), same_name.sub("(", mutant).splitlines())
            if d[:1] in "+-"]
    olds = [d[2:] for d in diff if d[0] == "-"]
    news = [d[2:] for d in diff if d[0] == "+"]
    readable = func[2:].replace("ǁ", ".").strip(".")
    short = f"{module.rsplit('.', 1)[-1]}.{readable}"
    if len(olds) == 1 and len(news) == 1:
        a, b = _span(olds[0], news[0])
        line = olds[0].strip()
        return f"{short}: {a} -> {b}" + (f" in {line[:60]}" if line != a else "")
    if olds and not news:
        return f"{short}: drop {olds[0].strip()}"
    return f"{short}: {' / '.join(x.strip() for x in olds)} -> {' / '.join(x.strip() for x in news)}"


def results(mutants_dir: Path) -> dict[str, int | None]:
    """mutant name -> mutmut exit code (0 survived, 1 killed, 33 no tests, None not run)."""
    out = {}
    for meta in mutants_dir.rglob("*.py.meta"):
        out.update(json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"])
    return out


def survivors(mutants_dir: Path, names=None) -> dict[str, str]:
    """name -> key of every surviving mutant (among ``names`` when given)."""
    res = results(mutants_dir)
    return {n: mutant_key(mutants_dir, n) for n, code in sorted(res.items())
            if code == 0 and (names is None or n in names)}


def triaged(doc: Path = TRIAGE_DOC) -> dict[str, str]:
    """key -> verdict, from the rows ``| `key` | verdict |`` of the survivors table in docs/testing.md."""
    out = {}
    for line in doc.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `(.+)` \| (.+?) \|$", line)
        if m:
            out[m.group(1).replace("\\|", "|")] = m.group(2)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mutants", type=Path, default=REPO / "mutants", help="mutmut's working folder")
    ap.add_argument("--all", action="store_true", help="list triaged survivors too")
    args = ap.parse_args(argv)
    res = results(args.mutants)
    counts = {}
    for code in res.values():
        counts[code] = counts.get(code, 0) + 1
    print(f"{len(res)} mutants: " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=str)))
    known = triaged()
    new = 0
    for name, key in survivors(args.mutants).items():
        if key not in known:
            new += 1
        if args.all or key not in known:
            print(f"| `{key.replace('|', chr(92) + '|')}` | {known.get(key, 'NOT TRIAGED')} |   <- {name}")
    print(f"{new} survivor(s) not triaged in {TRIAGE_DOC.relative_to(REPO)}")
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
