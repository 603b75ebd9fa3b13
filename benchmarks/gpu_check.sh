#!/usr/bin/env bash
# One-shot GPU check for the feed stage (issue 5). Run from the repository root on a fresh CUDA box:
#   OUT=/some/dir bash benchmarks/gpu_check.sh
# Installs nothing heavy; everything it writes goes under $OUT (logs, nvidia-smi samples, summary.md).
# Budget: about 4-5 minutes of work on an H100; every step has its own timeout and the runs stop
# at a 9-minute budget, so the script ends (with its summary) before a 10-minute limit.
set -x
set -u -o pipefail
OUT="${OUT:-$(pwd)/gpu_check_out}"
mkdir -p "$OUT"
export PYTHONPATH="$(pwd)${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python}"
START=$(date +%s)
# GPU_CHECK_SMOKE=1 GPU_CHECK_DEVICE=cpu: a seconds-long dry run of the whole script on a laptop.
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
SMOKE="${GPU_CHECK_SMOKE:-0}"
exec > >(tee -a "$OUT/gpu_check.log") 2>&1

# -- 1. what is on this box ----------------------------------------------------------------------
timeout 30 nvidia-smi > "$OUT/nvidia_smi.txt" 2>&1 || echo "nvidia-smi failed"
cat "$OUT/nvidia_smi.txt" || true
timeout 60 $PY - <<'EOF' | tee "$OUT/env.txt"
import importlib, platform, sys
print("python", sys.version.split()[0], platform.platform())
for mod in ("torch", "numpy", "pyarrow", "datasets", "typer", "jieba"):
    try:
        m = importlib.import_module(mod)
        print(f"{mod} {getattr(m, '__version__', '?')}")
    except Exception as exc:
        print(f"{mod} MISSING ({type(exc).__name__}: {exc})")
import torch
print("cuda available", torch.cuda.is_available(), "devices", torch.cuda.device_count(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
EOF

# pyarrow (memory-mapped shards) is the one light dependency the loader needs; numpy comes with torch.
if ! $PY -c "import pyarrow" 2>/dev/null; then
  timeout 60 $PY -m pip install --quiet --timeout 15 --retries 0 pyarrow || echo "pip install pyarrow failed (offline?)"
fi
HAVE_ARROW=0
$PY -c "import pyarrow, numpy" 2>/dev/null && HAVE_ARROW=1
echo "HAVE_ARROW=$HAVE_ARROW"

# -- 2. shard directories from the demo corpus (char vocabulary padded to BERT's 21128) ----------
TMPD="$(mktemp -d)"
trap 'rm -rf "$TMPD"' EXIT
SHARDS="$TMPD/shards"  # not under $OUT: nothing large travels back
[ "${GPU_CHECK_NO_ARROW:-0}" = 1 ] && HAVE_ARROW=0
# Preferred: the real `shard` pipeline over the demo corpus with google_zh_vocab (carried by the
# caller in GPU_CHECK_VOCAB, since ../shared does not travel); else a synthetic char shard.
VOCAB="${GPU_CHECK_VOCAB:-}"
BUILT=0
if [ "$HAVE_ARROW" = 1 ] && [ -n "$VOCAB" ] && [ -f "$VOCAB" ]; then
  timeout 120 $PY - "$SHARDS" "$VOCAB" <<'EOF' && BUILT=1
import sys
from pathlib import Path
from corpusprep.instances.config import ShardConfig
from corpusprep.instances.pipeline import run_shard
root, vocab = Path(sys.argv[1]), Path(sys.argv[2])
corpus = (Path("demo/cluecorpussmall/clue_sampled.txt"),)
for proc, seq in (("mlm", 128), ("mlm", 512), ("lm", 128)):
    res = run_shard(ShardConfig(corpus=corpus, out=root / f"{proc}{seq}", seq_len=seq, processor=proc,
                                vocab=vocab, workers=1, full_sentences=(proc == "mlm"), show_progress=False))
    print("built with zooprep shard", res.out, res.meta["counts"])
EOF
fi
if [ "$HAVE_ARROW" = 1 ] && [ "$BUILT" = 0 ]; then
  timeout 90 $PY - "$SHARDS" <<'EOF' || HAVE_ARROW=0
import sys
sys.path[:0] = ["tests", "examples"]  # the test-only shard writer (pure pyarrow) and the example's char rows
from shard_writer import write_shard
from synthetic_rows import CHAR_SPECIALS, char_rows_from_texts, demo_texts
root = sys.argv[1]
texts = demo_texts()
for proc, seq in (("mlm", 128), ("mlm", 512), ("lm", 128)):
    cols, needed = char_rows_from_texts(texts, proc, seq)
    d = write_shard(f"{root}/{proc}{seq}", cols, proc, seq_len=seq, vocab_size=max(needed, 21128),
                    specials=CHAR_SPECIALS, num_files=2)
    print("built synthetic", d)
EOF
fi
du -sh "$SHARDS" 2>/dev/null || true

# -- 3. training runs on CUDA, nvidia-smi sampled once a second during each --------------------
left() { echo $(( 540 - ($(date +%s) - START) )); }  # seconds left of a 9-minute budget
run() {  # run NAME TIMEOUT ARGS...  (the timeout shrinks to what is left of the budget)
  local name=$1 limit=$2
  shift 2
  if [ "$(left)" -lt "$limit" ]; then limit=$(left); fi
  if [ "$limit" -lt 30 ]; then echo "skip $name: budget spent"; return; fi
  nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv,noheader,nounits -l 1 \
    > "$OUT/util_$name.csv" 2>/dev/null &
  local smi=$!
  if [ "$SMOKE" = 1 ]; then set -- "$@" --size nano --max-steps 4 --log-every 2 --batch-size 4; fi
  timeout "$limit" "$@" --device "$DEVICE" --log-file "$OUT/train_$name.jsonl"
  echo "run $name exit $?"
  kill "$smi" 2>/dev/null || true
  wait "$smi" 2>/dev/null || true
}
if [ "$HAVE_ARROW" = 1 ]; then
  SRC_MLM128=("$SHARDS/mlm128"); SRC_MLM512=("$SHARDS/mlm512"); SRC_LM128=("$SHARDS/lm128")
else  # no pyarrow: the same demo rows held in memory (loader speed then excludes mmap reads)
  SRC_MLM128=(none --synthetic mlm --seq-len 128); SRC_MLM512=(none --synthetic mlm --seq-len 512)
  SRC_LM128=(none --synthetic lm --seq-len 128)
fi
run roberta_base_seq128 150 $PY examples/pretrain.py "${SRC_MLM128[@]}" --size base --batch-size 64 \
    --max-steps 400 --workers 2 --log-every 50
run roberta_base_seq512 150 $PY examples/pretrain.py "${SRC_MLM512[@]}" --size base --batch-size 32 \
    --max-steps 200 --workers 2 --log-every 25
run gpt2_base_seq128 120 $PY examples/pretrain.py "${SRC_LM128[@]}" --size base --batch-size 64 \
    --max-steps 300 --workers 2 --log-every 50
# The DDP code path (one process; NCCL init, rank split, all_gather of loader state).
if command -v torchrun >/dev/null; then
  run ddp1_roberta_medium 90 torchrun --standalone --nproc_per_node 1 examples/pretrain.py "${SRC_MLM128[@]}" \
      --size medium --batch-size 64 --max-steps 100 --workers 1 --log-every 25 --save-state "$TMPD/ddp_state.pt"
fi

# -- 4. loader-only throughput on this box's CPUs ----------------------------------------------
if [ "$HAVE_ARROW" = 1 ] && [ "$(left)" -gt 100 ]; then
  if [ "$SMOKE" = 1 ]; then BENCH=(--rows 512 --batches 5); else BENCH=(--rows 8192 --batches 150); fi
  timeout 100 $PY benchmarks/bench_feed.py "${BENCH[@]}" --out "$OUT/bench_feed.md" || echo "bench_feed failed"
fi

# -- 5. summary -----------------------------------------------------------------------------------
timeout 60 $PY - "$OUT" <<'EOF' | tee "$OUT/summary.md"
import csv, json, sys
from pathlib import Path
out = Path(sys.argv[1])
print("| run | steps | first loss | last loss | steady samples/s | tokens/s | data wait | GPU util mean / max (%) | GPU mem max (MiB) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for log in sorted(out.glob("train_*.jsonl")):
    name = log.stem[len("train_"):]
    recs = [json.loads(l) for l in log.read_text().splitlines() if l.strip()]
    steps = [r for r in recs if "loss" in r]
    done = next((r for r in recs if r.get("event") == "done"), {})
    steady = steps[1:] or steps  # the first window holds start-up and warm-up
    sps = sum(r["samples_per_s"] for r in steady) / len(steady) if steady else 0
    tps = sum(r["tokens_per_s"] for r in steady) / len(steady) if steady else 0
    wait = sum(r["data_wait_share"] for r in steady) / len(steady) if steady else 0
    util, mem = [], []
    try:
        for row in csv.reader((out / f"util_{name}.csv").open()):
            if len(row) >= 3:
                util.append(float(row[1])); mem.append(float(row[2]))
    except (OSError, ValueError):
        pass
    busy = [u for u in util if u > 0] or [0]
    print(f"| {name} | {done.get('steps', len(steps))} | {steps[0]['loss'] if steps else '-'} | "
          f"{steps[-1]['loss'] if steps else '-'} | {sps:,.0f} | {tps:,.0f} | {wait:.1%} | "
          f"{sum(busy)/len(busy):.0f} / {max(util or [0]):.0f} | {max(mem or [0]):,.0f} |")
print()
print("GPU util mean counts samples with util > 0 (model build and start-up excluded).")
EOF
echo "gpu_check finished in $(( $(date +%s) - START )) s"
