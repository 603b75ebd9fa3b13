"""Cross-check: parse every printed recipe command with the trainer's REAL scripts.

Copies the scripts from a plain copy of the recorded commit (``--src-dir``, e.g.
``../shared/reference/trainers/UER-py``) or a local clone (``--git-dir``, ``git archive``) into a
temporary folder, runs each
printed command's script with argparse stopped right after parsing (nothing is trained or
loaded), and reports refused commands. This checks the recorded command lines
(``manifests/data/cli_*.yaml``) against the code they were recorded from::

    python tools/parse_with_real_trainer.py --src-dir ../shared/reference/trainers/UER-py --tool uer
"""
from __future__ import annotations

import argparse
import os
import runpy
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # a dev tool run from a checkout


class _Parsed(BaseException):
    pass


class _Refused(BaseException):
    pass


def _stop_after_parsing() -> None:
    original = argparse.ArgumentParser.parse_args

    def parse_args(self, args=None, namespace=None):
        raise _Parsed(original(self, args, namespace))

    def error(self, message):
        raise _Refused(message)

    argparse.ArgumentParser.parse_args = parse_args
    argparse.ArgumentParser.error = error


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--git-dir", help="a clone's git directory (the recorded commit is extracted)")
    where.add_argument("--src-dir", help="a plain copy of the recorded commit's files")
    ap.add_argument("--tool", required=True, choices=["uer", "tencentpretrain"])
    a = ap.parse_args(argv)

    from manifests.catalog import load_catalog
    from manifests.recipe_check import trainer_args
    from manifests.recipe_commands import FORMATS, build_plan
    from manifests.trainer_cli import load_trainer, script_key

    cli = load_trainer(a.tool)
    package = "uer" if a.tool == "uer" else "tencentpretrain"
    cat = load_catalog()
    plans = [build_plan(cat, m, f) for m in cat.models if cat.recipe_of(m) for f in FORMATS]
    files = ["preprocess.py", "pretrain.py", "scripts", package, "models/special_tokens_map.json"]
    with tempfile.TemporaryDirectory() as tmp:
        if a.src_dir:
            for f in files:
                src, dst = Path(a.src_dir) / f, Path(tmp) / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copytree(src, dst) if src.is_dir() else shutil.copyfile(src, dst)
        else:
            archive = subprocess.run(["git", "--git-dir", a.git_dir, "archive", cli.commit, *files], check=True,
                                     capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        os.chdir(tmp)  # the trainers read models/special_tokens_map.json relative to the working folder
        sys.path.insert(0, tmp)
        _stop_after_parsing()
        parsed = refused = 0
        for plan in plans:
            for step in (s for s in plan.steps if s.tool == a.tool):
                spec = cli.scripts[script_key(step.script)]
                sys.argv = [step.script, *trainer_args(step, spec, [])]
                try:
                    runpy.run_path(step.script, run_name="__main__")
                    print(f"NOT PARSED {plan.model} {plan.format}: {step.script} ran past argument parsing")
                    refused += 1
                except _Parsed as p:
                    ns = p.args[0]
                    if "cls" in getattr(ns, "target", []) and getattr(ns, "labels_num", 0) is None:
                        print(f"REFUSED {plan.model} {plan.format}: {step.script}: cls target without --labels_num")
                        refused += 1
                    else:
                        parsed += 1
                except _Refused as r:
                    print(f"REFUSED {plan.model} {plan.format}: {step.script}: {r.args[0]}")
                    refused += 1
    print(f"{cli.project}@{cli.commit[:7]}: {parsed} printed commands parsed by the real scripts, {refused} refused")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
