"""A0 global conventions: float64, ddof, round half up, POMP, the 20% missing rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.conventions import (
    ALGORITHM_VERSION,
    as_float_array,
    complete_rows,
    display_percentile,
    display_score,
    display_t,
    is_insufficient_data,
    pearson_r,
    pomp,
    population_sd,
    round_half_up,
    round_half_up_to_int,
    sample_sd,
    sample_variance,
)
from scoring.errors import InsufficientDataError, InvalidInputError, ScoringError, ZeroVarianceError


def test_a0_rounding_to_integers_is_half_up_not_bankers():
    # A0: "Do NOT use Python round(), which uses banker's rounding (round(4.5) == 4)."
    assert round(4.5) == 4
    assert round_half_up_to_int(4.5) == 5
    assert round_half_up_to_int(5.5) == 6
    assert round_half_up_to_int(-2.5) == -2
    assert round_half_up_to_int(4.4999999) == 4


def test_a0_display_precision_scores_4dp_t_and_percentiles_1dp():
    # A0: R_SJT = 0.5411392 is carried unrounded and displayed as 0.5411.
    assert display_score(0.5411392) == 0.5411
    assert display_score(0.60975609) == 0.6098
    assert display_t(52.74261) == 52.7
    assert display_t(52.75) == 52.8
    assert display_percentile(60.8058) == 60.8
    assert display_percentile(64.95) == 65.0


def test_a0_round_half_up_uses_the_decimal_shown():
    assert round(2.675, 2) == 2.67  # binary float below the half
    assert round_half_up(2.675, 2) == 2.68
    assert round_half_up(0.5) == 1.0
    assert round_half_up(-0.5) == 0.0
    assert round_half_up(-2.5) == -2.0
    assert round_half_up(1e30, 4) == 1e30


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "x", None])
def test_a0_rounding_refuses_non_numbers(bad):
    with pytest.raises(InvalidInputError):
        round_half_up(bad)
    with pytest.raises(InvalidInputError):
        round_half_up_to_int(bad)


def test_a0_sample_sd_uses_ddof_1_and_profile_sd_ddof_0():
    values = [6, 5, 5, 6, 5]
    assert sample_sd(values) == pytest.approx(0.5477, abs=1e-4)
    assert sample_sd(values) == pytest.approx(np.std(values, ddof=1))
    assert population_sd(values) == pytest.approx(np.std(values, ddof=0))
    assert sample_variance([1.0, 3.0]) == 2.0


def test_a0_sd_needs_enough_values():
    with pytest.raises(InsufficientDataError):
        sample_sd([1.0])
    with pytest.raises(InsufficientDataError):
        population_sd([])


def test_a0_pomp_is_proportion_of_maximum_possible():
    assert pomp(1.0, -2.0, 2.0) == 0.75
    assert pomp(-2.0, -2.0, 2.0) == 0.0
    assert pomp(-2.0, -15.8, 0.0) == pytest.approx(0.8734, abs=1e-4)
    assert pomp(1.0 + 1e-12, 0.0, 1.0) == 1.0  # float slack is clipped


@pytest.mark.parametrize(
    ("score", "low", "high"), [(3.0, -2.0, 2.0), (0.0, 1.0, 1.0), (0.0, 2.0, 1.0), (math.nan, 0, 1)]
)
def test_a0_pomp_refuses_scores_off_their_range(score, low, high):
    with pytest.raises(InvalidInputError):
        pomp(score, low, high)


def test_a0_missing_more_than_20_percent_is_insufficient():
    assert not is_insufficient_data(0, 5)
    assert not is_insufficient_data(1, 5)  # exactly 20%
    assert is_insufficient_data(2, 9)  # 22%
    assert not is_insufficient_data(8, 40)
    assert is_insufficient_data(9, 40)
    assert is_insufficient_data(0, 0)  # a scale without items has no score


@pytest.mark.parametrize(("missing", "items"), [(-1, 5), (6, 5), (0, -1)])
def test_a0_missing_counts_must_make_sense(missing, items):
    with pytest.raises(InvalidInputError):
        is_insufficient_data(missing, items)


def test_a0_listwise_deletion_drops_rows_with_a_missing_value():
    matrix = [[1.0, 0.5], [np.nan, 1.0], [0.0, 0.0]]
    assert complete_rows(matrix).tolist() == [[1.0, 0.5], [0.0, 0.0]]
    with pytest.raises(InvalidInputError):
        complete_rows([1.0, 2.0])


def test_a0_arrays_are_float64_and_finite():
    assert as_float_array([1, 2]).dtype == np.float64
    with pytest.raises(InvalidInputError):
        as_float_array([1.0, np.inf], allow_nan=True)
    with pytest.raises(InvalidInputError):
        as_float_array([1.0, np.nan])
    with pytest.raises(InvalidInputError):
        as_float_array(["a"])


def test_a0_pearson_r_and_its_errors():
    assert pearson_r([6, 3, 4, 1], [5.4, 2.1, 3.8, 1.3]) == pytest.approx(0.97305, abs=1e-5)
    with pytest.raises(ZeroVarianceError):
        pearson_r([1, 1, 1], [1, 2, 3])
    with pytest.raises(InvalidInputError):
        pearson_r([1, 2], [1, 2, 3])
    with pytest.raises(InsufficientDataError):
        pearson_r([1], [1])


def test_errors_share_one_base_class():
    assert issubclass(ZeroVarianceError, ScoringError)
    assert issubclass(ScoringError, ValueError)


def test_the_algorithm_version_is_semantic():
    assert len(ALGORITHM_VERSION.split(".")) == 3
