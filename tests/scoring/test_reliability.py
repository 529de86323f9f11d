"""A5 reliability: alpha with the Feldt interval, split-half, stratified alpha, SEM and bands."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.conventions import pearson_r, round_half_up, sample_sd
from scoring.errors import InsufficientDataError, InvalidInputError, UndefinedStatisticError, ZeroVarianceError
from scoring.items import Form, KeyedItem
from scoring.reliability import (
    ReliabilityStatus,
    alpha_with_interval,
    assign_strata,
    classify_reliability_sample,
    cronbach_alpha,
    feldt_interval,
    score_band,
    sem,
    spearman_brown,
    split_half,
    stratified_alpha,
    t_band,
    t_sem,
)

D = np.array(
    [
        [1, 0.8, 1, 0.6, 0],
        [0, 0.4, 0, 0.2, 1],
        [1, 0.6, 1, 0.8, 1],
        [0, 0.6, 1, 0.4, 0],
        [1, 1.0, 0, 0.6, 0],
        [0, 0.2, 0, 0.4, 1],
    ]
)
D4 = D[:, :4]


def test_a5_worked_example_alpha_of_five_items():
    assert cronbach_alpha(D) == pytest.approx(0.2244, abs=1e-4)


def test_a5_worked_example_corrected_item_total_and_alpha_if_deleted():
    total = D.sum(axis=1)
    corrected = [pearson_r(D[:, i], total - D[:, i]) for i in range(5)]
    assert corrected == pytest.approx([0.5635, 0.2516, 0.2111, 0.8842, -0.4865], abs=1e-4)
    assert cronbach_alpha(np.delete(D, 4, axis=1)) == pytest.approx(0.7404, abs=1e-4)  # item 5 flagged


def test_a5_worked_example_alpha_and_feldt_interval_of_items_1_to_4():
    result = alpha_with_interval(D4)
    assert result.alpha == pytest.approx(0.7404, abs=1e-4)
    assert (result.n, result.k) == (6, 4)
    assert round_half_up(result.lower, 3) == 0.071
    assert round_half_up(result.upper, 3) == 0.960
    assert (result.lower, result.upper) == feldt_interval(result.alpha, 6, 4)


def test_a5_worked_example_sd_and_sem_of_items_1_to_4():
    sd_total = sample_sd(D4.sum(axis=1))
    assert sd_total == pytest.approx(1.2759, abs=1e-4)
    standard_error = sem(sd_total, cronbach_alpha(D4))
    assert standard_error == pytest.approx(0.6501, abs=1e-4)
    assert standard_error / 4 == pytest.approx(0.1625, abs=1e-4)  # on the mean-POMP metric


def test_a5_worked_example_odd_even_split_half():
    result = split_half(D4)  # items {1, 3} against {2, 4}
    assert result.r_halves == pytest.approx(0.8251, abs=1e-4)
    assert result.spearman_brown == pytest.approx(0.9042, abs=1e-4)


def test_a5_worked_example_stratified_alpha():
    result = stratified_alpha(D4, ["A", "A", "B", "B"])
    assert result.strata == ("A", "B")
    assert result.stratum_alphas == pytest.approx((0.7742, 0.5172), abs=1e-4)
    assert result.alpha == pytest.approx(0.7764, abs=1e-4)


def test_a5_sem_examples():
    # r_xx = .70 gives SEM_T = 5.48 (90% +/- 9.0); r_xx = .46 gives SEM_T = 7.35 (90% +/- 12.1).
    assert t_sem(0.70) == pytest.approx(5.48, abs=0.005)
    assert 1.645 * t_sem(0.70) == pytest.approx(9.0, abs=0.05)
    assert t_sem(0.46) == pytest.approx(7.35, abs=0.005)
    assert 1.645 * t_sem(0.46) == pytest.approx(12.1, abs=0.05)


def test_a5_ninety_percent_t_band_and_its_sten_range():
    band = t_band(53.0, 0.70)
    assert band.confidence == 0.90
    assert (round_half_up(band.lower), round_half_up(band.upper)) == (44.0, 62.0)  # "T 53 (90% band 44-62)"
    assert (band.sten_lower, band.sten_upper) == (4, 8)


@pytest.mark.parametrize(("confidence", "z"), [(0.68, 1.0), (0.90, 1.645), (0.95, 1.96)])
def test_a5_band_multipliers(confidence, z):
    band = score_band(50.0, 2.0, confidence)
    assert (band.lower, band.upper) == pytest.approx((50.0 - 2 * z, 50.0 + 2 * z))


def test_a5_split_half_gives_the_odd_half_the_extra_item():
    data = np.array([[1, 0, 1, 1, 0], [0, 1, 0, 0, 1], [1, 1, 1, 0, 0], [0, 0, 1, 1, 1], [0, 0, 0, 0, 1.0]])
    expected = np.corrcoef(data[:, [0, 2, 4]].sum(1), data[:, [1, 3]].sum(1))[0, 1]
    assert split_half(data).r_halves == pytest.approx(expected, abs=1e-12)


def test_a5_stratified_alpha_counts_a_single_item_stratum_as_error():
    result = stratified_alpha(D4, ["A", "A", "A", "B"])
    assert result.stratum_alphas[1] is None
    var_a, var_b = result.stratum_variances
    total = np.var(D4.sum(axis=1), ddof=1)
    expected = 1 - (var_a * (1 - cronbach_alpha(D4[:, :3])) + var_b) / total
    assert result.alpha == pytest.approx(expected, abs=1e-12)


def test_a5_strata_follow_the_max_weight_competency_ties_to_the_form_order():
    keys = {"A": 5.0, "B": 3.0, "C": 1.0}
    items = (
        KeyedItem.create("1", "rate", keys, weights={"prof": 1.0, "collab": 0.5}),
        KeyedItem.create("2", "rate", keys, weights={"collab": 1.0, "prof": 1.0}),
        KeyedItem.create("3", "rate", keys, weights={"collab": 0.4}),
        KeyedItem.create("4", "rate", keys),
    )
    assert assign_strata(Form(items)) == ("prof", "prof", "collab", "")
    assert assign_strata(Form(items, competencies=("collab", "prof"))) == ("prof", "collab", "collab", "")


def test_a5_listwise_deletion():
    data = np.vstack([D4, [np.nan, 1, 1, 1]])
    assert cronbach_alpha(data) == pytest.approx(cronbach_alpha(D4), abs=1e-15)
    assert alpha_with_interval(data).n == 6


def test_a5_zero_variance_sample_raises():
    with pytest.raises(ZeroVarianceError):
        cronbach_alpha(np.ones((5, 3)))
    with pytest.raises(ZeroVarianceError):
        split_half(np.tile([[1.0, 0.0]], (4, 1)))
    with pytest.raises(ZeroVarianceError):
        stratified_alpha(np.ones((5, 3)), ["a", "a", "b"])


def test_a5_too_little_data_raises():
    with pytest.raises(InsufficientDataError):
        cronbach_alpha(D[:, :1])
    with pytest.raises(InsufficientDataError):
        cronbach_alpha(D[:1])
    with pytest.raises(InsufficientDataError):
        cronbach_alpha(np.full((4, 3), np.nan))
    with pytest.raises(InvalidInputError):
        cronbach_alpha([1.0, 2.0, 3.0])
    with pytest.raises(InvalidInputError):
        cronbach_alpha([[1.0, np.inf], [0.0, 1.0]])
    with pytest.raises(InvalidInputError):
        stratified_alpha(D4, ["A", "B"])


@pytest.mark.parametrize(
    "call",
    [
        lambda: feldt_interval(0.7, 1, 4),
        lambda: feldt_interval(0.7, 10, 1),
        lambda: feldt_interval(math.nan, 10, 4),
        lambda: feldt_interval(0.7, 10, 4, confidence=1.0),
        lambda: feldt_interval(0.7, 10.5, 4),
        lambda: sem(1.0, 1.2),
        lambda: sem(1.0, -0.1),
        lambda: sem(-1.0, 0.5),
        lambda: sem("1", 0.5),
        lambda: t_sem(math.nan),
        lambda: score_band(50.0, 2.0, 0.80),
        lambda: score_band(50.0, -2.0),
        lambda: score_band(math.inf, 2.0),
        lambda: spearman_brown(1.5),
        lambda: spearman_brown(0.5, factor=0),
        lambda: classify_reliability_sample(-1),
    ],
)
def test_a5_bad_arguments_raise_invalid_input(call):
    with pytest.raises(InvalidInputError):
        call()


def test_a5_spearman_brown():
    assert spearman_brown(0.8251369970070346) == pytest.approx(0.9042, abs=1e-4)
    assert spearman_brown(0.5, factor=3) == pytest.approx(0.75)
    with pytest.raises(UndefinedStatisticError):
        spearman_brown(-1.0)


def test_decisions_reliability_sample_sizes():
    assert classify_reliability_sample(None) is ReliabilityStatus.NONE
    assert classify_reliability_sample(99) is ReliabilityStatus.NONE
    assert classify_reliability_sample(100) is ReliabilityStatus.PROVISIONAL
    assert classify_reliability_sample(199) is ReliabilityStatus.PROVISIONAL
    assert classify_reliability_sample(200) is ReliabilityStatus.ESTABLISHED
