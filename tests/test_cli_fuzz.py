"""Issue 20: 0 tracebacks over every command and option (derandomised, in-process, CI-fast).

Every option of every command (read from the typer app, so a new option is fuzzed without editing this
file) is given hostile values drawn with a fixed seed; pretrain-example's own argparse options and the
cases the issue listed are added by hand. Each run must end with exit 0-3 (bad input: exit 2 with an
``error:`` line), never an uncaught exception, and within a time bound (no hang)."""
from __future__ import annotations

import contextlib
import io
import random
import signal
import sys
from pathlib import Path

import pytest

VALUES = ["", "0", "-1", "nan", "inf", "1e9", "1000000000", "abc", "2", "/", "\n", "x" * 300, "/bin/ls", "..",
          "a=b", "-", "--", "0.5"]
PER_OPTION = 1  # each value still meets many options: the pool is cycled with the seed
SEED = 20
NOT_FUZZED = {"--executor", "--ray-address", "--progress", "--list-ops"}  # a Ray start per run: too slow for CI
PRETRAIN = [["--batch-size", "0"], ["--batch-size", "-1"], ["--lr", "nan"], ["--lr", "-1"], ["--threads", "-1"],
            ["--log-every", "0"], ["--max-length", "100000000"], ["--model", "t5"], ["--warmup", "2"],
            ["--max-steps", "-1"], ["--seq-len", "0"], ["--weight-decay", "inf"], ["--workers", "-1"],
            ["--stop-at", "-3"], ["--view", "bogus"], ["--masking", "span", "--max-steps", "1"],
            ["--init-from", "/bin/ls"], ["--resume", "/bin/ls"], ["--log-file", ""], ["--save-weights", "/"],
            ["--device", "cuda"], ["--size", "huge"], ["--synthetic", "mlm", "--seq-len", "100000000"]]


class _Hang(Exception):
    pass


def _invoke(args: list[str], stdin: str = "今天天气很好\n") -> tuple[int, str]:
    """``cli.main()`` in this process; returns (exit code, stderr). Any other exception propagates."""
    import cli

    err, out = io.StringIO(), io.StringIO()
    old = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["zooprep", *args], io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8")

    def hang(*_):
        raise _Hang(" ".join(args))

    previous = signal.signal(signal.SIGALRM, hang)
    signal.alarm(30)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                cli.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        sys.argv, sys.stdin = old
    return code, err.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from corpusprep.instances.config import ShardConfig
    from corpusprep.instances.pipeline import run_shard

    d = tmp_path_factory.mktemp("fuzz")
    docs = ["今天天气很好我们一起去公园散步。", "机器学习是人工智能的一个分支。", "北京是中国的首都。"]
    (d / "c.txt").write_text("".join(f"{docs[i % 3]}第{i}号。\n" for i in range(60)), encoding="utf-8")
    chars = sorted(set("".join(docs) + "第号0123456789"))
    (d / "v.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars) + "\n", encoding="utf-8")
    run_shard(ShardConfig(corpus=(d / "c.txt",), out=d / "shard", vocab=d / "v.txt", seq_len=16, workers=1,
                          show_progress=False))
    return d


def _bases(d: Path, n: int) -> dict[tuple[str, ...], list[str]]:
    """A valid invocation of every command (outputs new for each run)."""
    from manifests.command import _catalog

    model = next(iter(_catalog().models))
    c, v, shard = str(d / "c.txt"), str(d / "v.txt"), str(d / "shard")
    return {
        ("clean",): ["clean", c, "--out", str(d / f"clean{n}"), "--workers", "1"],
        ("build-vocab",): ["build-vocab", c, "--out", str(d / f"v{n}.txt"), "--workers", "1"],
        ("build-spm",): ["build-spm", c, "--out-prefix", str(d / f"sp{n}"), "--vocab-size", "40", "--workers", "1"],
        ("tokenize",): ["tokenize", "--vocab", v],
        ("shard",): ["shard", c, "--out", str(d / f"shard{n}"), "--vocab", v, "--seq-len", "16", "--workers", "1"],
        ("inspect",): ["inspect", shard],
        ("export",): ["export", shard, "--out", str(d / f"e{n}.pt")],
        ("verify",): ["verify", shard],
        ("report",): ["report", shard, "--out", str(d / f"r{n}.html")],
        ("zoo", "list"): ["zoo", "list"], ("zoo", "tokenizers"): ["zoo", "tokenizers"],
        ("zoo", "show"): ["zoo", "show", model], ("zoo", "figures"): ["zoo", "figures"],
        ("zoo", "datasets"): ["zoo", "datasets"], ("zoo", "dataset"): ["zoo", "dataset", "x"],
        ("zoo", "validate"): ["zoo", "validate"], ("zoo", "recipe"): ["zoo", "recipe", model],
        ("zoo", "config"): ["zoo", "config", model, "--out", str(d / f"cfg{n}.json")],
        ("zoo", "render"): ["zoo", "render", "--lang", "en", "--out", str(d / f"page{n}.md")],
        ("zoo", "conflicts"): ["zoo", "conflicts"],
    }


def _options() -> dict[tuple[str, ...], list[tuple[str, bool]]]:
    import typer.main

    import cli

    found: dict[tuple[str, ...], list[tuple[str, bool]]] = {}

    def walk(cmd, path):
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, (*path, name))
            return
        found[path] = [(p.opts[0], bool(getattr(p, "is_flag", False))) for p in cmd.params
                       if p.param_type_name == "option" and p.opts[0] not in NOT_FUZZED]

    walk(typer.main.get_command(cli.app), ())
    return found


def _with(base: list[str], option: str, value: str | None) -> list[str]:
    args = list(base)
    if option in args:
        i = args.index(option)
        del args[i:i + 2]
    return args + ([option] if value is None else [option, value])


def _cases(d: Path) -> list[list[str]]:
    rng = random.Random(SEED)
    cases, n = [], 0
    for path, options in sorted(_options().items()):
        if path == ("pretrain-example",):
            continue
        for option, flag in options:
            values = [None] if flag else rng.sample(VALUES, PER_OPTION)
            for value in values:
                n += 1
                base = _bases(d, n).get(path)
                assert base is not None, f"no valid invocation of {' '.join(path)} in _bases: add one"
                cases.append(_with(base, option, value))
    shard = str(d / "shard")
    fast = ["pretrain-example", shard, "--size", "nano", "--device", "cpu", "--workers", "0", "--threads", "1",
            "--max-steps", "0", "--batch-size", "4"]
    for extra in PRETRAIN:
        cases.append(fast + extra)
    n += 1
    cases += [  # the cases the issue listed
        ["clean", str(d / "c.txt"), "--out", str(d / "rot"), "--encoding", "rot13"],
        ["clean", str(d / "c.txt"), "--out", str(d / "b64"), "--encoding", "base64"],
        ["zoo", "config", _bases(d, n)[("zoo", "show")][2], "--out", ""],
        ["zoo", "render", "--check", "/bin/ls"],
        ["build-spm", str(d / "c.txt"), "--out-prefix", str(d / "spx"), "--spm-option", "vocab_size=abc"],
        ["build-spm", str(d / "c.txt"), "--out-prefix", str(d / "spy"), "--spm-option", "num_threads=2"],
        ["build-spm", str(d / "c.txt"), "--out-prefix", str(d / "spz"), "--spm-option", "minloglevel=0"],
        ["build-vocab", str(d / "c.txt"), "--out", str(d / "vv.txt"), "--report", str(d / "vv.txt")],
        ["pretrain-example", shard, "--device", "cpu", "--save-weights", str(d / "x.pt"), "--save-state", str(d / "x.pt")],
    ]
    return cases


def test_no_command_or_option_ends_in_a_traceback(world, monkeypatch):
    monkeypatch.chdir(world)  # a fuzzed value used as a relative output path lands here, not in the checkout
    failures = []
    for args in _cases(world):
        try:
            code, err = _invoke(args)
        except Exception as exc:  # noqa: BLE001 - the point: collect every traceback with its command
            failures.append(f"{' '.join(map(repr, args))}: {type(exc).__name__}: {str(exc)[:200]}")
            continue
        if code not in (0, 1, 2, 3) or (code == 2 and "error" not in err.lower() and "usage" not in err.lower()):
            failures.append(f"{' '.join(map(repr, args))}: exit {code}: {err[-300:]}")
    assert not failures, f"{len(failures)} runs failed:\n" + "\n".join(failures)
