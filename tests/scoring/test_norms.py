"""A4 norms: z, T, sten, stanine, percentiles and their N thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from scoring.conventions import ScoreFlag, display_percentile, display_t
from scoring.errors import EmptyNormGroupError, InvalidInputError, ZeroVarianceError
from scoring.norms import (
    NormTable,
    PercentileKind,
    build_norm_table,
    empirical_percentile,
    empirical_percentile_array,
    norm_score,
    norm_scores,
    normal_percentile,
    stanine,
    stanine_array,
    sten,
    sten_array,
    t_for_display,
    t_score,
    z_score,
)

R_SJT = 0.5411392405063291  # A3's overall score, unrounded
EMPIRICAL_NORM = [0.40, 0.45, 0.50, 0.50, 0.55, 0.60, 0.62, 0.70, 0.41, 0.52]


def test_a4_worked_example():
    # R_SJT = 0.5411 (unrounded 0.5411392), M = 0.50, SD = 0.15.
    table = NormTable("2026-11-A", 250, 0.50, 0.15)
    z = z_score(R_SJT, table)
    assert z == pytest.approx(0.2743, abs=1e-4)
    assert z_score(0.5411, table) == pytest.approx(0.2740, abs=1e-4)  # the rounded input differs
    assert display_t(t_score(z)) == 52.7
    assert 5.5 + 2 * z == pytest.approx(6.0485, abs=1e-4)
    assert sten(z) == 6
    assert stanine(z) == 6
    assert display_percentile(normal_percentile(z)) == 60.8
    scored = norm_score(R_SJT, table)
    assert (scored.sten, scored.stanine) == (6, 6)
    assert scored.percentile_kind is PercentileKind.ESTIMATED  # 100 <= N < 300
    assert scored.percentile == pytest.approx(60.8, abs=0.05)


def test_a4_empirical_percentile_worked_example():
    table = build_norm_table(EMPIRICAL_NORM, "toy")
    assert empirical_percentile(0.55, table) == pytest.approx(65.0, abs=1e-12)
    assert stats.percentileofscore(EMPIRICAL_NORM, 0.55, kind="mean") == pytest.approx(65.0)
    assert stats.percentileofscore(EMPIRICAL_NORM, 0.55, kind="weak") == pytest.approx(70.0)
    assert stats.percentileofscore(EMPIRICAL_NORM, 0.55, kind="strict") == pytest.approx(60.0)


def test_a4_percentile_thresholds():
    rng = np.random.default_rng(4)
    small = build_norm_table(rng.normal(0.5, 0.15, 99), "n99")
    scored = norm_score(0.6, small)
    assert scored.percentile is None
    assert scored.percentile_kind is None
    assert {ScoreFlag.SMALL_NORM_GROUP, ScoreFlag.NO_PERCENTILE} <= scored.flags
    medium = build_norm_table(rng.normal(0.5, 0.15, 299), "n299")
    assert norm_score(0.6, medium).percentile_kind is PercentileKind.ESTIMATED
    large = build_norm_table(rng.normal(0.5, 0.15, 300), "n300")
    scored = norm_score(0.6, large)
    assert scored.percentile_kind is PercentileKind.EMPIRICAL
    assert scored.percentile == pytest.approx(stats.percentileofscore(large.scores, 0.6, kind="mean"))
    summary_only = NormTable("summary", 500, 0.5, 0.15)
    assert norm_score(0.6, summary_only).percentile_kind is PercentileKind.ESTIMATED


@pytest.mark.parametrize(
    ("z", "expected_sten", "expected_stanine"),
    [
        (-3.0, 1, 1),
        (-2.25, 1, 1),
        (-1.0, 4, 3),
        (-0.25, 5, 5),
        (0.0, 6, 5),
        (0.25, 6, 6),
        (1.0, 8, 7),
        (2.25, 10, 9),
        (9.0, 10, 9),
    ],
)
def test_a4_sten_and_stanine_round_half_up_and_clip(z, expected_sten, expected_stanine):
    assert sten(z) == expected_sten
    assert stanine(z) == expected_stanine
    assert sten_array([z])[0] == expected_sten
    assert stanine_array([z])[0] == expected_stanine


def test_a4_t_is_clipped_for_display_only():
    assert t_score(-4.0) == 10.0
    assert t_for_display(10.0) == 20.0
    assert t_for_display(85.04) == 80.0
    assert t_for_display(52.74) == 52.7


def test_a4_vectorized_norm_scores_match_the_scalar_ones():
    rng = np.random.default_rng(7)
    table = build_norm_table(rng.normal(0.5, 0.15, 400), "n400")
    raw = np.append(rng.uniform(0, 1, 50), np.nan)
    batch = norm_scores(raw, table)
    for i, value in enumerate(raw[:-1]):
        single = norm_score(value, table)
        assert batch.z[i] == pytest.approx(single.z, abs=1e-15)
        assert batch.sten[i] == single.sten
        assert batch.stanine[i] == single.stanine
        assert batch.percentile[i] == pytest.approx(single.percentile, abs=1e-12)
    assert math.isnan(batch.z[-1])
    assert math.isnan(batch.sten[-1])
    assert math.isnan(batch.percentile[-1])
    small = norm_scores(raw, build_norm_table(raw[:20], "n20"))
    assert np.isnan(small.percentile).all()


def test_a4_empty_norm_group_raises():
    with pytest.raises(EmptyNormGroupError):
        build_norm_table([], "empty")
    with pytest.raises(EmptyNormGroupError):
        build_norm_table([0.5], "one")
    with pytest.raises(EmptyNormGroupError):
        NormTable("v", 0, 0.5, 0.1)
    with pytest.raises(EmptyNormGroupError):
        empirical_percentile(0.5, NormTable("summary", 500, 0.5, 0.1))
    with pytest.raises(EmptyNormGroupError):
        empirical_percentile_array([0.5], NormTable("summary", 500, 0.5, 0.1))


def test_a4_zero_variance_norm_group_raises():
    with pytest.raises(ZeroVarianceError):
        build_norm_table([0.5, 0.5, 0.5], "flat")
    with pytest.raises(ZeroVarianceError):
        NormTable("v", 10, 0.5, 0.0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, None, "0.5"])
def test_a4_non_finite_scores_raise(bad):
    table = NormTable("v", 200, 0.5, 0.15)
    with pytest.raises(InvalidInputError):
        norm_score(bad, table)


def test_a4_bad_norm_tables_raise():
    with pytest.raises(InvalidInputError):
        build_norm_table([0.5, np.nan, 0.4], "nan")
    with pytest.raises(InvalidInputError):
        NormTable("v", 3, 0.5, 0.1, np.array([0.4, 0.5]))
    with pytest.raises(InvalidInputError):
        NormTable("v", 3, math.nan, 0.1)
    with pytest.raises(InvalidInputError):
        NormTable("v", 3, 0.5, -0.1)


def test_a4_norm_table_scores_are_sorted_and_frozen():
    table = build_norm_table([0.7, 0.2, 0.5], "v")
    assert table.scores is not None
    assert table.scores.tolist() == [0.2, 0.5, 0.7]
    with pytest.raises(ValueError, match="read-only"):
        table.scores[0] = 1.0
    assert table.sd == pytest.approx(np.std([0.7, 0.2, 0.5], ddof=1))
