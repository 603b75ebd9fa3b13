"""Apply deliberate small bugs, one at a time, to a temporary copy of the repo and check that the
tests meant to guard against each one turn red (issue 16).

    python tests/mutation_check.py              # all mutations, then a table
    python tests/mutation_check.py 1 5          # only these ids
    python tests/mutation_check.py --list       # what each mutation does, and where
    python tests/mutation_check.py --repo ../other-tree --overlay-tests 4 5   # another tree, these tests

Each mutation is data: a file, an exact snippet that must occur exactly once in it, its
replacement, and the test files to run. When code moves, re-point a mutation by editing its
``file`` / ``old`` / ``new`` below: a snippet that is no longer found is reported as
``snippet not found`` (not as caught), so a stale entry cannot pass silently.

Exit status 0 only when every selected mutation applies and is caught, and the same tests pass
on the unmutated copy (the baseline; otherwise "caught" would mean nothing).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from conftest import REPO


Edit = tuple[str, str, str]  # (file, exact old snippet, replacement)


@dataclass(frozen=True)
class Mutation:
    """``variants``: alternative ways to make the same bug, one per known shape of the code (e.g. before
    and after a refactor); the first whose every snippet occurs exactly once is applied."""

    id: str
    what: str
    tests: tuple[str, ...]
    variants: tuple[tuple[Edit, ...], ...]


def mutation(id: str, what: str, tests: tuple[str, ...], *variants) -> Mutation:
    """``variants``: (file, old, new) triples, or tuples of them for a bug needing several edits."""
    return Mutation(id, what, tests, tuple((v,) if isinstance(v[0], str) else tuple(v) for v in variants))


MASKING_CONFIG_FILES = ("corpusprep/feed/masking.py", "corpusprep/instances/masking.py")  # before/after the registry

# -- round two (issue 25): each aimed at one test of tests/test_regressions_r2.py / test_catalog_queries.py --
R2 = "tests/test_regressions_r2.py::"
CQ = "tests/test_catalog_queries.py::"
ROUND_TWO = (
    mutation("r2-1", "header-less table: a tie in Chinese per row goes to the last column",
             (R2 + "test_headerless_table_ties_in_chinese_per_row_go_to_the_first_column",),
             ("corpusprep/readers/tables.py", "best = max(range(width), key=lambda i: (zh[i], -i))",
              "best = max(range(width), key=lambda i: (zh[i], i))")),
    mutation("r2-2", "clean: --t2s left out of the options (fingerprint, report.json): a resume reuses work done without it",
             (R2 + "test_every_output_option_changes_the_fingerprint_and_is_in_the_report_options",
              R2 + "test_report_records_the_options_and_resume_with_t2s_added_redoes_the_work"),
             ("corpusprep/cleaning/config.py", 'for k in ("out", "workers", "executor", "ray_address", "progress", "on_error"):',
              'for k in ("out", "workers", "executor", "ray_address", "progress", "on_error", "t2s"):')),
    mutation("r2-3a", "Chinese share exactly at --min-chinese-share dropped (batch path)",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/cleaner.py", "chinese_share_of(batch) < p.min_chinese_share",
              "chinese_share_of(batch) <= p.min_chinese_share")),
    mutation("r2-3b", "Chinese share exactly at --min-chinese-share dropped (per-document path)",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/ops.py", "chinese_share(text) < p.min_chinese_share",
              "chinese_share(text) <= p.min_chinese_share")),
    mutation("r2-4a", "exact dedup keys on the raw text (１２月 and 12月 both kept)",
             (R2 + "test_exact_dedup_keys_on_cleaned_text_and_bytes_out_counts_cleaned_bytes",),
             ("corpusprep/cleaning/unit.py",
              "keys = np.fromiter((h64(d, seed) for d in datas), dtype=np.uint64, count=len(datas))",
              'keys = np.fromiter((h64(raws[i].encode("utf-8", "surrogatepass"), seed) for i in kept), '
              'dtype=np.uint64, count=len(datas))')),
    mutation("r2-4b", "bytes_out counts the raw bytes of kept documents",
             (R2 + "test_exact_dedup_keys_on_cleaned_text_and_bytes_out_counts_cleaned_bytes",),
             ("corpusprep/cleaning/unit.py", 'counts["bytes_out"] += sum(map(len, datas))',
              'counts["bytes_out"] += sum(len(raws[i].encode("utf-8", "surrogatepass")) for i in kept)')),
    mutation("r2-5", "SIGHUP no longer a stop signal (the run dies without stopping its workers or saying why)",
             (R2 + "test_stop_signals_and_their_exit_codes_are_the_documented_ones",
              R2 + "test_sighup_mid_run_exits_129_and_the_rerun_completes"),
             ("corpusprep/lifecycle.py", 'for name in ("SIGINT", "SIGTERM", "SIGHUP")', 'for name in ("SIGINT", "SIGTERM")')),
    mutation("r2-6", "--valid-fraction 1.0 accepted (every document in validation, an empty train split)",
             (R2 + "test_valid_fraction_one_is_refused_in_one_line_exit_2",),
             ("corpusprep/cleaning/pipeline.py", 'opt.number("--valid-fraction", config.valid_fraction, 0.0, 1.0, hi_open=True)',
              'opt.number("--valid-fraction", config.valid_fraction, 0.0, 1.0)')),
    mutation("r2-7a", "build-vocab --extend --max-size N: N counts only the added lines",
             (R2 + "test_build_vocab_extend_with_max_size_writes_at_most_n_lines",),
             ("zh_tokenizers/vocab_build.py", "new = new[: max(0, rules.max_size - len(base))]",
              "new = new[: max(0, rules.max_size)]")),
    mutation("r2-7b", "build-vocab: a --max-size below the header / --extend base no longer refused (writes more than N lines)",
             (R2 + "test_build_vocab_extend_refuses_a_max_size_below_the_base",
              R2 + "test_build_vocab_max_size_below_the_header_is_refused_in_one_line"),
             ("zh_tokenizers/build_vocab_run.py", "    _check_max_size(cfg, base)\n", "")),
    mutation("r2-8", "swap: a previous output the user modified is removed by the next run",
             (R2 + "test_a_previous_output_the_user_modified_survives_the_next_swap",),
             ("corpusprep/outdir/complete.py", "if path.is_file() and not path.is_symlink() and sha256_file(path) == sha:",
              "if path.is_file() and not path.is_symlink():")),
    mutation("r2-9", "build-spm: --character-coverage never reaches sentencepiece (incidental catch before)",
             (R2 + "test_every_trainer_option_of_build_spm_reaches_the_sentencepiece_trainer_spec",),
             ("zh_tokenizers/spm_train.py",
              'for name in ("vocab_size", "model_type", "character_coverage", "max_sentence_length", "max_sentencepiece_length"):',
              'for name in ("vocab_size", "model_type", "max_sentence_length", "max_sentencepiece_length"):')),
    mutation("r2-10", "output ownership: 'inside a folder' is a string prefix (data2/ counts as inside data/; incidental catch before)",
             (R2 + "test_out_inside_an_input_folder_is_refused_and_a_sibling_with_the_same_prefix_is_not",),
             ("corpusprep/outdir/ownership.py", "return child != parent and child.startswith(parent.rstrip(os.sep) + os.sep)",
              "return child != parent and child.startswith(parent.rstrip(os.sep))")),
    mutation("r2-11a", "--min-chars: a document of exactly N characters dropped (batch path)",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/cleaner.py", 'mark("too_short", lengths < max(1, p.min_chars))',
              'mark("too_short", lengths <= max(1, p.min_chars))')),
    mutation("r2-11b", "--min-chars: a document of exactly N characters dropped (per-document path)",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/ops.py", 'return "too_short" if len(text) < max(1, p.min_chars) else None',
              'return "too_short" if len(text) <= max(1, p.min_chars) else None')),
    mutation("r2-11c", "--max-chars: a document of exactly N characters dropped (batch path)",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/cleaner.py", "(lengths > p.max_chars)", "(lengths >= p.max_chars)")),
    mutation("r2-11d", "--max-char-run-share: a share exactly at the threshold dropped (batch path)",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/cleaner.py", "run_share_of(batch) > p.max_char_run_share",
              "run_share_of(batch) >= p.max_char_run_share")),
    mutation("r2-11e", "char_spam: a run of 3 identical characters counted as a run",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/batch.py", "long = lengths >= MIN_RUN", "long = lengths >= MIN_RUN - 1")),
    mutation("r2-11f", "--max-repeated-lines: a share exactly at the threshold dropped",
             (R2 + "test_a_document_exactly_at_a_threshold_is_kept_on_both_paths",),
             ("corpusprep/cleaning/ops.py", "repeated_line_share(text) > p.max_repeated_line_share",
              "repeated_line_share(text) >= p.max_repeated_line_share")),
    mutation("r2-12a", "zoo list --seq-len: only the first recipe stage is looked at",
             (CQ + "test_numeric_and_boolean_filters_partition_the_catalog",),
             ("manifests/views.py", "if q.seq_len is not None and q.seq_len not in [s.seq_length for s in stages]:",
              "if q.seq_len is not None and q.seq_len not in [s.seq_length for s in stages[:1]]:")),
    mutation("r2-12b", "zoo dataset / list --dataset: only a model's first dataset counts",
             (CQ + "test_dataset_shows_every_dataset_with_its_facts_and_models",
              CQ + "test_each_value_filter_returns_exactly_the_matching_models"),
             ("manifests/catalog.py", "isinstance(m.datasets, list) and dataset_id in m.datasets]",
              "isinstance(m.datasets, list) and dataset_id in m.datasets[:1]]")),
    mutation("r2-12c", "zoo render: the RoBERTa grid's hidden sizes in reverse order",
             (CQ + "test_render_roberta_grid_cells_hold_the_model_of_their_layers_and_hidden",),
             ("manifests/render.py", "        for h in _GRID_H:\n            m = grid.get(",
              "        for h in _GRID_H[::-1]:\n            m = grid.get(")),
)


MUTATIONS = (
    mutation("1", "feed order: block offset forgets block_batches (reads 910 of 2,000 rows per epoch)",
             ("tests/test_feed_order_props.py",),
             ("corpusprep/feed/order.py", "lo = block * self.block_batches * self.batch_size",
              "lo = block * self.batch_size")),
    mutation("2", "whole-word masking: word units capped at 2 tokens", ("tests/test_masking_props.py",),
             ("corpusprep/feed/masking.py",
              "    r, s = np.nonzero(is_start & cand)\n    end = nxt[r, s + 1]\n    return r, s, end - s",
              "    r, s = np.nonzero(is_start & cand)\n    end = nxt[r, s + 1]\n    return r, s, np.minimum(end - s, 2)")),
    mutation("3", "dynamic masking: [MASK] share 0.8 -> 0.79", ("tests/test_masking_props.py",),
             *((f, "mask_token_prob: float = 0.8", "mask_token_prob: float = 0.79") for f in MASKING_CONFIG_FILES)),
    mutation("3b", "dynamic masking: selection rate 0.15 -> 0.14", ("tests/test_masking_props.py",),
             *((f, "mask_prob: float = 0.15", "mask_prob: float = 0.14") for f in MASKING_CONFIG_FILES)),
    mutation("4", "pair truncation: tie-break '>' -> '>=' (A trimmed when A and B are equally long)",
             ("tests/test_pair_truncation_uer.py",),
             ("corpusprep/instances/processors.py", "longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b",
              "longer = tokens_a if len(tokens_a) >= len(tokens_b) else tokens_b"),
             ("corpusprep/instances/processors.py", "        if la > lb:\n            la -= 1",  # the O(n) version
              "        if la >= lb:\n            la -= 1")),
    mutation("5", "verify: recorded checksums no longer lower-cased", ("tests/test_verify_checksum_case.py",),
             ("corpusprep/verify.py", 'entry["sha256"].lower()', 'entry["sha256"]'),
             (("corpusprep/verify.py", 'entry["sha256"].strip().lower()', 'entry["sha256"].strip()'),  # with complete.json
              ("corpusprep/verify.py", 'str(f.get("sha256", "")).strip().lower()', 'str(f.get("sha256", "")).strip()'))),
    mutation("6a", "catalog: RoBERTa (char) stage 1 masking dynamic -> static", ("tests/test_catalog_facts.py",),
             ("manifests/data/recipes.yaml",
              "    masking: dynamic\n    full_sentences: false\n    fp16: false\n    save_checkpoint_steps: 100000\n"
              "    report_steps: 50000\n    init_checkpoint: null\n    output_model_path: models/{checkpoint_prefix}_seq128_model.bin\n"
              "    model_flags: []\n    preprocess_flags_printed: '--dynamic_masking --data_processor mlm",
              "    masking: static\n    full_sentences: false\n    fp16: false\n    save_checkpoint_steps: 100000\n"
              "    report_steps: 50000\n    init_checkpoint: null\n    output_model_path: models/{checkpoint_prefix}_seq128_model.bin\n"
              "    model_flags: []\n    preprocess_flags_printed: '--dynamic_masking --data_processor mlm")),
    mutation("6b", "catalog: a dataset URL changed", ("tests/test_catalog_facts.py",),
             ("manifests/data/datasets.yaml", "url: https://github.com/chinese-poetry/chinese-poetry\n",
              "url: https://github.com/chinese-poetry/chinese-poetry-mirror\n")),
    mutation("7a", "dynamic span masking: a chosen span loses its tail (spans no longer whole)",
             ("tests/test_masking_props.py",),
             ("corpusprep/feed/masking.py", "flat, unit_of = _expand(rows[take], starts[take], lens[take], width)",
              "flat, unit_of = _expand(rows[take], starts[take], np.minimum(lens[take], 2), width)")),
    mutation("7b", "dynamic span masking: one 80/10/10 decision per token instead of per span",
             ("tests/test_masking_props.py",),
             ("corpusprep/feed/masking.py", "u = rng.random(n_units)[unit_of]", "u = rng.random(unit_of.size)")),
    mutation("7c", "static span masking: a chosen span records only its first token", ("tests/test_masking_props.py",),
             ("corpusprep/instances/masking.py",
              "            for j in range(i, i + n_tok):\n                picked.append((j, src[j]))",
              "            for j in range(i, i + min(n_tok, 1)):\n                picked.append((j, src[j]))")),
    mutation("8", "example trainer: resume forgets the RNG state (dropout differs after resume)",
             ("tests/test_pretrain_example.py",),
             ("examples/pretrain.py", 'torch.set_rng_state(state["rng"]["torch"].cpu())', "pass")),
    mutation("8b", "feed loader: DataLoader seeds its workers from the global torch RNG (shifts dropout)",
             ("tests/test_feed.py", "tests/test_pretrain_example.py"),
             ("corpusprep/feed/stream.py", "collate_fn=_keep_numpy, generator=torch.Generator(), **kw)",
              "collate_fn=_keep_numpy, **kw)")),
) + ROUND_TWO

_IGNORE = shutil.ignore_patterns(".git", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", ".venv", "build")


def shared_dir() -> Path:
    return Path(os.environ.get("ZOOPREP_SHARED", REPO.parent / "shared")).resolve()


def run_tests(root: Path, tests: tuple[str, ...], timeout: int) -> tuple[int, str]:
    env = dict(os.environ, ZOOPREP_SHARED=str(shared_dir()), PYTHONDONTWRITEBYTECODE="1")
    try:
        done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                              cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return -1, "timed out"
    return done.returncode, done.stdout + done.stderr


def apply(root: Path, m: Mutation) -> str | None:
    """Apply the first variant of ``m`` that fits the code in ``root``; return why none did, or None."""
    problems = []
    for variant in m.variants:
        texts, problem = {}, None
        for file, old, _ in variant:
            path = root / file
            if not path.is_file():
                problem = f"{file}: file not found"
                break
            text = texts.get(file) or path.read_text(encoding="utf-8")
            n = text.count(old)
            if n != 1:
                problem = f"{file}: snippet {'not found' if n == 0 else f'found {n} times'}"
                break
            texts[file] = text
        if problem:
            problems.append(problem)
            continue
        for file, old, new in variant:
            texts[file] = texts[file].replace(old, new)
        for file, text in texts.items():
            (root / file).write_text(text, encoding="utf-8")
        return None
    return "snippet not found (" + "; ".join(problems) + ")"


def _first_failure(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("FAILED ") or line.startswith("ERROR "):
            return line.split(" - ")[0].removeprefix("FAILED ").removeprefix("ERROR ")
    return ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("ids", nargs="*", help="mutation ids (default: all)")
    ap.add_argument("--list", action="store_true", help="describe the mutations and exit")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per test run")
    ap.add_argument("--no-baseline", action="store_true", help="skip the unmutated run")
    ap.add_argument("--repo", type=Path, default=REPO, help="the tree to mutate (default: this checkout)")
    ap.add_argument("--overlay-tests", action="store_true",
                    help="with --repo: use this checkout's conftest.py and the mutations' test files there")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.ids or m.id in args.ids]
    if args.list:
        for m in chosen:
            print(f"{m.id:4s} {m.what}\n     tests: {' '.join(m.tests)}")
            for i, variant in enumerate(m.variants, 1):
                for file, old, new in variant:
                    print(f"     variant {i}: {file}: {old.strip()!r} -> {new.strip()!r}")
        return 0
    unknown = set(args.ids) - {m.id for m in MUTATIONS}
    if unknown:
        print(f"error: unknown mutation ids {sorted(unknown)}", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory(prefix="zooprep-mutants-") as tmp:
        pristine = Path(tmp) / "pristine"
        shutil.copytree(args.repo, pristine, ignore=_IGNORE)
        if args.overlay_tests:
            for name in {"tests/conftest.py", *(t for m in chosen for t in m.tests)}:
                shutil.copy2(REPO / name, pristine / name)
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            t0 = time.monotonic()
            rc, out = run_tests(pristine, tests, args.timeout)
            if rc != 0:
                print(out[-4000:])
                print(f"error: the tests fail without any mutation (rc {rc}, {time.monotonic() - t0:.0f} s): "
                      "fix them before judging mutations", file=sys.stderr)
                return 1
            print(f"baseline: {len(tests)} test files pass unmutated ({time.monotonic() - t0:.0f} s)", flush=True)
        for m in chosen:
            work = Path(tmp) / f"mutant-{m.id}"
            shutil.copytree(pristine, work)
            t0 = time.monotonic()
            problem = apply(work, m)
            if problem:
                status, detail = "snippet not found", problem
            else:
                rc, out = run_tests(work, m.tests, args.timeout)
                if rc == 1:
                    status, detail = "caught", _first_failure(out)
                elif rc == 0:
                    status, detail = "NOT CAUGHT", ""
                else:
                    status, detail = f"error (rc {rc})", out.strip().splitlines()[-1][:100] if out.strip() else ""
            rows.append((m, status, detail, time.monotonic() - t0))
            print(f"  {m.id}: {status} ({time.monotonic() - t0:.0f} s)", flush=True)
            shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"| id | mutation | result | first failing test | s |")
    print(f"|----|----------|--------|--------------------|---|")
    for m, status, detail, secs in rows:
        print(f"| {m.id} | {m.what} | {status} | {detail} | {secs:.0f} |")
    bad = [m.id for m, status, _, _ in rows if status != "caught"]
    print(f"\n{len(rows) - len(bad)} of {len(rows)} mutations caught" + (f"; not caught or not applicable: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
