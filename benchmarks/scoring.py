"""Scoring benchmark: 100,000 attempts x 40 items of mixed formats, scored with norms and alpha.

Target (shared performance spec): at most 2 s on one core. Run from the repository root:

    .venv/bin/python benchmarks/scoring.py --check

Prints one line per figure; with --check exits 1 when the target is missed. Appends a row to
benchmarks/RESULTS.md (date, commit, command, figure) unless --no-record is given. The synthetic data
comes from numpy's default_rng with a fixed seed (randomness lives here, never in scoring/).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# One core: pin BLAS/OpenMP thread pools before numpy is imported.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

from scoring import ALGORITHM_VERSION  # noqa: E402
from scoring.batch import CompiledForm, compile_form, score_batch  # noqa: E402
from scoring.items import Form, KeyedItem, ResponseFormat, ScoringRule  # noqa: E402
from scoring.norms import build_norm_table, norm_scores  # noqa: E402
from scoring.reliability import alpha_with_interval  # noqa: E402

TARGET_SECONDS = 2.0
ATTEMPTS = 100_000
SEED = 20261122
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
HEADER = """# Benchmark results

Each row is one run of a script in `benchmarks/`, appended by the script itself: the date (UTC), the
commit it ran on (`git rev-parse --short HEAD`; `+dirty` when the measured code had uncommitted changes), the
command, and the figure against its target from `specs/performance.md`. Rows are never edited; a new
run adds a new row. The machines are shared and noisy, so compare rows of the same machine.

| date (UTC) | commit | command | figure | target | result |
|---|---|---|---|---|---|
"""

# 40 items: 16 rate (5 options), 8 most/least, 8 single best, 8 rank (4 options); every rule appears.
LAYOUT = (
    [(ResponseFormat.RATE, ScoringRule.RATE_STD, 5)] * 12
    + [(ResponseFormat.RATE, ScoringRule.RATE_ABS_DISTANCE, 5)] * 2
    + [(ResponseFormat.RATE, ScoringRule.RATE_SQ_DISTANCE, 5)] * 2
    + [(ResponseFormat.MOST_LEAST, ScoringRule.MOST_LEAST, 5)] * 6
    + [(ResponseFormat.MOST_LEAST, ScoringRule.MOST_LEAST_KEYDIFF, 4)] * 2
    + [(ResponseFormat.SINGLE_BEST, ScoringRule.SINGLE_BEST, 4)] * 6
    + [(ResponseFormat.SINGLE_BEST, ScoringRule.SINGLE_BEST_PARTIAL, 5)] * 2
    + [(ResponseFormat.RANK, ScoringRule.RANK_RHO, 4)] * 6
    + [(ResponseFormat.RANK, ScoringRule.RANK_ABS, 4)] * 2
)
COMPETENCIES = ("professionalism", "collaboration", "communication", "resilience", "customer_focus")


def synthetic_form(rng: np.random.Generator) -> Form:
    """40 keyed items in a shuffled order, each keyed to one or two of five competencies."""
    order = rng.permutation(len(LAYOUT))
    items = []
    for number, position in enumerate(order):
        response_format, rule, m = LAYOUT[position]
        keys = rng.permutation(np.linspace(1.3, 5.6, m))
        first, second = rng.choice(len(COMPETENCIES), size=2, replace=False)
        items.append(
            KeyedItem.create(
                f"SJT-{number:03d}",
                response_format,
                {chr(65 + j): float(k) for j, k in enumerate(keys)},
                rule=rule,
                weights={COMPETENCIES[first]: 1.0, COMPETENCIES[second]: 0.5},
            )
        )
    return Form(tuple(items), competencies=COMPETENCIES)


def synthetic_responses(rng: np.random.Generator, compiled: CompiledForm, n: int, missing: float = 0.02) -> np.ndarray:
    """Encoded responses (n x items x options) loosely following the key, with some unanswered items."""
    form = compiled.form
    width = compiled.max_options
    data = np.full((n, len(form.items), width), np.nan)
    ability = rng.normal(size=n)
    for i, item in enumerate(form.items):
        m = len(item.options)
        keys = compiled.keys[i, :m]
        utility = keys[None, :] * (0.6 + 0.3 * ability[:, None]) + rng.gumbel(size=(n, m))
        order = np.argsort(-utility, axis=1)
        if item.response_format is ResponseFormat.RATE:
            noise = rng.normal(0.0, 1.0, size=(n, m))
            data[:, i, :m] = np.clip(np.rint(keys[None, :] + noise + 0.3 * ability[:, None]), 1, 6)
        elif item.response_format is ResponseFormat.SINGLE_BEST:
            data[:, i, :m] = 0.0
            data[np.arange(n), i, order[:, 0]] = 1.0
        elif item.response_format is ResponseFormat.MOST_LEAST:
            data[:, i, :m] = 0.0
            data[np.arange(n), i, order[:, 0]] = 1.0
            data[np.arange(n), i, order[:, -1]] = -1.0
        else:
            ranks = np.empty_like(order)
            np.put_along_axis(ranks, order, np.arange(1, m + 1)[None, :], axis=1)
            data[:, i, :m] = ranks
        data[rng.random(n) < missing, i, :] = np.nan
    return data


def pin_to_one_core() -> str:
    """Restrict this process to one CPU (Linux); return a description for the printout."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity); BLAS threads = 1"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}; BLAS threads = 1"


def run(attempts: int) -> dict[str, float]:
    """Build the data, then time scoring + norms + alpha; return the figures in seconds."""
    rng = np.random.default_rng(SEED)
    compiled = compile_form(synthetic_form(rng))
    calibration = score_batch(compiled, synthetic_responses(rng, compiled, 2_000))
    table = build_norm_table(calibration.overall[~np.isnan(calibration.overall)], "bench-norm-1")
    responses = synthetic_responses(rng, compiled, attempts)

    start = time.perf_counter()
    scores = score_batch(compiled, responses)
    scored = time.perf_counter()
    normed = norm_scores(scores.overall, table)
    norms_done = time.perf_counter()
    alpha = alpha_with_interval(scores.item_pomp)
    end = time.perf_counter()
    assert normed.z.shape == (attempts,)
    return {
        "score_batch_s": scored - start,
        "norms_s": norms_done - scored,
        "alpha_s": end - norms_done,
        "total_s": end - start,
        "alpha": alpha.alpha,
        "alpha_n": float(alpha.n),
    }


def commit() -> str:
    """The short commit, with +dirty when scoring/ or this script has uncommitted changes."""
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    paths = ["scoring", "benchmarks/scoring.py"]
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", *paths], cwd=ROOT, capture_output=True)
    return head.stdout.strip() + ("+dirty" if dirty.returncode else "")


def record(command: str, total: float) -> None:
    """Append one row to benchmarks/RESULTS.md (created with its header when absent)."""
    if not RESULTS.exists():
        RESULTS.write_text(HEADER, encoding="utf-8")
    date = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M")
    verdict = "met" if total <= TARGET_SECONDS else "MISSED"
    figure = f"{ATTEMPTS:,} attempts x 40 items scored + norms + alpha in {total:.3f} s (one core)"
    row = f"| {date} | {commit()} | `{command}` | {figure} | <= {TARGET_SECONDS:.0f} s | {verdict} |\n"
    with RESULTS.open("a", encoding="utf-8") as handle:
        handle.write(row)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures, record them, and with --check return 1 on a miss."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the 2 s target is missed")
    parser.add_argument("--attempts", type=int, default=ATTEMPTS, help=argparse.SUPPRESS)
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    core = pin_to_one_core()
    figures = run(args.attempts)
    print(f"algorithm_version: {ALGORITHM_VERSION}")
    print(f"one core: {core}")
    print(f"attempts x items: {args.attempts} x 40 (mixed formats, all nine rules)")
    print(f"score_batch: {figures['score_batch_s']:.3f} s")
    print(f"norms (z, T, sten, stanine, percentile): {figures['norms_s']:.3f} s")
    print(f"alpha + Feldt interval (listwise N = {figures['alpha_n']:.0f}): {figures['alpha_s']:.3f} s")
    print(f"total: {figures['total_s']:.3f} s (target <= {TARGET_SECONDS:.1f} s)")
    if not args.no_record and args.attempts == ATTEMPTS:
        record(shlex.join(["benchmarks/scoring.py", *(argv if argv is not None else sys.argv[1:])]), figures["total_s"])
    if args.check and figures["total_s"] > TARGET_SECONDS:
        print("FAILED: the scoring target is missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
