"""Record a trainer project's command-line options as data (``manifests/data/cli_*.yaml``).

Reads the scripts of a local git clone at one commit (``git show COMMIT:PATH``), or of a plain copy
of that commit (``--src-dir``, e.g. ``../shared/reference/trainers/UER-py``), walks their syntax tree and writes, per script, every ``add_argument`` call's flags, type, choices, nargs, action,
default and required-ness, following calls into the project's option helpers (``tokenizer_opts``,
``model_opts``...). Only these facts are kept (no code, no help texts). Run again when the upstream
project changes, then review the diff::

    python tools/record_trainer_cli.py --git-dir CLONE.git \\
        --project dbiir/UER-py --opts uer/opts.py --out manifests/data/cli_uer-py.yaml \\
        preprocess.py pretrain.py scripts/convert_bert_from_uer_to_huggingface.py
"""
from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import yaml

_KEYS = ("type", "choices", "nargs", "action", "default", "required")


def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", "--git-dir", git_dir, *args], check=True, capture_output=True, text=True).stdout


def _value(node: ast.AST):
    if isinstance(node, ast.Name):  # type=int, type=str
        return node.id
    if isinstance(node, ast.Attribute):
        return ast.unparse(node)
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ast.unparse(node)


def _option(call: ast.Call) -> dict:
    flags = [_value(a) for a in call.args]
    opt: dict = {"flags": flags}
    for kw in call.keywords:
        if kw.arg in _KEYS:
            opt[kw.arg] = _value(kw.value)
    return opt


class _Collector(ast.NodeVisitor):
    """Collects add_argument calls in source order, expanding calls to helper functions."""

    def __init__(self, helpers: dict[str, ast.FunctionDef]):
        self.helpers = helpers
        self.options: list[dict] = []
        self.expanded: list[str] = []

    def visit_Call(self, node: ast.Call) -> None:
        f = node.func
        if isinstance(f, ast.Attribute) and f.attr == "add_argument":
            self.options.append(_option(node))
        elif isinstance(f, ast.Name) and f.id in self.helpers:
            self.expanded.append(f.id)
            for stmt in self.helpers[f.id].body:
                self.visit(stmt)
        self.generic_visit(node)


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _requirements(body: list[ast.stmt]) -> list[dict]:
    """``if "X" in args.A: assert args.B is not None, MSG`` after parsing: B is required when A holds X."""
    out = []
    for stmt in body:
        if not (isinstance(stmt, ast.If) and isinstance(stmt.test, ast.Compare)
                and isinstance(stmt.test.ops[0], ast.In) and isinstance(stmt.test.comparators[0], ast.Attribute)):
            continue
        for inner in stmt.body:
            t = getattr(inner, "test", None)
            if isinstance(inner, ast.Assert) and isinstance(t, ast.Compare) and isinstance(t.left, ast.Attribute) \
                    and isinstance(t.ops[0], ast.IsNot):
                out.append({"when_option": stmt.test.comparators[0].attr, "contains": _value(stmt.test.left),
                            "requires": t.left.attr, "message": _value(inner.msg) if inner.msg else None})
    return out


def record_script(read, path: str, opts_path: str | None) -> dict:
    """``read(path)``: the text of a file of the recorded commit."""
    tree = ast.parse(read(path))
    helpers = _functions(ast.parse(read(opts_path))) if opts_path else {}
    own = _functions(tree)
    col = _Collector(helpers)
    entry = own.get("main")
    for stmt in (entry.body if entry else tree.body):
        col.visit(stmt)
    files = [path] + ([opts_path] if col.expanded else [])
    rec = {"source_files": files, "helpers": sorted(set(col.expanded)), "options": col.options}
    checks = _requirements(entry.body if entry else tree.body)
    if checks:
        rec["after_parsing"] = checks
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--git-dir", help="a clone's git directory")
    where.add_argument("--src-dir", help="a plain copy of the commit's files (needs --commit and --date)")
    ap.add_argument("--project", required=True, help="owner/name on GitHub")
    ap.add_argument("--commit", default="HEAD")
    ap.add_argument("--date", help="the commit's date (YYYY-MM-DD); with --src-dir")
    ap.add_argument("--opts", help="the module holding the option helpers, e.g. uer/opts.py")
    ap.add_argument("--out", required=True)
    ap.add_argument("scripts", nargs="+")
    a = ap.parse_args(argv)
    if a.src_dir:
        if a.commit == "HEAD" or not a.date:
            ap.error("--src-dir needs the copy's full --commit and its --date")
        commit, date = a.commit, a.date
        read = lambda path: (Path(a.src_dir) / path).read_text(encoding="utf-8")  # noqa: E731
    else:
        commit = _git(a.git_dir, "rev-parse", a.commit).strip()
        date = _git(a.git_dir, "show", "-s", "--format=%cs", commit).strip()
        read = lambda path: _git(a.git_dir, "show", f"{commit}:{path}")  # noqa: E731
    doc = {"project": a.project, "url": f"https://github.com/{a.project}", "commit": commit, "commit_date": date,
           "recorded_by": "python tools/record_trainer_cli.py",
           "scripts": {s: record_script(read, s, a.opts) for s in a.scripts}}
    header = (f"# Command-line options of {a.project} at {commit[:7]} ({date}), recorded as data by\n"
              "# tools/record_trainer_cli.py (flags, type, choices, nargs, action, default, required).\n"
              "# `zoo recipe --check` builds an argparse parser from this file; edit only by re-recording.\n")
    Path(a.out).write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=120, default_flow_style=None), encoding="utf-8")
    print(f"wrote {a.out}: " + ", ".join(f"{s} {len(v['options'])} options" for s, v in doc["scripts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
