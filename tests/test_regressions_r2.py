"""Properties a user relies on, each stated directly (issue 25): ties and boundaries at every
documented threshold, every option that must reach the resume fingerprint / report / trainer spec,
documented signals and exit codes, and output ownership.

Most checks call the code in-process (fast, and visible to the mutation tool: see docs/testing.md);
the few that are about the process (exit codes, signals) run `python cli.py`.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from fault_hooks import clean_stops_after

from corpusprep.cleaning.cleaner import Cleaner
from corpusprep.cleaning.config import CleanConfig, FilterParams
from corpusprep.cleaning.pipeline import run_clean, validate
from corpusprep.errors import ZooprepError

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"

ZH = "北京是中华人民共和国的首都也是全国的政治和文化中心长江是中国第一长河"  # 35 distinct-ish ideographs


def _cfg(tmp_path: Path, inputs, name="out", **kw) -> CleanConfig:
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return CleanConfig(inputs=tuple(str(i) for i in inputs), out=str(tmp_path / name), **kw)


def _cli(*args, env=None, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *map(str, args)], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=env)


# ---------------------------------------------------------------------------------------- tables
def test_headerless_table_ties_in_chinese_per_row_go_to_the_first_column():
    from corpusprep.readers.tables import infer_text_column, plan_csv

    rows = [["你好世界", "世界你好", "x"], ["中文文本", "文本中文", "y"]]
    assert infer_text_column(rows, 3)[0] == 0
    assert infer_text_column([r[::-1] for r in rows], 3)[0] == 1  # the same tie, columns 1 and 2: column 1
    # without any Chinese: the longest column, ties again to the first
    assert infer_text_column([["ab", "abcd", "dcba"], ["cd", "efgh", "hgfe"]], 3)[0] == 1
    text = "".join(f"{a},{b},{c}\n" for a, b, c in rows + [["天气晴朗", "晴朗天气", "z"]])
    plan = plan_csv("t.csv", text, "text", None, lambda header: False)
    assert not plan.header and plan.text_field == "col0", plan


# ------------------------------------------------------------------------- options -> fingerprint
# The fields of CleanConfig that cannot change the output bytes (where, how many processes, how
# it looks on the terminal, what to do with an unreadable file: that one is named in failed_files).
NOT_OUTPUT = {"out", "workers", "executor", "ray_address", "progress", "on_error",
              "license", "overwrite"}  # the dataset card only (README.md); the rerun rule's switch


def _changed(field: dataclasses.Field, value):
    """Another valid value of a CleanConfig field, from its type (so a new field is covered unasked)."""
    hint = str(field.type)
    if value is None:
        return 3 if "int" in hint else True if "bool" in hint else "text"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.25
    if isinstance(value, tuple):
        return value + ("t2s",)
    if isinstance(value, str):
        return {"fmt": "text", "layout": "uer"}.get(field.name, value + "-other")
    raise AssertionError(f"no changed value for {field.name} ({hint}): extend _changed")


def test_every_output_option_changes_the_fingerprint_and_is_in_the_report_options(tmp_path):
    base = _cfg(tmp_path, ["in.txt"])
    fields = dataclasses.fields(CleanConfig)
    assert set(base.output_options()) == {f.name for f in fields} - NOT_OUTPUT
    for f in fields:
        other = dataclasses.replace(base, **{f.name: _changed(f, getattr(base, f.name))})
        if f.name in NOT_OUTPUT:
            assert other.fingerprint() == base.fingerprint(), f.name
        else:
            assert other.fingerprint() != base.fingerprint(), f"--{f.name} does not reach the resume fingerprint"
            assert other.output_options()[f.name] != base.output_options()[f.name], f.name


def test_every_clean_cli_option_lands_in_the_config():
    """Each `clean` option of the CLI is a CleanConfig field (or one of its listed renamings)."""
    import inspect

    from corpusprep.cleaning.command import clean

    renamed = {"unit_mb": "unit_bytes", "max_repeated_lines": "max_repeated_line_share", "inputs": "inputs",
               "list_ops": None}
    fields = {f.name for f in dataclasses.fields(CleanConfig)}
    for name in inspect.signature(clean).parameters:
        target = renamed.get(name, name)
        assert target is None or target in fields, f"clean option {name} has no CleanConfig field"


def test_report_records_the_options_and_resume_with_t2s_added_redoes_the_work(tmp_path, monkeypatch):
    from corpusprep.cleaning import pipeline

    folder = tmp_path / "corpus"
    folder.mkdir()
    trad = "這是一個關於中華人民共和國的歷史與文化的長篇文章，內容豐富。"
    for i in range(4):
        (folder / f"{i}.txt").write_text("".join(f"{trad}第{i}{j}號。\n" for j in range(5)), encoding="utf-8")
    kw = dict(fmt="text", unit_bytes=200)
    monkeypatch.setattr(pipeline, "PACK_BYTES", 300)  # several packages: the stop below leaves finished ones
    with clean_stops_after("packages", 2), pytest.raises(RuntimeError, match="injected stop"):
        run_clean(_cfg(tmp_path, [folder], **kw))
    calls = []
    real = pipeline.process_package
    monkeypatch.setattr(pipeline, "process_package", lambda package, config: calls.append(package.index) or real(package, config))
    config = _cfg(tmp_path, [folder], t2s=True, **kw)
    report = run_clean(config)
    assert sorted(calls) == list(range(report["packages"])), "finished packages of the run without --t2s were reused"
    assert report["options"] == json.loads(json.dumps(config.output_options())) and report["options"]["t2s"] is True
    import pyarrow.parquet as pq

    texts = [t for p in sorted((tmp_path / "out").glob("*.parquet")) for t in pq.read_table(p)["text"].to_pylist()]
    assert texts and all(t.startswith("这是一个关于中华人民共和国的历史与文化") for t in texts)


# ------------------------------------------------------------------------------- filter boundaries
def _length_case(n):
    return ZH[:n] if n <= len(ZH) else (ZH * (n // len(ZH) + 1))[:n]


def _share_text(cjk: int, latin: int) -> str:
    return ZH[:cjk] + "abcdefghijklmnopqrstuvwxyz"[:latin]


# (filter, FilterParams field, threshold, text exactly at it, text just past it, reason)
BOUNDARIES = [
    ("min_length", "min_chars", 12, _length_case(12), _length_case(11), "too_short"),
    ("max_length", "max_chars", 12, _length_case(12), _length_case(13), "too_long"),
    ("chinese_share", "min_chinese_share", 0.3, _share_text(3, 7), _share_text(2, 7), "low_chinese_share"),
    ("chinese_share", "min_chinese_share", 0.5, _share_text(5, 5), _share_text(4, 5), "low_chinese_share"),
    # 4 of 8 characters in a run of 4 (MIN_RUN): share 0.5; a run of 5: 5/9 > 0.5
    ("char_spam", "max_char_run_share", 0.5, "哈哈哈哈" + ZH[:4], "哈哈哈哈哈" + ZH[:4], "char_spam"),
    # a run of 3 is no run at all: share 0
    ("char_spam", "max_char_run_share", 0.0, "哈哈哈" + ZH[:4], "哈哈哈哈" + ZH[:4], "char_spam"),
    # 3 of 10 characters in a repeated line: 0.3; 4 of 12 (1/3) is above
    ("line_spam", "max_repeated_line_share", 0.3, "中文字\n中华人民\n中文字", "中文字四\n中华人民\n中文字四",
     "line_spam"),
]


def _params(field: str, value) -> FilterParams:
    base = FilterParams(min_chars=1, max_chars=10_000, min_chinese_share=0.0, max_char_run_share=1.0,
                        max_repeated_line_share=1.0)
    return dataclasses.replace(base, **{field: value})


@pytest.mark.parametrize("op,field,threshold,at,past,reason", BOUNDARIES,
                         ids=[f"{b[0]}-{b[2]}" for b in BOUNDARIES])
def test_a_document_exactly_at_a_threshold_is_kept_on_both_paths(op, field, threshold, at, past, reason):
    """Per-document filter (ops.py) and the batch path (Cleaner._reasons) agree: at the threshold kept,
    one step past it dropped with the documented reason."""
    p = _params(field, threshold)
    from corpusprep.cleaning.registry import OPS_BY_NAME

    fn = OPS_BY_NAME[op].fn
    assert fn(at, p) is None, f"per-document {op}: {at!r} at {field}={threshold} dropped"
    assert fn(past, p) == reason
    cleaner = Cleaner((), (op,), p, False, False)
    _, reasons = cleaner.process([at, past, at])
    assert reasons == [None, reason, None], f"batch {op} at {field}={threshold}: {reasons}"


def test_boundary_table_covers_every_documented_filter_threshold():
    """docs/clean.md's option table: every filter threshold it documents has a row above."""
    doc = (DOCS / "clean.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"\| `--(min-chars|max-chars|min-chinese-share|max-char-run-share|max-repeated-lines)`", doc))
    tested = {b[1] for b in BOUNDARIES}
    names = {"min-chars": "min_chars", "max-chars": "max_chars", "min-chinese-share": "min_chinese_share",
             "max-char-run-share": "max_char_run_share", "max-repeated-lines": "max_repeated_line_share"}
    assert documented and {names[d] for d in documented} <= tested
    assert {f.name for f in dataclasses.fields(FilterParams)} <= tested


# --------------------------------------------------------------------------------- option ranges
# (CleanConfig field, a value at the edge that is accepted, the next one past it that is refused)
RANGES = [
    ("valid_fraction", 0.0, -0.01), ("valid_fraction", 0.99, 1.0),
    ("near_dup_threshold", 1.0, 1.01), ("near_dup_threshold", 0.01, 0.0),
    ("min_chinese_share", 0.0, -0.01), ("min_chinese_share", 1.0, 1.01),
    ("max_char_run_share", 0.0, -0.01), ("max_char_run_share", 1.0, 1.01),
    ("max_repeated_line_share", 0.0, -0.01), ("max_repeated_line_share", 1.0, 1.01),
    ("num_shards", 1, 0), ("max_chars", 1, 0), ("min_chars", 0, -1), ("rejects_sample", 0, -1),
    ("seed", 0, -1), ("workers", 1, 0), ("unit_bytes", 1, 0),
]


@pytest.mark.parametrize("field,ok,bad", RANGES, ids=[f"{r[0]}={r[2]}" for r in RANGES])
def test_clean_option_ranges_at_their_edges(tmp_path, field, ok, bad):
    validate(dataclasses.replace(_cfg(tmp_path, ["x"]), **{field: ok}))
    with pytest.raises(ZooprepError):
        validate(dataclasses.replace(_cfg(tmp_path, ["x"]), **{field: bad}))


def test_valid_fraction_one_is_refused_in_one_line_exit_2(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text(ZH + "\n", encoding="utf-8")
    done = _cli("clean", src, "--out", tmp_path / "o", "--valid-fraction", "1.0", "--workers", "1")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "--valid-fraction" in lines[0], done.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").glob("*.parquet"))


# ------------------------------------------------------------------------------------- exact dedup
def test_exact_dedup_keys_on_cleaned_text_and_bytes_out_counts_cleaned_bytes(tmp_path):
    import pyarrow.parquet as pq

    src = tmp_path / "a.txt"
    wide = "１２月的北京天气很好，我们一起去公园散步吧。"
    narrow = "12月的北京天气很好，我们一起去公园散步吧。"
    src.write_text(f"{wide}\n{narrow}\n", encoding="utf-8")
    report = run_clean(_cfg(tmp_path, [src], fmt="text"))
    texts = [t for p in sorted((tmp_path / "out").glob("*.parquet")) for t in pq.read_table(p)["text"].to_pylist()]
    assert texts == [narrow], texts
    assert report["kept"] == 1 and sum(report["dropped"].values()) == 1, report["dropped"]
    assert report["bytes_out"] == len(narrow.encode("utf-8")), (report["bytes_out"], report["bytes_in"])
    f = next(iter(report["files"].values()))
    assert f["bytes_out"] == report["bytes_out"] and f["bytes_in"] == len((wide + narrow).encode()) + 2


# ------------------------------------------------------------------------------ signals, exit codes
HOOK = '''
import os, signal
if os.environ.get("ZOOPREP_R2_SIGNAL") and "ZOOPREP_R2_PARENT" not in os.environ:
    os.environ["ZOOPREP_R2_PARENT"] = str(os.getpid())  # inherited: workers stay passive
    import corpusprep.executors as _ex
    _in_order = _ex.in_order

    def _signalling(*args, **kwargs):
        for i, result in enumerate(_in_order(*args, **kwargs)):
            if i == 0:
                os.kill(os.getpid(), int(os.environ["ZOOPREP_R2_SIGNAL"]))
            yield result

    _ex.in_order = _signalling
'''


def test_stop_signals_and_their_exit_codes_are_the_documented_ones():
    """docs/scale.md: `Ctrl-C, SIGTERM (and SIGHUP) ... exit with 130 / 143 (129)`."""
    from corpusprep.lifecycle import STOP_SIGNALS, Interrupted

    doc = " ".join((DOCS / "scale.md").read_text(encoding="utf-8").split())
    m = re.search(r"Ctrl-C, SIGTERM \(and SIGHUP\) stop the workers and exit with (\d+) / (\d+) \((\d+)\)", doc)
    assert m, "docs/scale.md no longer states the stop signals' exit codes"
    documented = dict(zip((signal.SIGINT, signal.SIGTERM, signal.SIGHUP), map(int, m.groups())))
    assert set(STOP_SIGNALS) == set(documented)
    for sig, code in documented.items():
        assert Interrupted(sig).exit_code == code and str(Interrupted(sig)) == f"stopped by {sig.name}"


def test_sighup_mid_run_exits_129_and_the_rerun_completes(tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(HOOK, encoding="utf-8")
    folder = tmp_path / "corpus"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i}.txt").write_text("".join(f"{ZH}第{i}{j}号。\n" for j in range(20)), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hook), str(REPO), os.environ.get("PYTHONPATH", "")]),
               ZOOPREP_R2_SIGNAL=str(int(signal.SIGHUP)), ZOOPREP_MIN_MB_PER_WORKER="0")
    args = ("clean", folder, "--out", tmp_path / "o", "--workers", "2", "--unit-mb", "0.001", "--format", "text")
    stopped = _cli(*args, env=env)
    assert stopped.returncode == 129, stopped.stderr[-2000:]
    assert "stopped by SIGHUP" in stopped.stderr and "Traceback" not in stopped.stderr, stopped.stderr[-2000:]
    assert not (tmp_path / "o" / "report.json").exists()
    env.pop("ZOOPREP_R2_SIGNAL")
    resumed = _cli(*args, env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert json.loads((tmp_path / "o" / "report.json").read_text())["kept"] == 80


# -------------------------------------------------------------------------------------- build-vocab
def _vocab_corpus(tmp_path: Path) -> Path:
    src = tmp_path / "corpus.txt"
    src.write_text("".join(f"{ZH[i:]}{ZH[:i]}\n" for i in range(len(ZH))) + "龘靐齉\n", encoding="utf-8")
    return src


@pytest.mark.parametrize("room", [0, 2, 1000])
def test_build_vocab_extend_with_max_size_writes_at_most_n_lines(tmp_path, room):
    from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab

    base = tmp_path / "base.txt"
    base_lines = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "北", "京"]
    base.write_text("".join(t + "\n" for t in base_lines), encoding="utf-8")
    n = len(base_lines) + room
    out = tmp_path / f"v{room}.txt"
    run_build_vocab(BuildVocabConfig(corpus=[str(_vocab_corpus(tmp_path))], out=out, extend=base, max_size=n,
                                     workers=1))
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[: len(base_lines)] == base_lines
    assert len(lines) == min(n, len(base_lines) + len(set(ZH + "龘靐齉") - set(base_lines))), len(lines)


def test_build_vocab_extend_refuses_a_max_size_below_the_base(tmp_path):
    """--max-size caps the file at N lines; every line of the --extend base is kept, so a smaller N is refused."""
    from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab

    base = tmp_path / "base.txt"
    base.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n北\n", encoding="utf-8")
    out = tmp_path / "v.txt"
    with pytest.raises(ZooprepError, match="--max-size 4"):
        run_build_vocab(BuildVocabConfig(corpus=[str(_vocab_corpus(tmp_path))], out=out, extend=base, max_size=4,
                                         workers=1))
    assert not out.exists()


@pytest.mark.parametrize("extra", [1, 10])  # extra 0 (the header alone: an empty vocab) is refused (issue 20)
def test_build_vocab_max_size_writes_at_most_n_lines(tmp_path, extra):
    from zh_tokenizers.build_vocab_run import BuildVocabConfig, run_build_vocab
    from zh_tokenizers.vocab_build import HEADER

    out = tmp_path / "v.txt"
    n = len(HEADER) + extra
    run_build_vocab(BuildVocabConfig(corpus=[str(_vocab_corpus(tmp_path))], out=out, max_size=n, workers=1))
    assert len(out.read_text(encoding="utf-8").splitlines()) == n


def test_build_vocab_max_size_below_the_header_is_refused_in_one_line(tmp_path):
    from zh_tokenizers.vocab_build import HEADER

    done = _cli("build-vocab", _vocab_corpus(tmp_path), "--out", tmp_path / "v.txt", "--max-size", len(HEADER) - 1)
    assert done.returncode == 2 and done.stderr.startswith("error:") and "--max-size" in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "v.txt").exists()


# --------------------------------------------------------------------------------- build-spm options
def test_every_trainer_option_of_build_spm_reaches_the_sentencepiece_trainer_spec(tmp_path):
    """Each SpmTrainConfig field that names a TrainerSpec field ends up in the model's stored spec."""
    from zh_tokenizers.spm_train import SpmTrainConfig, load_model_proto, train_spm

    corpus = _vocab_corpus(tmp_path)
    spec_names = {fd.name for fd in load_model_proto(b"").trainer_spec.DESCRIPTOR.fields}
    chosen = {"vocab_size": 40, "model_type": "bpe", "character_coverage": 0.99, "max_sentence_length": 3000,
              "max_sentencepiece_length": 7}
    named = {f.name for f in dataclasses.fields(SpmTrainConfig)} & spec_names - {"seed"}
    assert named == set(chosen), f"a new trainer option needs a value here: {named ^ set(chosen)}"
    train_spm(SpmTrainConfig(corpus=(str(corpus),), out_prefix=str(tmp_path / "m"), threads=1,
                             spm_options=(("hard_vocab_limit", "false"),), **chosen))
    spec = load_model_proto((tmp_path / "m.model").read_bytes()).trainer_spec
    for name, value in chosen.items():
        got = getattr(spec, name)
        got = spec.DESCRIPTOR.fields_by_name[name].enum_type.values_by_number[got].name.lower() \
            if name == "model_type" else got
        assert got == pytest.approx(value), f"{name}: {got} in the model, {value} asked"


# --------------------------------------------------------------------------------- output ownership
def test_a_previous_output_the_user_modified_survives_the_next_swap(tmp_path):
    from corpusprep.outdir.ownership import OutputDir

    root = tmp_path / "out"

    def run(files: dict[str, str]) -> None:
        with OutputDir.open(root, "clean", rerun=True) as od:
            od.open_work({"plan": sorted(files)})
            for rel, text in files.items():
                (od.stage / rel).parent.mkdir(parents=True, exist_ok=True)
                (od.stage / rel).write_text(text, encoding="utf-8")
            od.commit(plan="p")

    run({"keep.txt": "a", "sub/mine.txt": "b", "sub/gone.txt": "c"})
    (root / "sub" / "mine.txt").write_text("b, edited by the user", encoding="utf-8")
    run({"keep.txt": "a2"})
    assert (root / "sub" / "mine.txt").read_text(encoding="utf-8") == "b, edited by the user"
    assert not (root / "sub" / "gone.txt").exists()  # unmodified outputs of the previous run do go
    assert (root / "keep.txt").read_text(encoding="utf-8") == "a2"


@pytest.mark.parametrize("out,refused", [
    ("data", "is the input"), ("data/out", "lies inside"), ("data/a/b", "lies inside"), (".", "contains"),
    ("data2", None), ("dat", None), ("data-out/x", None), ("other", None),
])
def test_out_inside_an_input_folder_is_refused_and_a_sibling_with_the_same_prefix_is_not(tmp_path, out, refused):
    from corpusprep.outdir.ownership import check_outside_inputs

    (tmp_path / "data").mkdir()
    if refused is None:
        check_outside_inputs(tmp_path / out, [tmp_path / "data"])
    else:
        with pytest.raises(ZooprepError, match=refused):
            check_outside_inputs(tmp_path / out if out != "." else tmp_path, [tmp_path / "data"])


# ----------------------------------------------------------------------- --on-error exit codes
def _on_error_table() -> tuple[list[str], dict[str, int]]:
    """(commands, mode -> exit code) as docs/readers.md states them."""
    doc = (DOCS / "readers.md").read_text(encoding="utf-8")
    para = " ".join(doc[doc.index("**Per-file fault isolation**"):].split("\n\n")[0].split())
    commands = re.findall(r"`(clean|shard|build-vocab|build-spm)`", para.split(")")[0])
    modes = {m: int(code) for m, code in re.findall(r"^\| `(\w+)`(?: \(default\))? \|.*\| (\d) \|$", doc, flags=re.M)}
    return commands, modes


def test_on_error_table_is_read_from_the_docs():
    commands, modes = _on_error_table()
    assert set(commands) == {"clean", "shard", "build-vocab", "build-spm"} and modes == {"continue": 3, "fail": 2, "skip": 0}


# Each mode once and each command once (clean runs all three in tests/test_corpus_faults.py): 3 runs, not 9.
@pytest.mark.parametrize("command,mode", [("shard", "continue"), ("build-vocab", "skip"), ("build-spm", "fail")])
def test_on_error_exit_codes_are_the_documented_ones_for_every_corpus_command(tmp_path, command, mode):
    from zh_tokenizers.vocab_build import HEADER

    _, modes = _on_error_table()
    good = tmp_path / "good.txt"
    good.write_text("".join(f"{ZH[i:]}{ZH[:i]}。\n" for i in range(len(ZH))), encoding="utf-8")
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage!")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("".join(t + "\n" for t in HEADER + sorted(set(ZH + "。"))), encoding="utf-8")
    for mode, code in [(mode, modes[mode])]:
        out = tmp_path / f"{command}-{mode}"
        args = {"shard": ("--out", out, "--vocab", vocab, "--processor", "lm", "--seq-len", 16, "--workers", 1),
                "build-vocab": ("--out", out.with_suffix(".txt"), "--workers", 1),
                "build-spm": ("--out-prefix", out / "m", "--vocab-size", 40, "--spm-option", "hard_vocab_limit=false")}[command]
        if command == "build-spm":
            out.mkdir()
        done = _cli(command, good, bad, *args, "--on-error", mode)
        assert done.returncode == code, f"{command} --on-error {mode}: {done.returncode}\n{done.stderr[-1500:]}"
        assert "Traceback" not in done.stderr and str(bad) in done.stderr, done.stderr[-1500:]


# ------------------------------------------------------------------------- FORMATS.md dtype edges
@pytest.mark.parametrize("fn,edge", [("id_dtype", 65536), ("position_dtype", 65536)])
def test_uint16_up_to_65536_then_uint32(fn, edge):
    """docs/FORMATS.md: ids uint16 while vocab_size <= 65536, positions uint16 while row_len <= 65536."""
    from corpusprep.instances import format as fmt

    doc = " ".join((DOCS / "FORMATS.md").read_text(encoding="utf-8").split())
    assert "`vocab_size <= 65536`, else uint32" in doc and "`row_len <= 65536`, else uint32" in doc
    f = getattr(fmt, fn)
    assert (f(1), f(edge - 1), f(edge), f(edge + 1)) == ("uint16", "uint16", "uint16", "uint32")


# `shard`: the fields that do not shape the instances. The tokenizer files and kind reach the resume plan
# through the tokenizer's fingerprint, the corpus through each unit's input identity, the manifest
# labels only zooprep.json's `manifest`; the rest is where / how / how loud.
SHARD_NOT_OPTIONS = {"corpus", "out", "vocab", "spm", "tokenizer_kind", "workers", "executor", "ray_address",
                     "manifest_dataset", "recipe_stage", "overwrite", "show_progress", "on_error", "encode_only",
                     "tgt_vocab", "tgt_spm", "tgt_tokenizer_kind",  # mt's target tokenizer: by fingerprint in the plan
                     "license",  # the dataset card only, in the plan when given
                     "validation_share", "validation_docs"}  # in options() only when set (earlier plans match)


def test_every_shard_field_is_fingerprinted_or_classified(tmp_path):
    from corpusprep.instances.config import ShardConfig

    base = ShardConfig(corpus=(tmp_path / "c.txt",), out=tmp_path / "o", vocab=tmp_path / "v.txt")
    fields = dataclasses.fields(ShardConfig)
    assert set(base.options()) | SHARD_NOT_OPTIONS == {f.name for f in fields}
    assert not set(base.options()) & SHARD_NOT_OPTIONS
    for f in fields:
        if f.name in base.options():
            value = getattr(base, f.name)
            other = _changed(f, value) if not isinstance(value, str) or f.name not in ("processor",
                                                                                        "sentence_selection") else \
                {"processor": "bert", "sentence_selection": "random"}[f.name]
            changed = dataclasses.replace(base, **{f.name: other})
            assert changed.options() != base.options(), f"shard --{f.name} does not reach the resume plan"
    assert dataclasses.replace(base, encode_only=True).options() != base.options()


# ------------------------------------------------- what the mutation sample found unguarded (docs/testing.md)
def test_ops_and_params_per_family_come_from_the_config():
    from corpusprep.cleaning.registry import DEFAULT_MIN_CHARS, FAMILY_DEFAULTS, FAMILY_MIN_CHARS, resolve_ops

    base = CleanConfig(inputs=("x",), out="o")
    for family in FAMILY_DEFAULTS:
        ops = base.ops_for(family)
        assert ops == resolve_ops(family, (), ()), family
        assert "near_dup" not in ops and "near_dup" in dataclasses.replace(base, near_dup=True).ops_for(family)
        assert "t2s" in dataclasses.replace(base, t2s=True).ops_for(family)
        for op in ops:
            assert op not in dataclasses.replace(base, disable=(op,)).ops_for(family), (family, op)
        p = base.params_for(family)
        assert p.min_chars == FAMILY_MIN_CHARS.get(family, DEFAULT_MIN_CHARS), family
        assert dataclasses.replace(base, min_chars=0).params_for(family).min_chars == 0  # 0 is a value, not "unset"
    assert len({base.ops_for(f) for f in FAMILY_DEFAULTS}) > 1  # the family matters
    values = dict(min_chars=3, max_chars=99, min_chinese_share=0.11, max_char_run_share=0.22,
                  max_repeated_line_share=0.33)
    p = dataclasses.replace(base, **values).params_for("text")
    assert dataclasses.asdict(p) == {"min_chars": 3, "max_chars": 99, "min_chinese_share": 0.11,
                                     "max_char_run_share": 0.22, "max_repeated_line_share": 0.33}


def test_min_chars_zero_still_drops_an_empty_document_and_keeps_one_character():
    from corpusprep.cleaning.registry import OPS_BY_NAME

    fn = OPS_BY_NAME["min_length"].fn
    for n in (0, 1):
        assert fn("", _params("min_chars", n)) == "too_short" and fn("字", _params("min_chars", n)) is None


# (call, expected message) for the shared option checks: the interval's brackets, the open ends, the infinities
OPTION_MESSAGES = [
    (("number", "--x", 1.0, 0.0, 1.0, {"hi_open": True}), "--x must be in [0, 1), not 1.0"),
    (("number", "--x", 0.0, 0.0, 1.0, {"lo_open": True}), "--x must be in (0, 1], not 0.0"),
    (("number", "--x", -1, 0, None, {}), "--x must be in [0, inf], not -1"),
    (("number", "--x", 2, None, 1, {}), "--x must be in [-inf, 1], not 2"),
    (("number", "--x", "abc", 0, 1, {}), "--x must be a number, not 'abc'"),
    (("number", "--x", "nan", 0, 1, {}), "--x must be a finite number, not 'nan'"),
    (("integer", "--n", 6, 0, 5, {}), "--n must be in [0, 5], not 6"),
    (("integer", "--n", -1, 0, None, {}), "--n must be in [0, inf], not -1"),
    (("integer", "--n", 9, None, 5, {}), "--n must be in [-inf, 5], not 9"),
    (("integer", "--n", True, 0, 5, {}), "--n must be an integer, not True"),
    (("integer", "--n", 1.5, 0, 5, {}), "--n must be an integer, not 1.5"),
    (("integer", "--n", 2_000_000, 0, 1_000_000, {}), "--n must be in [0, 1000000], not 2000000"),  # ints not as 1e+06
]


@pytest.mark.parametrize("call,message", OPTION_MESSAGES, ids=[m for _, m in OPTION_MESSAGES])
def test_option_checks_refuse_with_the_interval_in_the_message(call, message):
    from corpusprep import options as opt

    fn, option, value, lo, hi, kw = call
    with pytest.raises(ZooprepError) as err:
        getattr(opt, fn)(option, value, lo, hi, **kw)
    assert str(err.value) == message


def test_option_checks_accept_both_closed_ends():
    from corpusprep import options as opt

    assert opt.integer("--n", 5, 0, 5) == 5 and opt.integer("--n", 0, 0, 5) == 0
    assert opt.number("--x", 1, 0, 1) == 1.0 and opt.number("--x", 0, 0, 1) == 0.0


def test_out_inside_the_root_folder_and_the_default_option_name(tmp_path):
    from corpusprep.outdir.ownership import check_outside_inputs

    with pytest.raises(ZooprepError, match="lies inside the input /"):
        check_outside_inputs(tmp_path / "out", ["/"])
    with pytest.raises(ZooprepError, match=r": --out is the input "):
        check_outside_inputs(tmp_path, [None, tmp_path])  # a None input (an unset option) is skipped, not the end


def test_text_column_counts_every_sampled_row_and_says_why():
    from corpusprep.readers.tables import infer_text_column

    # column 0 has more Chinese over both rows; column 1 wins the last row alone
    assert infer_text_column([["中文中文中文", "中"], ["中", "中文"]], 2) == \
        (0, "most Chinese characters per row (3.5 over 2 rows)")
    assert infer_text_column([["中", "abcdef"]], 2) == (0, "most Chinese characters per row (1.0 over 1 rows)")
    assert infer_text_column([["abcdefgh", "ab"], ["a", "abcd"]], 2) == \
        (0, "longest column (4.5 characters per row over 2 rows)")


# ------------------------------------------------------------- header or not (docs/readers.md), at each edge
ZH8 = "中文中文中文中文"
HEADER_CASES = [
    # a single row is a header only when no cell holds more than 4 Chinese characters
    (["中文中文"], [], 0, True), (["中文中文中"], [], 0, False),
    # a column numeric in at least 3 non-blank body cells and >= 90 % of them, under a non-numeric row-1 cell
    (["评分", "内容"], [["1", "好"], ["2", "好"], ["3", "好"]], 1, True),
    (["评分", "内容"], [["1", "好"], ["2", "好"]], 1, False),
    (["评分", "内容"], [["1", "好"], [" ", "好"], ["2", "好"], ["", "好"], ["3", "好"]], 1, True),  # blanks not counted
    (["评分", "内容"], [[str(i), "好"] for i in range(9)] + [["x", "好"]], 1, True),
    (["评分", "内容"], [[str(i), "好"] for i in range(8)] + [["x", "好"], ["y", "好"]], 1, False),
    (["5", "内容"], [["1", "好"], ["2", "好"], ["3", "好"]], 1, False),
    (["评分", "内容"], [["1", "好"], ["2"], ["3", "好"], ["4", "好"]], 1, True),  # a ragged row
    # the text column's row-1 cell shorter than a quarter of the body's median length (median >= 8)
    (["评"], [[ZH8], [ZH8], [ZH8]], 0, True),
    (["评"], [[ZH8[:7]], [ZH8[:7]], [ZH8[:7]]], 0, False),
    (["评论"], [[ZH8], [ZH8], [ZH8]], 0, False),
    (["评论"], [[ZH8 + "中"], [ZH8 + "中"], [ZH8 + "中"]], 0, True),
    # ASCII column names (a BOM before the first is not part of it) above other content; short rows too
    (["\ufefflabel", "text_a"], [["1", "中文内容很长的句子"]], 1, True),
    (["label", "text"], [["1"], ["2", "中文"]], 1, True),
    (["X", "text"], [["1", "中文内容很长的句子"]], 1, True),  # only a BOM is stripped, not other leading characters
    # ragged tables: short rows neither count nor break a check
    (["内容", "评分"], [["好", "1"], ["好"], ["好", "2"], ["好", "3"], ["好", "4"]], 0, True),
    (["评", "论"], [["a", ZH8], ["b"], ["c", ZH8], ["d", ZH8]], 1, True),
    (["评", "论"], [["a"], ["b"], ["c"]], 1, False),
    (["中"], [["x", ZH8], ["y", ZH8], ["z", ZH8]], 1, False),  # the text column lies past row 1
    # the median is the middle of the sorted lengths (upper middle for an even count)
    (["评"], [["中"], ["中"], [ZH8 + "中"], [ZH8 + "中"]], 0, True),
]


@pytest.mark.parametrize("first,body,col,header", HEADER_CASES, ids=[f"case{i}" for i in range(len(HEADER_CASES))])
def test_row_one_is_a_header_exactly_at_the_documented_edges(first, body, col, header):
    from corpusprep.readers.tables import looks_like_header

    assert looks_like_header(first, body, col) is header


# ----------------------------------------------------------------- output folder helpers (full mutmut run)
def test_meta_paths_are_zooprep_s_own_folder_only():
    from corpusprep.outdir import layout

    meta = layout.META_DIR
    assert layout.is_meta_path(meta) and layout.is_meta_path(f"{meta}/work/x")
    assert not layout.is_meta_path(f"{meta}x/y") and not layout.is_meta_path("x") and not layout.is_meta_path(f"a/{meta}")


def test_the_swap_removes_emptied_folders_of_old_outputs_but_never_a_folder_holding_anything(tmp_path):
    from corpusprep.outdir.ownership import OutputDir

    root = tmp_path / "out"

    def run(files):
        with OutputDir.open(root, "clean", rerun=True) as od:
            od.open_work({"plan": sorted(files)})
            for rel in files:
                (od.stage / rel).parent.mkdir(parents=True, exist_ok=True)
                (od.stage / rel).write_text(rel, encoding="utf-8")
            od.commit(plan="p")

    run(["a/b/old.txt", "c/d/old.txt", "keep.txt"])
    (root / "c" / "mine.txt").write_text("the user's", encoding="utf-8")
    run(["keep.txt"])
    assert not (root / "a").exists()  # a/b/old.txt went, and with it the folders a/b and a
    assert not (root / "c" / "d").exists() and (root / "c" / "mine.txt").is_file()
    assert root.is_dir() and (root / "keep.txt").is_file()


def test_an_unfinished_output_names_the_command_to_rerun(tmp_path):
    from corpusprep.errors import InputError
    from corpusprep.outdir.complete import require_complete
    from corpusprep.outdir.ownership import OutputDir

    root = tmp_path / "out"
    with OutputDir.open(root, "clean", rerun=True) as od:
        od.open_work({"plan": 1})
    with pytest.raises(InputError, match=r"rerun the same `zooprep clean` command to resume it"):
        require_complete(root)


def test_a_failed_atomic_write_leaves_nothing_and_never_follows_a_link(tmp_path):
    from corpusprep.atomic import atomic_path

    target = tmp_path / "out.bin"
    for make in ("dir", "none", "link"):
        other = tmp_path / f"elsewhere-{make}"
        other.mkdir()
        (other / "keep.txt").write_text("not ours", encoding="utf-8")
        with pytest.raises(RuntimeError):
            with atomic_path(target) as tmp:
                if make == "dir":
                    tmp.mkdir()
                    (tmp / "part").write_text("x", encoding="utf-8")
                elif make == "link":
                    tmp.symlink_to(other, target_is_directory=True)
                raise RuntimeError("the writer failed")
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("elsewhere")) == [], make
        assert (other / "keep.txt").read_text(encoding="utf-8") == "not ours", make


def test_inputs_failed_names_the_count_and_the_report():
    from corpusprep.errors import InputsFailed

    err = InputsFailed(2, "out/report.json")
    assert str(err) == "2 input file(s) failed and were left out; see out/report.json" and err.exit_code == 3


def test_parquet_span_covers_exactly_the_asked_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from corpusprep.outdir.done import parquet_span

    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": list(range(300))}), path, row_group_size=100)
    meta = pq.ParquetFile(path).metadata
    starts = [meta.row_group(i).column(0).data_page_offset if not meta.row_group(i).column(0).has_dictionary_page
              else meta.row_group(i).column(0).dictionary_page_offset for i in range(3)]
    ends = [s + meta.row_group(i).column(0).total_compressed_size for i, s in enumerate(starts)]
    assert parquet_span(str(path), 1, 2) == (starts[1], ends[1])
    assert parquet_span(str(path), 0, 3) == (starts[0], ends[2])
    assert parquet_span(str(path), 2, 9) == (starts[2], ends[2]) and parquet_span(str(path), 3, 5) == (0, None)
    plain = tmp_path / "plain.parquet"  # no dictionary pages: the data page starts the chunk
    pq.write_table(pa.table({"x": list(range(300))}), plain, row_group_size=100, use_dictionary=False)
    col = pq.ParquetFile(plain).metadata.row_group(1).column(0)
    assert not col.has_dictionary_page
    assert parquet_span(str(plain), 1, 2) == (col.data_page_offset, col.data_page_offset + col.total_compressed_size)


def test_table_sample_skips_blank_rows_tolerates_bad_quotes_and_stops_after_the_sample():
    from corpusprep.readers import tables

    assert tables.sample_rows('a,b\n , \n\nc,d\n') == [["a", "b"], ["c", "d"]]
    assert tables.sample_rows('a,"b"c\nd,e\n') == [["a", "bc"], ["d", "e"]]  # a stray quote: read on, not stop
    rows = tables.sample_rows("".join(f"{i},x\n" for i in range(tables._SAMPLE_ROWS * 2)))
    assert len(rows) == tables._SAMPLE_ROWS + 1 and rows[-1] == [str(tables._SAMPLE_ROWS), "x"]


def test_t2s_loads_its_converter_in_a_fresh_process(monkeypatch):
    from corpusprep.cleaning import ops

    monkeypatch.setattr(ops, "_T2S", None)
    assert ops.to_simplified("這是一個關於歷史的長篇文章") == "这是一个关于历史的长篇文章"
