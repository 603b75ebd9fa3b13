"""examples/pretrain.py stage handover: --save-weights (weights alone), --init-from (a seq-128 model into a
seq-512 run), one-line errors for weights that do not fit, and --resume kept for the same run."""
from __future__ import annotations

import json

import pytest
import torch

from corpusprep.errors import ZooprepError
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard
from corpusprep.pretrain_example_command import load_trainer

from conftest import REPO, cli
FAST = ["--size", "nano", "--device", "cpu", "--workers", "0", "--threads", "1", "--log-every", "1"]


@pytest.fixture(scope="module")
def pretrain():
    return load_trainer()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """The same small corpus packed at seq 32 and seq 128 (mlm, char vocab)."""
    import random

    d = tmp_path_factory.mktemp("stages")
    chars = [chr(0x4E00 + i) for i in range(200)]
    (d / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars) + "\n",
                                 encoding="utf-8")
    rng = random.Random(3)
    (d / "c.txt").write_text("".join("".join(rng.choices(chars, k=rng.randint(20, 200))) + "\n" for _ in range(200)),
                             encoding="utf-8")
    return {n: run_shard(ShardConfig(corpus=(d / "c.txt",), out=d / f"s{n}", seq_len=n, vocab=d / "vocab.txt",
                                     full_sentences=True, workers=1, show_progress=False)).out for n in (32, 128)}


def _records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_weights_alone_are_small_and_load_across_sequence_lengths(tmp_path, pretrain, shards, capsys):
    weights, state = tmp_path / "w.pt", tmp_path / "s.pt"
    pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "3", "--batch-size", "4",
                                        "--save-weights", str(weights), "--save-state", str(state)]))
    saved = torch.load(weights, weights_only=True)
    assert saved["card"]["max_length"] == 512 and saved["model"]["pos.weight"].shape[0] == 512
    assert weights.stat().st_size < state.stat().st_size / 2  # no optimizer moments
    capsys.readouterr()
    for ckpt in (weights, state):  # a --save-state file also serves its weights
        pretrain.train(pretrain.parse_args([str(shards[128]), *FAST, "--max-steps", "1", "--batch-size", "2",
                                            "--init-from", str(ckpt)]))
        start = _records(capsys.readouterr().out)[0]
        assert start["seq_len"] == 128 and start["start_step"] == 0 and start["init_from"] == str(ckpt)


def test_init_from_copies_every_weight(tmp_path, pretrain, shards):
    weights = tmp_path / "w.pt"
    pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "2", "--batch-size", "4",
                                        "--save-weights", str(weights)]))
    saved = torch.load(weights, weights_only=True)["model"]
    model = pretrain.TinyTransformer(saved["word.weight"].shape[0], 512, *pretrain.SIZES["nano"], causal=False,
                                     pair_head=False, pad_id=0)
    pretrain.load_weights(model, str(weights), {})
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())


def test_an_older_shorter_position_table_fills_the_first_rows(tmp_path, pretrain):
    model = pretrain.TinyTransformer(50, 512, *pretrain.SIZES["nano"], causal=False, pair_head=False, pad_id=0)
    old = {k: v.clone() + 1 for k, v in model.state_dict().items()}
    old["pos.weight"] = torch.randn(128, 64)  # saved when the table was sized to the run's seq_len
    torch.save({"model": old}, tmp_path / "old.pt")
    untouched = model.pos.weight.detach().clone()
    pretrain.load_weights(model, str(tmp_path / "old.pt"), {})
    assert torch.equal(model.pos.weight[:128], old["pos.weight"])
    assert torch.equal(model.pos.weight[128:], untouched[128:])
    assert torch.equal(model.word.weight, old["word.weight"])


def test_weights_that_do_not_fit_are_one_line_errors(tmp_path, pretrain, shards):
    weights = tmp_path / "w.pt"
    pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "1", "--batch-size", "4",
                                        "--save-weights", str(weights)]))
    cases = {
        ("--size", "tiny"): "weights of another model",
        ("--max-length", "256"): "pos.weight is [512, 64] in the checkpoint, [256, 64] here",
        ("--max-length", "64"): "rows hold 128 tokens, more than --max-length 64",
    }
    for (opt, value), message in cases.items():
        argv = [str(shards[128]), *FAST, "--max-steps", "1", "--init-from", str(weights), opt, value]
        with pytest.raises(ZooprepError, match=message.replace("[", r"\[").replace("]", r"\]")):
            pretrain.train(pretrain.parse_args(argv))
    for bad, message in ((tmp_path / "none.pt", "no such checkpoint"), (shards[32] / "zooprep.json", "not a torch")):
        with pytest.raises(ZooprepError, match=message):
            pretrain.train(pretrain.parse_args([str(shards[128]), *FAST, "--max-steps", "1", "--init-from", str(bad)]))
    # through the installed command: one line on stderr, exit 2, no traceback
    proc = cli("pretrain-example", str(shards[128]), *FAST, "--size", "tiny", "--max-steps", "1", "--init-from",
               str(weights))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"error: {weights}: ")
    assert "Traceback" not in proc.stderr


def test_resume_continues_the_same_run_only(tmp_path, pretrain, shards):
    weights, state = tmp_path / "w.pt", tmp_path / "s.pt"
    pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "2", "--batch-size", "4",
                                        "--save-weights", str(weights), "--save-state", str(state)]))
    with pytest.raises(ZooprepError, match="use --init-from"):
        pretrain.train(pretrain.parse_args([str(shards[128]), *FAST, "--max-steps", "3", "--batch-size", "4",
                                            "--resume", str(state)]))
    with pytest.raises(ZooprepError, match="weights only"):
        pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "3", "--batch-size", "4",
                                            "--resume", str(weights)]))
    with pytest.raises(ZooprepError, match="pass one"):
        pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "3", "--batch-size", "4",
                                            "--resume", str(state), "--init-from", str(weights)]))
    summary = pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "3", "--batch-size", "4",
                                                  "--resume", str(state)]))
    assert summary["steps"] == 3


def test_pretrain_example_command_passes_help_through():
    proc = cli("pretrain-example", "--help")
    assert proc.returncode == 0 and "--init-from" in proc.stdout and "--save-weights" in proc.stdout
    assert "Usage: zooprep pretrain-example" in proc.stdout  # typer-style help like every command (issue 22)


def test_a_missing_trainer_is_a_clear_error(tmp_path):
    with pytest.raises(ZooprepError, match="source checkout"):
        load_trainer(tmp_path / "examples" / "pretrain.py")


def test_save_paths_never_replace_a_user_file_or_an_input(tmp_path, pretrain, shards):
    """--save-weights / --save-state used to overwrite any file, the shard's own zooprep.json included."""
    user = tmp_path / "notes.pt"
    user.write_text("precious\n", encoding="utf-8")
    meta = shards[32] / "zooprep.json"
    before = meta.read_bytes()
    for option in ("--save-weights", "--save-state"):
        for target, message in ((user, "not written by `zooprep pretrain-example`"), (meta, "lies inside the input")):
            with pytest.raises(ZooprepError, match=message):
                pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "1", "--batch-size", "4",
                                                    option, str(target)]))
    with pytest.raises(ZooprepError, match="--log-file lies inside the input"):
        pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "1", "--log-file", str(meta)]))
    assert user.read_text(encoding="utf-8") == "precious\n" and meta.read_bytes() == before
    ours = tmp_path / "w.pt"  # our own checkpoint may be replaced by the next run
    for _ in range(2):
        pretrain.train(pretrain.parse_args([str(shards[32]), *FAST, "--max-steps", "1", "--batch-size", "4",
                                            "--save-weights", str(ours), "--save-state", str(tmp_path / "s.pt")]))
