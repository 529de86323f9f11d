"""Cross-checks on random data against scipy, statsmodels and direct formulas (Part C references)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.distributions.empirical_distribution import ECDF
from statsmodels.stats.weightstats import DescrStatsW

from scoring.competencies import weighted_pomp_score
from scoring.items import Form, KeyedItem, RankResponse, RatingResponse
from scoring.norms import build_norm_table, empirical_percentile_array, norm_scores, normal_percentile, z_score
from scoring.reliability import alpha_with_interval, cronbach_alpha, split_half, stratified_alpha
from scoring.rules import decompose_profile_distance, score_form_items, score_item

SEEDS = range(5)


def item_scores(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """POMP-like item scores with a common factor, so alpha is positive."""
    ability = rng.normal(size=(n, 1))
    return np.clip(0.5 + 0.15 * ability + 0.2 * rng.normal(size=(n, k)), 0, 1)


@pytest.mark.parametrize("seed", SEEDS)
def test_alpha_equals_the_covariance_matrix_formula(seed):
    rng = np.random.default_rng(seed)
    data = item_scores(rng, 200, 8)
    cov = np.cov(data, rowvar=False, ddof=1)
    k = data.shape[1]
    assert cronbach_alpha(data) == pytest.approx(k / (k - 1) * (1 - np.trace(cov) / cov.sum()), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_feldt_interval_equals_scipy_f_quantiles(seed):
    rng = np.random.default_rng(seed)
    data = item_scores(rng, 150, 6)
    result = alpha_with_interval(data)
    df1, df2 = 149, 149 * 5
    assert result.lower == pytest.approx(1 - (1 - result.alpha) * stats.f.ppf(0.975, df1, df2), abs=1e-12)
    assert result.upper == pytest.approx(1 - (1 - result.alpha) * stats.f.ppf(0.025, df1, df2), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_split_half_equals_scipy_pearson_with_spearman_brown(seed):
    rng = np.random.default_rng(seed)
    data = item_scores(rng, 120, 7)
    r = stats.pearsonr(data[:, 0::2].sum(1), data[:, 1::2].sum(1)).statistic
    result = split_half(data)
    assert result.r_halves == pytest.approx(r, abs=1e-12)
    assert result.spearman_brown == pytest.approx(2 * r / (1 + r), abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_stratified_alpha_equals_the_direct_formula(seed):
    rng = np.random.default_rng(seed)
    data = item_scores(rng, 100, 9)
    strata = ["a", "b", "c"] * 3
    total = np.var(data.sum(1), ddof=1)
    error = 0.0
    for name in "abc":
        block = data[:, [i for i, s in enumerate(strata) if s == name]]
        error += np.var(block.sum(1), ddof=1) * (1 - cronbach_alpha(block))
    assert stratified_alpha(data, strata).alpha == pytest.approx(1 - error / total, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_rank_rho_equals_scipy_spearmanr(seed):
    rng = np.random.default_rng(seed)
    m = int(rng.integers(3, 8))
    ids = [chr(65 + j) for j in range(m)]
    keys = rng.choice(np.arange(10, 61), size=m, replace=False) / 10
    item = KeyedItem.create("R", "rank", dict(zip(ids, keys, strict=True)))
    order = tuple(rng.permutation(ids))
    candidate = [order.index(o) + 1 for o in ids]
    expected = stats.spearmanr(candidate, -keys).statistic
    assert score_item(item, RankResponse(order)).score == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_rate_std_equals_scipy_pearson_and_zscore(seed):
    rng = np.random.default_rng(seed)
    items, responses, x, k = [], {}, [], []
    for i in range(4):
        keys = rng.choice(np.arange(10, 61), size=4, replace=False) / 10
        ratings = rng.integers(1, 7, size=4)
        item = KeyedItem.create(f"I{i}", "rate", dict(zip("ABCD", keys, strict=True)))
        items.append(item)
        responses[item.item_id] = RatingResponse.of(dict(zip("ABCD", ratings.tolist(), strict=True)))
        x += ratings.tolist()
        k += keys.tolist()
    scores = score_form_items(Form(tuple(items)), responses)
    assert scores.profile.r == pytest.approx(stats.pearsonr(x, k).statistic, abs=1e-12)
    zx, zk = stats.zscore(x, ddof=0), stats.zscore(k, ddof=0)
    assert scores.items[2].score == pytest.approx(-np.mean((zx[8:12] - zk[8:12]) ** 2), abs=1e-12)
    parts = decompose_profile_distance(x, k)
    assert parts.elevation + parts.scatter + parts.shape == pytest.approx(np.mean((np.array(x) - k) ** 2))


@pytest.mark.parametrize("seed", SEEDS)
def test_percentiles_equal_scipy(seed):
    rng = np.random.default_rng(seed)
    norm = np.round(rng.normal(0.5, 0.15, 400), 2)  # rounded so ties occur
    table = build_norm_table(norm, "v")
    raw = np.round(rng.uniform(0, 1, 60), 2)
    expected = [stats.percentileofscore(norm, r, kind="mean") for r in raw]
    np.testing.assert_allclose(empirical_percentile_array(raw, table), expected, atol=1e-9)
    weak, strict = ECDF(norm)(raw), 1 - ECDF(-norm)(-raw)  # statsmodels: <= and < shares
    np.testing.assert_allclose(empirical_percentile_array(raw, table), 50 * (weak + strict), atol=1e-9)
    for r in raw[:10]:
        z = z_score(r, table)
        assert normal_percentile(z) == pytest.approx(100 * stats.norm.cdf((r - norm.mean()) / norm.std(ddof=1)))
    scored = norm_scores(raw, table)
    np.testing.assert_allclose(scored.z, (raw - norm.mean()) / np.std(norm, ddof=1), atol=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_scale_equals_statsmodels_weighted_mean(seed):
    rng = np.random.default_rng(seed)
    pomps = rng.uniform(0, 1, 12)
    weights = rng.choice([0.5, 1.0, 2.0], size=12)
    assert weighted_pomp_score(weights.tolist(), pomps.tolist()).raw == pytest.approx(
        DescrStatsW(pomps, weights=weights).mean, abs=1e-12
    )
