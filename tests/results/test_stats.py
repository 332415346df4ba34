"""patchbench.results.stats on constructed samples: known distributions, fixed seeds."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
from scipy import stats as sps

from patchbench.results import stats
from patchbench.results.stats import compare_samples, verdict

LATENCY = "mean_ttft_ms"
THROUGHPUT = "tokens_per_second"


def lognormal(rng: np.random.Generator, n: int, median: float, cv: float) -> np.ndarray:
    return median * rng.lognormal(0.0, math.sqrt(math.log(1 + cv * cv)), n)


# --- the verdict rule -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "expected"),
    [
        (5.1, 9.0, "beats"),
        (-9.0, -5.1, "worse"),
        (-5.0, 5.0, "similar"),  # the band's edges belong to it
        (-1.0, 1.0, "similar"),
        (-1.0, 6.0, "inconclusive"),  # straddles +band
        (4.0, 20.0, "inconclusive"),
        (5.0, 20.0, "inconclusive"),  # touches the band: not wholly beyond it
        (-20.0, -5.0, "inconclusive"),
        (-20.0, 20.0, "inconclusive"),
        (None, None, "inconclusive"),
        (1.0, None, "inconclusive"),
        (float("nan"), 1.0, "inconclusive"),
    ],
)
def test_verdict_rule(low, high, expected):
    assert verdict(low, high, 5.0) == expected


def test_verdict_band_zero_and_bad_input():
    assert verdict(0.0, 0.0, 0.0) == "similar"
    assert verdict(0.1, 0.2, 0.0) == "beats"
    with pytest.raises(ValueError):
        verdict(-1.0, 1.0, -5.0)
    with pytest.raises(ValueError):
        verdict(2.0, 1.0, 5.0)


# --- the exact null distribution of U ---------------------------------------------------------


@pytest.mark.parametrize(("m", "n"), [(1, 1), (1, 4), (3, 3), (3, 5), (7, 4), (8, 8), (10, 12)])
def test_u_distribution_matches_scipy_exact_p_values(m, n):
    rng = np.random.default_rng(m * 100 + n)
    cdf = stats._u_cdf(m, n)
    assert cdf.size == m * n + 1 and cdf[-1] == pytest.approx(1.0)
    for _ in range(10):
        x, y = rng.random(m), rng.random(n)
        u = int(sps.mannwhitneyu(x, y).statistic)
        p_less = sps.mannwhitneyu(x, y, alternative="less", method="exact").pvalue
        assert cdf[u] == pytest.approx(p_less, rel=1e-9, abs=1e-15)


def test_attainable_confidence_and_min_repeats():
    assert stats.attainable_confidence(3, 3) == pytest.approx(0.9)
    assert stats.attainable_confidence(3, 4) == pytest.approx(1 - 2 / 35)
    assert stats.attainable_confidence(4, 4) == pytest.approx(1 - 2 / 70)
    assert stats.attainable_confidence(0, 4) == 0.0
    assert stats.min_repeats(0.95) == 4
    assert stats.min_repeats(0.99) == 5
    assert stats.min_repeats(0.90) == 3


def test_normal_approximation_picks_nearly_the_exact_order_statistic():
    for m, n in [(50, 50), (60, 45), (80, 30)]:
        cdf = stats._u_cdf(m, n)
        exact = int(np.flatnonzero(cdf <= 0.025)[-1]) + 1
        mean, sd = m * n / 2, math.sqrt(m * n * (m + n + 1) / 12)
        approx = math.floor(mean - 0.5 + sps.norm.ppf(0.025) * sd) + 1
        assert abs(exact - approx) <= 1
    assert stats._order_statistic(60, 50, 0.95)[2] == stats.METHOD_APPROX
    assert stats._order_statistic(50, 50, 0.95)[2] == stats.METHOD


# --- the interval itself ----------------------------------------------------------------------


def test_four_against_four_is_the_full_range_of_ratios():
    """At 4 vs 4 the only 95% interval is [min x/y, max x/y] (exact confidence 1 - 2/70)."""
    x, y = np.array([90.0, 93.0, 95.0, 91.0]), np.array([100.0, 104.0, 99.0, 101.0])
    ratio, low, high, achieved, method = stats.hodges_lehmann_ratio(x, y, 0.95)
    assert low == pytest.approx(x.min() / y.max())
    assert high == pytest.approx(x.max() / y.min())
    assert achieved == pytest.approx(1 - 2 / 70)
    assert ratio == pytest.approx(math.exp(np.median(np.log(x)[:, None] - np.log(y)[None, :])))
    assert method == stats.METHOD


def test_interval_holds_the_point_estimate_and_is_scale_invariant():
    rng = np.random.default_rng(7)
    x, y = lognormal(rng, 7, 95, 0.1), lognormal(rng, 6, 100, 0.1)
    a = compare_samples(x, y, LATENCY)
    b = compare_samples(x * 1000, y * 1000, LATENCY)
    assert a.ci_low_pct <= a.improvement_pct <= a.ci_high_pct
    for field in ("improvement_pct", "ci_low_pct", "ci_high_pct", "confidence", "p_value"):
        assert getattr(a, field) == pytest.approx(getattr(b, field))


@pytest.mark.parametrize(("n", "n_ref", "cv"), [(5, 5, 0.03), (6, 8, 0.2), (10, 10, 0.1)])
def test_coverage_is_the_exact_confidence(n, n_ref, cv):
    """Over many draws the interval holds the true ratio (0.9) in its stated share of them."""
    rng = np.random.default_rng(1000 + n * 10 + n_ref)
    draws, covered, achieved = 1500, 0, None
    for _ in range(draws):
        x, y = lognormal(rng, n, 90.0, cv), lognormal(rng, n_ref, 100.0, cv)
        _, low, high, achieved, _ = stats.hodges_lehmann_ratio(x, y, 0.95)
        covered += low <= 0.9 <= high
    share = covered / draws
    margin = 3 * math.sqrt(achieved * (1 - achieved) / draws)
    assert achieved >= 0.95
    assert abs(share - achieved) <= margin, (share, achieved)


def test_coverage_of_the_normal_approximation():
    rng = np.random.default_rng(42)
    draws, covered = 400, 0
    for _ in range(draws):
        x, y = lognormal(rng, 60, 90.0, 0.2), lognormal(rng, 50, 100.0, 0.2)
        _, low, high, _, method = stats.hodges_lehmann_ratio(x, y, 0.95)
        covered += low <= 0.9 <= high
    assert method == stats.METHOD_APPROX
    assert abs(covered / draws - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / draws)


# --- verdicts on constructed legs -------------------------------------------------------------


def test_clearly_faster_latency_beats():
    rng = np.random.default_rng(1)
    agent, human = lognormal(rng, 5, 80.0, 0.03), lognormal(rng, 5, 100.0, 0.03)
    c = compare_samples(agent, human, LATENCY, band_pct=5.0)
    assert c.verdict == "beats"
    assert 5.0 < c.ci_low_pct <= c.improvement_pct <= c.ci_high_pct
    assert c.improvement_pct == pytest.approx(20.0, abs=4.0)
    assert c.p_value < 0.05
    assert (c.n, c.n_ref) == (5, 5)
    assert c.median == pytest.approx(float(np.median(agent)))
    assert c.median_ref == pytest.approx(float(np.median(human)))


def test_clearly_slower_latency_is_worse_and_swapping_legs_flips_the_sign():
    rng = np.random.default_rng(2)
    agent, human = lognormal(rng, 6, 125.0, 0.03), lognormal(rng, 6, 100.0, 0.03)
    c = compare_samples(agent, human, LATENCY)
    assert c.verdict == "worse" and c.ci_high_pct < -5.0
    swapped = compare_samples(human, agent, LATENCY)
    assert swapped.verdict == "beats"
    # ratio r becomes 1/r: latency improvement 1 - r against 1 - 1/r
    r = 1 - c.improvement_pct / 100
    assert swapped.improvement_pct == pytest.approx((1 - 1 / r) * 100)


def test_direction_throughput_higher_is_better():
    rng = np.random.default_rng(3)
    more, fewer = lognormal(rng, 5, 1200.0, 0.03), lognormal(rng, 5, 1000.0, 0.03)
    assert compare_samples(more, fewer, THROUGHPUT).verdict == "beats"
    assert compare_samples(fewer, more, THROUGHPUT).verdict == "worse"
    # the same numbers read as latencies mean the opposite
    assert compare_samples(more, fewer, LATENCY).verdict == "worse"
    up = compare_samples(more, fewer, THROUGHPUT)
    down = compare_samples(more, fewer, LATENCY)
    assert up.improvement_pct > 0 > down.improvement_pct
    assert up.improvement_pct == pytest.approx(-down.improvement_pct)
    assert (up.ci_low_pct, up.ci_high_pct) == pytest.approx((-down.ci_high_pct, -down.ci_low_pct))


def test_single_values_are_iso_benchs_improvement():
    # ISO-Bench: latency (ref - x) / ref, throughput (x - ref) / ref, in percent.
    for metric, x, ref, expected in [
        (LATENCY, 90.0, 100.0, 10.0),
        (THROUGHPUT, 1100.0, 1000.0, 10.0),
        ("duration", 12.0, 10.0, -20.0),
    ]:
        c = compare_samples([x], [ref], metric)
        assert c.improvement_pct == pytest.approx(expected)
        assert c.ci_low_pct is None and c.ci_high_pct is None and c.confidence is None
        assert c.verdict == "inconclusive"
        assert c.p_value == pytest.approx(1.0)


@pytest.mark.parametrize(("cv", "n"), [(0.03, 5), (0.2, 5), (0.2, 10), (0.05, 4)])
def test_a_a_false_positives_stay_under_five_percent(cv, n):
    """Both legs from one distribution: beats/worse in at most 5% of seeds."""
    seeds, false = 400, 0
    for seed in range(seeds):
        rng = np.random.default_rng([16, seed])
        c = compare_samples(lognormal(rng, n, 100.0, cv), lognormal(rng, n, 100.0, cv), LATENCY, band_pct=5.0)
        assert c.verdict in stats.VERDICTS
        false += c.verdict in ("beats", "worse")
    assert false / seeds <= 0.05


def test_a_a_with_a_zero_band_is_a_test_at_five_percent():
    """With no band, an A/A false positive is the interval missing 1: about 1 - confidence, never more."""
    seeds, false = 1000, 0
    for seed in range(seeds):
        rng = np.random.default_rng([17, seed])
        c = compare_samples(lognormal(rng, 8, 100.0, 0.1), lognormal(rng, 8, 100.0, 0.1), LATENCY, band_pct=0.0)
        false += c.verdict in ("beats", "worse")
    assert 0.01 <= false / seeds <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / seeds)


def test_quiet_identical_legs_are_similar():
    rng = np.random.default_rng(5)
    c = compare_samples(lognormal(rng, 10, 100.0, 0.01), lognormal(rng, 10, 100.0, 0.01), LATENCY)
    assert c.verdict == "similar"
    assert -5.0 <= c.ci_low_pct <= c.ci_high_pct <= 5.0


# --- edge cases -------------------------------------------------------------------------------


def test_three_against_three_cannot_reach_95_percent():
    c = compare_samples([80.0, 81.0, 82.0], [100.0, 101.0, 102.0], LATENCY)
    assert c.improvement_pct == pytest.approx(100 * (1 - 81 / 101), abs=0.5)
    assert c.ci_low_pct is None and c.confidence is None
    assert c.verdict == "inconclusive"
    at_90 = compare_samples([80.0, 81.0, 82.0], [100.0, 101.0, 102.0], LATENCY, confidence=0.9)
    assert at_90.verdict == "beats" and at_90.confidence == pytest.approx(0.9)


def test_ties_and_constant_legs():
    same = compare_samples([50.0] * 4, [50.0] * 4, LATENCY)
    assert (same.improvement_pct, same.ci_low_pct, same.ci_high_pct) == (0.0, 0.0, 0.0)
    assert same.verdict == "similar" and same.p_value == 1.0
    many = compare_samples([50.0] * 40, [50.0] * 40, LATENCY)  # too many for the exact permutation p-value
    assert many.verdict == "similar" and many.p_value == 1.0
    shifted = compare_samples([40.0] * 4, [50.0] * 4, LATENCY)
    assert shifted.verdict == "beats"
    assert shifted.ci_low_pct == pytest.approx(20.0) and shifted.ci_high_pct == pytest.approx(20.0)


def test_p_value_with_ties_is_the_exact_permutation_p_value():
    x, y = np.array([10.0, 10.0, 11.0, 12.0]), np.array([11.0, 12.0, 12.0, 13.0, 13.0])
    pooled = np.concatenate([x, y])

    def u_of(idx):
        a = pooled[list(idx)]
        b = np.delete(pooled, list(idx))
        return np.sum(a[:, None] > b[None, :]) + 0.5 * np.sum(a[:, None] == b[None, :])

    observed = u_of(range(4))
    us = np.array([u_of(idx) for idx in itertools.combinations(range(9), 4)])
    # two-sided as scipy's exact and permutation methods define it: twice the smaller one-sided p
    brute = min(1.0, 2 * min(np.mean(us <= observed + 1e-9), np.mean(us >= observed - 1e-9)))
    assert stats.mann_whitney_p(x, y) == pytest.approx(brute)


def test_p_value_without_ties_is_scipys_exact_one():
    rng = np.random.default_rng(8)
    x, y = lognormal(rng, 6, 90.0, 0.05), lognormal(rng, 7, 100.0, 0.05)
    assert compare_samples(x, y, LATENCY).p_value == pytest.approx(sps.mannwhitneyu(x, y, method="exact").pvalue)


def test_missing_values_are_dropped():
    rng = np.random.default_rng(9)
    x, y = lognormal(rng, 5, 90.0, 0.05), lognormal(rng, 5, 100.0, 0.05)
    dirty = compare_samples([*x, None, float("nan"), float("inf")], [float("-inf"), *y, None], LATENCY)
    assert dirty == compare_samples(x, y, LATENCY)
    assert (dirty.n, dirty.n_ref) == (5, 5)


def test_an_empty_leg_gives_nothing_but_its_count():
    c = compare_samples([None, float("nan")], [100.0, 101.0], LATENCY)
    assert (c.n, c.n_ref, c.median, c.median_ref) == (0, 2, None, 100.5)
    assert c.improvement_pct is None and c.p_value is None and c.verdict == "inconclusive"
    assert c.method == stats.METHOD_NONE


def test_zero_values_have_no_ratio():
    """A zero median reference (or any value <= 0) makes the ratio undefined: inconclusive, ranks still tested."""
    zero_ref = compare_samples([1.0, 2.0, 1.0, 3.0], [0.0, 0.0, 0.0, 0.0], "failed")
    assert zero_ref.improvement_pct is None and zero_ref.ci_low_pct is None
    assert zero_ref.verdict == "inconclusive" and zero_ref.method == stats.METHOD_NONE
    assert zero_ref.median_ref == 0.0 and zero_ref.p_value is not None and zero_ref.p_value < 0.05
    one_zero = compare_samples([0.0, 90.0, 91.0, 92.0], [100.0, 101.0, 102.0, 103.0], LATENCY)
    assert one_zero.improvement_pct is None and one_zero.verdict == "inconclusive"
    assert one_zero.median == pytest.approx(90.5)


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError):
        compare_samples([1.0], [1.0], LATENCY, confidence=1.0)
    with pytest.raises(ValueError):
        compare_samples([1.0], [1.0], LATENCY, confidence=0.0)
    with pytest.raises(ValueError):
        compare_samples([1.0], [1.0], LATENCY, band_pct=-1.0)


def test_deterministic_and_cheap():
    rng = np.random.default_rng(10)
    legs = [(lognormal(rng, 10, 95.0, 0.05), np.round(lognormal(rng, 10, 100.0, 0.05))) for _ in range(200)]
    assert compare_samples(*legs[0], LATENCY) == compare_samples(*legs[0], LATENCY)
    started = time.perf_counter()
    for x, y in legs:
        compare_samples(x, y, LATENCY)
    assert (time.perf_counter() - started) / len(legs) < 0.01  # milliseconds per comparison
