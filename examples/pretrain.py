"""Reference trainer: a tiny char RoBERTa (mlm/bert/albert/cls/cls_mlm shards), GPT-2 (lm) or T5 (t5) fed by zooprep.

Torch only. Single process (installed: ``zooprep pretrain-example SHARD_DIR ...``, same options):

    python examples/pretrain.py SHARD_DIR --max-steps 200 --device cpu

Several GPUs (each rank reads its own disjoint slice of every epoch):

    torchrun --nproc_per_node 8 examples/pretrain.py SHARD_DIR --size base --max-steps 1000

The schedule follows the zoo's recipes (zoo_facts.yaml: roberta/gpt2 cluecorpussmall stage 1,
learning rate 1e-4, 64 sequences per GPU, UER's default warmup 0.1 then linear decay, AdamW with
weight decay 0.01 except biases and LayerNorm), scaled down by ``--size``. Logs are JSON lines
(rank 0): step, loss, lr, samples/s, tokens/s. ``--save-state`` / ``--resume`` carry the model,
optimizer, schedule, loader position and RNG state, so a resumed run continues with the next unseen
batch and logs the losses the uninterrupted run would have (``--stop-at N`` interrupts after step N).
``--save-weights`` writes the model alone; ``--init-from`` starts a new run (e.g. stage 2 at seq 512)
from such weights, as UER's ``--pretrained_model_path``. The position table always holds
``--max-length`` (512, UER's max_seq_length) rows, so a seq-128 model loads into a seq-512 run.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from corpusprep.errors import ZooprepError  # noqa: E402
from corpusprep.feed.stream import FeedLoader, StreamConfig  # noqa: E402

# UER-py model configs (models/bert/*_config.json): layers, hidden, heads, feed-forward.
SIZES = {
    "nano": (1, 64, 2, 256),  # not a zoo size: for smoke tests
    "tiny": (2, 128, 2, 512),
    "mini": (4, 256, 4, 1024),
    "small": (4, 512, 8, 2048),
    "medium": (8, 512, 8, 2048),
    "base": (12, 768, 12, 3072),
}
# Recipe stage 1 of roberta_char_cluecorpussmall_2stage / gpt2_cluecorpussmall_2stage.
RECIPE = {"learning_rate": 1e-4, "batch_size_per_gpu": 64, "warmup": 0.1, "weight_decay": 0.01}
# A small model on little data tolerates (and needs) a larger step than the zoo's base models.
SCALED_LR = {"nano": 2e-3, "tiny": 1e-3, "mini": 5e-4, "small": 3e-4, "medium": 2e-4, "base": 1e-4}
MAX_POSITIONS = 512  # UER's max_seq_length: the position table does not depend on the run's seq_len


@dataclass
class TrainConfig:
    shard_dir: str
    model: str = "auto"  # auto | roberta | gpt2 | t5
    size: str = "tiny"
    max_steps: int = 100
    batch_size: int = 64
    lr: float | None = None
    warmup: float = RECIPE["warmup"]
    weight_decay: float = RECIPE["weight_decay"]
    device: str = "auto"
    workers: int = 1
    seed: int = 7
    log_every: int = 10
    amp: str = "auto"  # auto | bf16 | none
    compile: bool = False
    save_state: str | None = None
    resume: str | None = None
    log_file: str | None = None
    synthetic: str | None = None  # "mlm" or "lm": in-memory char rows of demo text, no shard dir (no pyarrow)
    seq_len: int = 128  # only for --synthetic
    masking: str | None = None  # token | whole_word | span; default: whole_word if the shard stores word starts
    threads: int | None = None  # CPU intra-op threads (torch default: one per core)
    init_from: str | None = None  # weights (--save-weights or --save-state file) to start from
    save_weights: str | None = None  # model weights alone, for --init-from
    max_length: int = MAX_POSITIONS  # rows of the position table
    stop_at: int | None = None  # stop after this step (an interruption: the schedule still spans max_steps)
    view: str | None = None  # PROCESSOR:SEQ_LEN[:full]: rows cut at load time from an encoded corpus


class TinyTransformer(nn.Module):
    """Word + position (+ segment) embeddings, a torch TransformerEncoder, a tied LM head; optional
    pair (NSP/SOP) or classification head on [CLS], optional T5-style decoder."""

    def __init__(self, vocab: int, max_len: int, layers: int, hidden: int, heads: int, ff: int,
                 causal: bool, pair_head: bool, pad_id: int, num_labels: int = 0, decoder: bool = False):
        super().__init__()
        self.causal = causal
        self.word = nn.Embedding(vocab, hidden, padding_idx=pad_id)
        self.pos = nn.Embedding(max_len, hidden)
        self.seg = None if causal else nn.Embedding(3, hidden)
        self.emb_norm = nn.LayerNorm(hidden)
        layer = nn.TransformerEncoderLayer(hidden, heads, ff, dropout=0.1, activation="gelu", batch_first=True,
                                           norm_first=causal)  # GPT-2: pre-LN; BERT: post-LN
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False,
                                             norm=nn.LayerNorm(hidden) if causal else None)
        self.transform = nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.LayerNorm(hidden))
        self.out_bias = nn.Parameter(torch.zeros(vocab))
        self.pair = nn.Linear(hidden, 2) if pair_head else None
        self.classify = nn.Linear(hidden, num_labels) if num_labels else None
        self.decoder = None
        if decoder:  # T5: a causal decoder over the target, cross-attending to the encoder
            self.dec_pos = nn.Embedding(2 * max_len + 8, hidden)
            dec_layer = nn.TransformerDecoderLayer(hidden, heads, ff, dropout=0.1, activation="gelu", batch_first=True,
                                                   norm_first=True)
            self.decoder = nn.TransformerDecoder(dec_layer, layers, norm=nn.LayerNorm(hidden))
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        b, n = input_ids.shape
        x = self.word(input_ids) + self.pos(torch.arange(n, device=input_ids.device))[None]
        if self.seg is not None and token_type_ids is not None:
            seg = (token_type_ids + 1) * attention_mask  # UER segment ids: 1 / 2, 0 for padding
            x = x + self.seg(seg)
        x = self.emb_norm(x)
        pad = attention_mask == 0
        if self.causal:
            mask = torch.ones(n, n, dtype=torch.bool, device=x.device).triu(1)  # True = may not attend
            return self.encoder(x, mask=mask, src_key_padding_mask=pad, is_causal=True)
        return self.encoder(x, src_key_padding_mask=pad)

    def logits(self, hidden):
        return self.transform(hidden) @ self.word.weight.t() + self.out_bias

    def decode(self, memory, attention_mask, decoder_input_ids, decoder_attention_mask):
        n = decoder_input_ids.shape[1]
        y = self.word(decoder_input_ids) + self.dec_pos(torch.arange(n, device=decoder_input_ids.device))[None]
        causal = torch.ones(n, n, dtype=torch.bool, device=y.device).triu(1)
        return self.decoder(y, memory, tgt_mask=causal, tgt_key_padding_mask=decoder_attention_mask == 0,
                            memory_key_padding_mask=attention_mask == 0, tgt_is_causal=True)


def losses(model: TinyTransformer, batch: dict) -> torch.Tensor:
    """Mean token cross entropy (+ next-sentence / sentence-order loss); class cross entropy (cls);
    decoder token cross entropy (t5)."""
    core = model.module if hasattr(model, "module") else model
    hidden = model(batch["input_ids"], batch["attention_mask"], batch.get("token_type_ids"))
    labels = batch["labels"]
    if core.classify is not None and labels.ndim == 1:  # cls: one label per row
        return F.cross_entropy(core.classify(hidden[:, 0]).float(), labels)
    if core.decoder is not None:  # t5: targets are the decoder's
        hidden = core.decode(hidden, batch["attention_mask"], batch["decoder_input_ids"],
                             batch["decoder_attention_mask"])
    keep = labels != -100
    # Project only the positions that carry a target: 15 % of them for mlm.
    logits = core.logits(hidden[keep])
    loss = F.cross_entropy(logits.float(), labels[keep])
    pair_label = batch.get("next_sentence_label", batch.get("sentence_order_label"))
    if core.pair is not None and pair_label is not None:
        loss = loss + F.cross_entropy(core.pair(hidden[:, 0]).float(), pair_label)
    if core.classify is not None and "class_labels" in batch:  # cls_mlm
        loss = loss + F.cross_entropy(core.classify(hidden[:, 0]).float(), batch["class_labels"])
    return loss


MODEL_FOR = {"lm": "gpt2", "t5": "t5", "mlm": "roberta", "bert": "roberta", "albert": "roberta", "cls": "roberta",
             "cls_mlm": "roberta"}


def label_count(reader) -> int:
    """Classes of a cls/cls_mlm shard: the largest stored label + 1 (read from the mapped column)."""
    if not len(reader):
        return 2
    labels = reader.take(range(len(reader)), skip=frozenset({"masked_positions", "masked_labels", "word_starts"}))
    return int(labels["label"].max()) + 1


def param_groups(model: nn.Module, weight_decay: float):
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.ndim < 2 or "norm" in name or name.endswith("bias") else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def warmup_linear(step: int, total: int, warmup: float) -> float:
    """UER's 'linear' schedule: linear warmup over warmup*total steps, then linear decay to 0."""
    w = max(1, int(total * warmup))
    return step / w if step < w else max(0.0, (total - step) / max(1, total - w))


WEIGHTS_FORMAT = "zooprep-pretrain-weights/1"
POSITIONS_KEY = "pos.weight"


def model_card(cfg: TrainConfig, kind: str, vocab: int) -> dict:
    """What a checkpoint was trained as: named in the error when weights do not fit."""
    return {"model": kind, "size": cfg.size, "vocab_size": vocab, "max_length": cfg.max_length}


def save_weights(model: nn.Module, path: str, card: dict) -> None:
    """The model's weights alone (no optimizer moments: a third of --save-state), for --init-from."""
    torch.save({"format": WEIGHTS_FORMAT, "model": model.state_dict(), "card": card}, path)


def check_options(cfg: TrainConfig) -> None:
    """Options that cannot work are refused before anything starts, with their bound (one line)."""
    from corpusprep import options as opt

    opt.integer("--batch-size", cfg.batch_size, 1, 1 << 20)
    opt.integer("--max-steps", cfg.max_steps, 0, 1 << 40)
    opt.integer("--log-every", cfg.log_every, 1)
    opt.integer("--workers", cfg.workers, 0, opt.MAX_WORKERS)
    opt.integer("--max-length", cfg.max_length, 1, 1 << 16)  # rows of a position table, not a corpus size
    opt.integer("--seq-len", cfg.seq_len, 2, 1 << 16)
    if cfg.threads is not None:
        opt.integer("--threads", cfg.threads, 1, 4096)
    if cfg.stop_at is not None:
        opt.integer("--stop-at", cfg.stop_at, 0)
    if cfg.lr is not None:
        opt.number("--lr", cfg.lr, 0, 10, lo_open=True)
    opt.number("--warmup", cfg.warmup, 0, 1)
    opt.number("--weight-decay", cfg.weight_decay, 0, 10)
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ZooprepError("--device cuda: no CUDA device is available here; use --device cpu or auto")


def claim_outputs(cfg: TrainConfig) -> dict:
    """Before training: each of --log-file / --save-state / --save-weights becomes a zooprep file output
    (corpusprep.outdir.fileout): never an input, never a file zooprep did not write, never inside a
    zooprep output directory, never one path for two of them. Only rank 0 writes them."""
    from corpusprep.outdir.fileout import card_beside, refuse_shared_paths, single_output

    named = [(p, o) for p, o in ((cfg.log_file, "--log-file"), (cfg.save_state, "--save-state"),
                                 (cfg.save_weights, "--save-weights")) if p is not None]
    refuse_shared_paths([*named, *((card_beside(p, o), f"{o} (its card)") for p, o in named)])
    if int(os.environ.get("RANK", "0")) != 0:
        return {}
    inputs = [None if cfg.synthetic else cfg.shard_dir, cfg.init_from, cfg.resume]
    units = {}
    try:
        for path, option in named:
            units[option] = single_output("pretrain-example", path, inputs, option)
            units[option].check()
    except BaseException:
        for unit in units.values():
            unit.abort()
        raise
    return units


def _describe(card: dict | None) -> str:
    if not card:
        return "unknown"
    return f"{card.get('model')} {card.get('size')}, vocab {card.get('vocab_size')}, max_length {card.get('max_length')}"


def load_weights(model: nn.Module, path: str, card: dict) -> dict:
    """Copy a --save-weights / --save-state file's weights into ``model``; returns the whole file.

    A smaller position table (checkpoints from before the table was sized to ``--max-length``) fills
    the first rows; the others keep their initial values, as the untrained tail of a full table would.
    Anything else that does not fit is one ZooprepError naming both models, never a traceback.
    """
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ZooprepError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a file that is not a checkpoint
        raise ZooprepError(f"{path}: not a torch checkpoint ({type(exc).__name__})") from None
    state = ckpt.get("model") if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ZooprepError(f"{path}: no model weights (expected a --save-weights or --save-state file)")
    own = model.state_dict()
    theirs = f"checkpoint: {_describe(ckpt.get('card'))}; this run: {_describe(card)}"
    odd = sorted(set(own) ^ set(state))
    if odd:
        raise ZooprepError(f"{path}: weights of another model ({theirs}): {', '.join(odd[:3])} "
                           f"{'missing here' if odd[0] in state else 'missing in the checkpoint'}")
    state = dict(state)
    for key, mine in own.items():
        got = state[key]
        if got.shape == mine.shape:
            continue
        if key == POSITIONS_KEY and got.shape[1:] == mine.shape[1:] and got.shape[0] < mine.shape[0]:
            state[key] = torch.cat([got.to(mine.dtype), mine[got.shape[0]:].cpu()])
            continue
        hint = " (pass the same --size, vocab/spm and --max-length as the checkpoint's run)"
        raise ZooprepError(f"{path}: {key} is {list(got.shape)} in the checkpoint, {list(mine.shape)} here "
                           f"({theirs}){hint}")
    model.load_state_dict(state)
    return ckpt


def setup_distributed(device_arg: str) -> tuple[int, int, torch.device]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_arg == "cuda" or (device_arg == "auto" and torch.cuda.is_available())
    device = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if world > 1:
        torch.distributed.init_process_group("nccl" if use_cuda else "gloo")
    return rank, world, device


def train(cfg: TrainConfig) -> dict:
    if cfg.init_from and cfg.resume:
        raise ZooprepError("--init-from starts a new run from weights, --resume continues a run: pass one")
    check_options(cfg)
    outputs = claim_outputs(cfg)
    try:
        return _train(cfg, outputs)
    finally:
        log = outputs.get("--log-file")
        if log is not None and log.is_staged(Path(cfg.log_file)):
            with contextlib.suppress(OSError, ZooprepError):  # the log of a failed run is kept: it says why
                log.commit({"shard_dir": cfg.shard_dir, "failed": True})
        for unit in outputs.values():
            unit.abort()  # what a failed run staged; nothing after a commit


def _train(cfg: TrainConfig, outputs: dict) -> dict:
    rank, world, device = setup_distributed(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    reader = None
    if cfg.synthetic:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from synthetic_rows import InMemoryRows, char_rows_from_texts, demo_texts

        cols, vocab = char_rows_from_texts(demo_texts(), cfg.synthetic, cfg.seq_len)
        reader = InMemoryRows(cols, cfg.synthetic, cfg.seq_len, max(vocab, 21128))
    elif cfg.view:
        from corpusprep.feed.views import ViewReader, parse_view

        reader = ViewReader(cfg.shard_dir, parse_view(cfg.view))
    from corpusprep.feed.masking import MaskingConfig

    masking = MaskingConfig(mode=cfg.masking) if cfg.masking else None
    loader = FeedLoader(StreamConfig(cfg.shard_dir, batch_size=cfg.batch_size, seed=cfg.seed, rank=rank,
                                     world_size=world, names="hf", masking=masking),
                        num_workers=cfg.workers, pin_memory=device.type == "cuda", reader=reader)
    meta = loader.meta
    if meta.processor not in MODEL_FOR:
        raise ZooprepError(f"examples/pretrain.py trains {', '.join(MODEL_FOR)} shards, not {meta.processor}")
    kind = cfg.model if cfg.model != "auto" else MODEL_FOR[meta.processor]
    if (kind == "t5") != (meta.processor == "t5"):
        raise ZooprepError(f"--model {kind} cannot train a {meta.processor} shard (t5 needs a t5 shard, a t5 shard "
                           "needs --model t5 or auto)")
    layers, hidden, heads, ff = SIZES[cfg.size]
    vocab = meta.vocab_size or 21128
    num_labels = label_count(loader.stream.reader) if meta.processor in ("cls", "cls_mlm") else 0
    tokens_in = meta.row_len - 1 if meta.processor == "lm" else meta.row_len
    if tokens_in > cfg.max_length:
        raise ZooprepError(f"{cfg.shard_dir}: rows hold {tokens_in} tokens, more than --max-length {cfg.max_length}")
    model = TinyTransformer(vocab, cfg.max_length, layers, hidden, heads, ff, causal=kind == "gpt2",
                            pair_head=meta.processor in ("bert", "albert"), pad_id=meta.special_ids["pad"],
                            num_labels=num_labels, decoder=kind == "t5")
    card = model_card(cfg, kind, vocab)
    if cfg.init_from:
        load_weights(model, cfg.init_from, card)
    model = model.to(device)
    lr = cfg.lr or SCALED_LR[cfg.size]
    fused = {"fused": True} if device.type == "cuda" else {}
    optim = torch.optim.AdamW(param_groups(model, cfg.weight_decay), lr=lr, betas=(0.9, 0.999), eps=1e-6, **fused)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: warmup_linear(s, cfg.max_steps, cfg.warmup))
    step = 0
    if cfg.resume:
        state = load_weights(model, cfg.resume, card)
        if "loader" not in state:
            raise ZooprepError(f"{cfg.resume}: weights only, no run state; start from them with --init-from")
        saved_dir = (state.get("config") or {}).get("shard_dir")
        if saved_dir and not cfg.synthetic and Path(saved_dir).resolve() != Path(cfg.shard_dir).resolve():
            raise ZooprepError(f"{cfg.resume}: --resume continues the run on {saved_dir}; "
                               "to start a new stage from these weights use --init-from")
        loader.load_state_dict(json.loads(state["loader"][rank]))  # refuses another shard or batch size
        optim.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        step = int(state["step"])
        if "rng" in state:  # dropout continues its stream: the resumed run equals an uninterrupted one
            torch.set_rng_state(state["rng"]["torch"].cpu())
            if device.type == "cuda" and state["rng"].get("cuda") is not None:
                torch.cuda.set_rng_state(state["rng"]["cuda"].cpu(), device)
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if cfg.compile:
        net = torch.compile(net)
    amp = cfg.amp if cfg.amp != "auto" else ("bf16" if device.type == "cuda" else "none")
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp == "bf16")
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    log = None
    if "--log-file" in outputs:  # the staged log continues the previous log of ours, if any
        staged = outputs["--log-file"].stage(Path(cfg.log_file))
        if os.path.isfile(cfg.log_file):
            shutil.copyfile(cfg.log_file, staged)
        log = open(staged, "a", encoding="utf-8")

    def emit(rec: dict) -> None:
        if rank != 0:
            return
        line = json.dumps(rec, ensure_ascii=False)
        print(line, flush=True)
        if log:
            log.write(line + "\n")
            log.flush()

    emit({"event": "start", "model": kind, "size": cfg.size, "params": sum(p.numel() for p in model.parameters()),
          "processor": meta.processor, "seq_len": meta.seq_len, "rows": len(loader.stream.reader), "device": str(device),
          "world_size": world, "batch_size_per_rank": cfg.batch_size, "lr": lr, "amp": amp, "start_step": step,
          "init_from": cfg.init_from})
    net.train()
    losses_seen: list[float] = []
    window_t, window_samples, window_tokens = time.perf_counter(), 0, 0
    t0, total_samples = time.perf_counter(), 0
    data_wait = 0.0
    t_fetch = time.perf_counter()
    batches = iter(loader)
    stop = min(cfg.max_steps, cfg.stop_at or cfg.max_steps)
    while step < stop:  # check before fetching: a fetched batch counts as consumed
        batch = next(batches)
        ids = batch["input_ids"]
        top, low = (int(ids.max()), int(ids.min())) if ids.numel() else (-1, 0)
        if top >= vocab or low < 0:
            top = top if top >= vocab else low
            raise ZooprepError(f"{cfg.shard_dir}: token id {top} outside the vocabulary of {vocab} (a damaged part? "
                               f"see `zooprep verify {cfg.shard_dir}`)")
        # Counted on the CPU copy: no device sync in the step.
        n_tokens = int(batch["attention_mask"].sum())
        has_targets = bool((batch["labels"] != -100).any())
        batch = {k: v.to(device, non_blocking=True) for k, v in batch.items()}
        data_wait += time.perf_counter() - t_fetch
        with autocast:
            loss = losses(net, batch)
        optim.zero_grad(set_to_none=True)
        if has_targets:  # a batch of empty rows has no target (UER skips such batches too)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optim.step()
        sched.step()
        step += 1
        n = batch["input_ids"].shape[0] * world
        window_samples += n
        window_tokens += n_tokens * world
        total_samples += n
        if step % cfg.log_every == 0 or step == cfg.max_steps:
            value = float(loss.detach())
            losses_seen.append(value)
            if device.type == "cuda":
                torch.cuda.synchronize()
            now = time.perf_counter()
            emit({"step": step, "loss": round(value, 4), "lr": sched.get_last_lr()[0],
                  "samples_per_s": round(window_samples / (now - window_t), 1),
                  "tokens_per_s": round(window_tokens / (now - window_t), 1),
                  "data_wait_share": round(data_wait / (now - window_t), 3)})
            window_t, window_samples, window_tokens, data_wait = now, 0, 0, 0.0
        t_fetch = time.perf_counter()
    elapsed = time.perf_counter() - t0
    if cfg.save_state:
        loader_states = [None] * world
        mine = json.dumps(loader.state_dict())
        if world > 1:
            torch.distributed.all_gather_object(loader_states, mine)
        else:
            loader_states = [mine]
        if rank == 0:
            torch.save({"model": model.state_dict(), "optimizer": optim.state_dict(), "scheduler": sched.state_dict(),
                        "step": step, "loader": loader_states, "config": asdict(cfg), "card": card,
                        "rng": {"torch": torch.get_rng_state(),
                                "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}},
                       outputs["--save-state"].stage(Path(cfg.save_state)))
            outputs["--save-state"].commit({"shard_dir": cfg.shard_dir, "step": step, "card": card})
    if cfg.save_weights and rank == 0:
        save_weights(model, outputs["--save-weights"].stage(Path(cfg.save_weights)), card)
        outputs["--save-weights"].commit({"shard_dir": cfg.shard_dir, "step": step, "card": card})
    summary = {"event": "done", "steps": step, "first_loss": losses_seen[0] if losses_seen else None,
               "last_loss": losses_seen[-1] if losses_seen else None, "elapsed_s": round(elapsed, 2),
               "mean_samples_per_s": round(total_samples / elapsed, 1) if elapsed else None}
    emit(summary)
    if log:
        log.close()
        outputs["--log-file"].commit({"shard_dir": cfg.shard_dir, "steps": step})
    if world > 1:
        torch.distributed.destroy_process_group()
    return summary


def size_presets() -> str:
    """One line per --size preset: layers, hidden, heads, feed-forward and the default learning rate."""
    return "; ".join(f"{name} = {l} layers, hidden {h}, {n} heads, feed-forward {f}, lr {SCALED_LR[name]:g}"
                     for name, (l, h, n, f) in SIZES.items())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("shard_dir")
    p.add_argument("--model", default="auto", choices=["auto", "roberta", "gpt2", "t5"])
    p.add_argument("--size", default="tiny", choices=list(SIZES),
                   help="model size preset (UER-py's models/bert/*_config.json; nano is for smoke tests): "
                        + size_presets())
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=RECIPE["batch_size_per_gpu"], help="sequences per rank")
    p.add_argument("--lr", type=float, default=None, help="default: scaled from the recipe's 1e-4 by --size")
    p.add_argument("--warmup", type=float, default=RECIPE["warmup"])
    p.add_argument("--weight-decay", type=float, default=RECIPE["weight_decay"])
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--workers", type=int, default=1, help="DataLoader workers per rank")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--amp", default="auto", choices=["auto", "bf16", "none"])
    p.add_argument("--compile", action="store_true")
    p.add_argument("--save-state", default=None)
    p.add_argument("--resume", default=None, help="continue a --save-state run (same shard and batch size)")
    p.add_argument("--init-from", default=None,
                   help="start from these weights (--save-weights or --save-state file), e.g. stage 2 from stage 1")
    p.add_argument("--save-weights", default=None, help="write the model weights alone (for --init-from)")
    p.add_argument("--max-length", type=int, default=MAX_POSITIONS,
                   help="rows of the position table (UER's max_seq_length); keep it equal across stages")
    p.add_argument("--log-file", default=None)
    p.add_argument("--synthetic", default=None, choices=["mlm", "lm"],
                   help="no shard dir: char rows of the demo text held in memory (SHARD_DIR is ignored)")
    p.add_argument("--seq-len", type=int, default=128, help="only with --synthetic")
    p.add_argument("--masking", default=None, choices=["token", "whole_word", "span"],
                   help="dynamic masking unit (default: whole_word when the shard stores word starts, else token)")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: one per core; 1 is far faster on a busy machine)")
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop after this step, as an interrupted run would (the schedule still spans --max-steps)")
    p.add_argument("--view", default=None, metavar="PROCESSOR:SEQ_LEN[:full]",
                   help="SHARD_DIR is an encoded corpus (shard --encode-only): train on its rows cut at load "
                        "time, e.g. mlm:128 then mlm:512 (docs/views.md)")
    return p


def parse_args(argv=None) -> TrainConfig:
    a = build_parser().parse_args(argv)
    return TrainConfig(a.shard_dir, a.model, a.size, a.max_steps, a.batch_size, a.lr, a.warmup, a.weight_decay,
                       a.device, a.workers, a.seed, a.log_every, a.amp, a.compile, a.save_state, a.resume, a.log_file,
                       a.synthetic, a.seq_len, a.masking, a.threads, a.init_from, a.save_weights, a.max_length,
                       a.stop_at, a.view)


def main(argv=None) -> None:
    """Parse, train; a known failure (checkpoint, shard, options) is one line `error: ...`, exit 2."""
    try:
        train(parse_args(argv))
    except ZooprepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
