"""Which interval for "how much faster is this leg"? Coverage and A/A false positives by simulation.

For each scenario (a distribution of one leg's repeated timings, n repeats per
leg) this draws ``--reps`` pairs of legs with a fixed seed and measures, for
every candidate 95% interval of the ratio ``sample / reference``:

* ``cover``: the share of intervals that contain the true ratio (nominal 95%;
  below it the method is anti-conservative). Both legs come from the same
  distribution (an A/A pair, true ratio 1); every candidate is scale-equivariant,
  so the coverage is the same at any true ratio.
* ``none``: the share of draws where the method gave no interval (it cannot at
  this n, or it failed: NaN), which count as ``inconclusive``.
* ``A/A FP``: the share of A/A pairs called ``beats`` or ``worse`` with a ±5% band
  (the issue requires <= 5%); ``similar``: those called ``similar``.
* ``power``: the share called ``beats`` when the leg is truly 15% faster.

Candidates:

* ``HL-exact``: patchbench.results.stats (Hodges-Lehmann shift of log values,
  interval from the exact null distribution of Mann-Whitney U).
* ``boot-pct`` / ``boot-BCa``: ``scipy.stats.bootstrap`` of the ratio of medians,
  percentile and BCa, ``--resamples`` resamples.
* ``welch-log``: Welch's t interval on log values (``scipy.stats.ttest_ind``), a
  parametric reference that is exact only for log-normal timings.

Distributions: log-normal with a CV of 3% and of 20%, and a contaminated one
(CV 3%, each run 30% slower with probability 0.1, the odd GPU hiccup).

Run from the repository root with the venv:
    .venv/bin/python benchmarks/stats_coverage.py [--reps 2000] [--resamples 2000]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from patchbench.results import stats

METRIC = "latency_avg_ms"  # lower is better: improvement = (1 - ratio) * 100
BAND = 5.0
CONFIDENCE = 0.95
POWER_RATIO = 0.85


def sigma(cv: float) -> float:
    return math.sqrt(math.log(1.0 + cv * cv))


def lognormal(cv: float):
    def draw(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        return 100.0 * rng.lognormal(0.0, sigma(cv), shape)

    return draw


def contaminated(cv: float, p: float, slow: float):
    def draw(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        base = 100.0 * rng.lognormal(0.0, sigma(cv), shape)
        return np.where(rng.random(shape) < p, base * slow, base)

    return draw


DISTRIBUTIONS = {
    "lognormal CV 3%": lognormal(0.03),
    "lognormal CV 20%": lognormal(0.20),
    "CV 3% + 10% runs 1.3x": contaminated(0.03, 0.10, 1.3),
}


def hl_exact(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.full((x.shape[0], 2), np.nan)
    for i in range(x.shape[0]):
        _, low, high, _, _ = stats.hodges_lehmann_ratio(x[i], y[i], CONFIDENCE)
        if low is not None:
            out[i] = low, high
    return out


def _ratio_of_medians(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(x, axis=axis) / np.median(y, axis=axis)


def bootstrap(method: str, resamples: int, seed: int):
    def interval(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sps.bootstrap(
                (x, y), _ratio_of_medians, n_resamples=resamples, batch=200, vectorized=True,
                axis=-1, confidence_level=CONFIDENCE, method=method, rng=np.random.default_rng(seed),
            )  # fmt: skip
        return np.column_stack([res.confidence_interval.low, res.confidence_interval.high])

    return interval


def welch_log(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ci = sps.ttest_ind(np.log(x), np.log(y), axis=-1, equal_var=False).confidence_interval(CONFIDENCE)
    return np.exp(np.column_stack([ci.low, ci.high]))


def verdicts(ratio_intervals: np.ndarray) -> np.ndarray:
    out = []
    for low, high in ratio_intervals:
        if np.isnan(low) or np.isnan(high):
            out.append("inconclusive")
            continue
        pct = sorted((stats.ratio_to_pct(low, METRIC), stats.ratio_to_pct(high, METRIC)))
        out.append(stats.verdict(pct[0], pct[1], BAND))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--n", type=int, nargs="+", default=[3, 4, 5, 10])
    parser.add_argument("--seed", type=int, default=20240616)
    args = parser.parse_args()
    methods = {
        "HL-exact": hl_exact,
        "boot-pct": bootstrap("percentile", args.resamples, args.seed),
        "boot-BCa": bootstrap("BCa", args.resamples, args.seed),
        "welch-log": welch_log,
    }
    mc = 100 * 1.96 * math.sqrt(0.05 * 0.95 / args.reps)
    print(f"{args.reps} draws per cell (Monte Carlo 95% margin on a 95% coverage: ±{mc:.1f} points), band ±{BAND}%")
    print(
        f"{'distribution':<24}{'n':>3}  {'method':<10}{'cover':>7}{'none':>7}"
        f"{'A/A FP':>8}{'similar':>9}{'power':>7}  time"
    )
    for d_index, (name, draw) in enumerate(DISTRIBUTIONS.items()):
        for n in args.n:
            rng = np.random.default_rng([args.seed, d_index, n])
            x, y = draw(rng, (args.reps, n)), draw(rng, (args.reps, n))
            faster = POWER_RATIO * draw(rng, (args.reps, n))
            for method, interval in methods.items():
                started = time.perf_counter()
                aa = interval(x, y)
                effect = interval(faster, y)
                elapsed = time.perf_counter() - started
                has = ~np.isnan(aa).any(axis=1)
                cover = np.mean((aa[has, 0] <= 1.0) & (1.0 <= aa[has, 1])) if has.any() else float("nan")
                called = verdicts(aa)
                fp = np.mean(np.isin(called, ["beats", "worse"]))
                similar = np.mean(called == "similar")
                power = np.mean(verdicts(effect) == "beats")
                cover_text = f"{100 * cover:6.1f}%" if has.any() else "    n/a"
                print(
                    f"{name:<24}{n:>3}  {method:<10}{cover_text}{100 * (1 - has.mean()):6.1f}%"
                    f"{100 * fp:7.1f}%{100 * similar:8.1f}%{100 * power:6.1f}%  {elapsed:.1f}s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
