"""A7.1: the four-fifths rule with Z_D, Z_IR, Fisher's and Boschloo's tests, and the planning forecast."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest

from scoring.errors import InsufficientDataError, InvalidInputError, ScoringError, ZeroVarianceError
from scoring.fairness import (
    FairnessFlag,
    GroupCount,
    compare_two_groups,
    count_selections,
    forecast_impact_ratio,
    four_fifths,
    four_fifths_at_cut,
    pairwise_standardized_differences,
    standardized_mean_difference,
)

MALE = GroupCount("Male", applicants=92, selected=50)
FEMALE = GroupCount("Female", applicants=76, selected=34)


# --- Worked example: the DCWP illustrative sex numbers ----------------------------------------------------


def test_a7_1_worked_example_dcwp_sex_numbers() -> None:
    report = four_fifths([MALE, FEMALE])
    female = report.group("Female")
    test = female.test
    assert report.reference_group == "Male"
    assert test is not None
    assert female.impact_ratio == pytest.approx(0.8232, abs=1e-4)
    assert FairnessFlag.BELOW_FOUR_FIFTHS not in female.flags
    assert test.total_rate == pytest.approx(0.50, abs=1e-4)
    assert test.focal_share == pytest.approx(0.4524, abs=1e-4)
    assert test.z_ir == pytest.approx(-1.2555, abs=1e-4)
    assert test.z_d == pytest.approx(-1.2401, abs=1e-4)
    assert test.z_d_p == pytest.approx(0.2150, abs=1e-4)
    assert test.chi_square == pytest.approx(1.5378, abs=1e-4)
    assert test.fisher_p == pytest.approx(0.2779, abs=1e-4)
    assert test.fisher_odds_ratio == pytest.approx(0.68, abs=1e-4)
    assert test.boschloo_p == pytest.approx(0.2211, abs=1e-4)
    assert not {
        FairnessFlag.Z_D_SIGNIFICANT,
        FairnessFlag.Z_IR_SIGNIFICANT,
        FairnessFlag.FISHER_SIGNIFICANT,
        FairnessFlag.BOSCHLOO_SIGNIFICANT,
    } & set(female.flags)


def test_a7_1_worked_example_reference_group_line() -> None:
    male = four_fifths([MALE, FEMALE]).group("Male")
    assert male.is_reference
    assert male.impact_ratio == 1.0
    assert male.test is None
    assert male.selection_rate == pytest.approx(0.5435, abs=1e-4)


@pytest.mark.parametrize(
    ("d", "majority_rate", "expected"),
    [
        (0.19, 0.50, 0.849),
        (0.19, 0.30, 0.792),
        (0.19, 0.10, 0.706),
        (0.38, 0.50, 0.704),
        (0.38, 0.30, 0.610),
        (0.38, 0.10, 0.483),
    ],
)
def test_a7_1_practical_forecast_table(d: float, majority_rate: float, expected: float) -> None:
    assert forecast_impact_ratio(d, majority_rate) == pytest.approx(expected, abs=5e-4)


def test_a7_1_practical_forecast_meta_analytic_d_fails_at_a_median_split() -> None:
    assert forecast_impact_ratio(0.38, 0.50) < 0.8


def test_a7_1_forecast_is_one_without_a_difference() -> None:
    assert forecast_impact_ratio(0.0, 0.37) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize(("d", "rate"), [(0.3, 0.0), (0.3, 1.0), (0.3, -0.1), (math.nan, 0.5), (math.inf, 0.5)])
def test_a7_1_forecast_rejects_bad_input(d: float, rate: float) -> None:
    with pytest.raises(InvalidInputError):
        forecast_impact_ratio(d, rate)


# --- Cross-checks against scipy and statsmodels ------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    n1=st.integers(1, 120),
    n2=st.integers(1, 120),
    data=st.data(),
)
def test_a7_1_z_d_matches_statsmodels_and_uncorrected_chi_square(n1: int, n2: int, data: st.DataObject) -> None:
    s1 = data.draw(st.integers(0, n1))
    s2 = data.draw(st.integers(0, n2))
    test = compare_two_groups(GroupCount("f", n1, s1), GroupCount("r", n2, s2), boschloo_max_n=0)
    if s1 + s2 in (0, n1 + n2):
        assert test.z_d is None
        return
    z, p = proportions_ztest(count=[s1, s2], nobs=[n1, n2])
    assert test.z_d == pytest.approx(float(z), abs=1e-9)
    assert test.z_d_p == pytest.approx(float(p), abs=1e-9)
    table = np.array([[s1, n1 - s1], [s2, n2 - s2]])
    chi2 = stats.chi2_contingency(table, correction=False).statistic
    assert test.chi_square == pytest.approx(float(chi2), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(n1=st.integers(1, 25), n2=st.integers(1, 25), data=st.data())
def test_a7_1_exact_tests_match_scipy_in_the_documented_orientation(n1: int, n2: int, data: st.DataObject) -> None:
    s1 = data.draw(st.integers(0, n1))
    s2 = data.draw(st.integers(0, n2))
    test = compare_two_groups(GroupCount("f", n1, s1), GroupCount("r", n2, s2))
    fisher = stats.fisher_exact([[s1, n1 - s1], [s2, n2 - s2]])
    assert test.fisher_p == pytest.approx(min(1.0, float(fisher.pvalue)), abs=1e-12)
    assert test.boschloo_p is not None
    assert 0.0 <= test.boschloo_p <= 1.0
    if 0 < s1 + s2 < n1 + n2:
        boschloo = stats.boschloo_exact([[s1, s2], [n1 - s1, n2 - s2]])
        assert test.boschloo_p == pytest.approx(min(1.0, float(boschloo.pvalue)), abs=1e-12)
    else:
        assert test.boschloo_p == 1.0
    for value in (test.z_d, test.z_ir, test.fisher_odds_ratio, test.impact_ratio, test.z_d_p):
        assert value is None or math.isfinite(value)


def test_a7_1_z_ir_agrees_in_sign_with_the_log_ratio_and_is_near_z_d_for_balanced_groups() -> None:
    test = compare_two_groups(GroupCount("f", 400, 120), GroupCount("r", 400, 160), boschloo_max_n=0)
    assert test.z_ir is not None
    assert test.z_d is not None
    assert test.z_ir < 0
    assert test.z_d < 0
    assert test.z_ir == pytest.approx(test.z_d, rel=0.15)
    assert FairnessFlag.Z_D_SIGNIFICANT in test.flags
    assert FairnessFlag.Z_IR_SIGNIFICANT in test.flags


def test_a7_1_boundary_of_four_fifths_is_decided_on_exact_counts() -> None:
    sizes = (5, 10, 15, 25)
    for n_ref in sizes:
        for n in sizes:
            for s_ref in range(1, n_ref + 1):
                for s in range(0, n + 1):
                    if Fraction(s, n) > Fraction(s_ref, n_ref):
                        continue
                    report = four_fifths([GroupCount("r", n_ref, s_ref), GroupCount("f", n, s)], boschloo_max_n=0)
                    below = Fraction(s, n) / Fraction(s_ref, n_ref) < Fraction(4, 5)
                    assert (FairnessFlag.BELOW_FOUR_FIFTHS in report.group("f").flags) is below


def test_a7_1_exactly_four_fifths_is_not_flagged() -> None:
    report = four_fifths([GroupCount("r", 100, 35), GroupCount("f", 100, 28)])
    assert report.group("f").impact_ratio == pytest.approx(0.8)
    assert FairnessFlag.BELOW_FOUR_FIFTHS not in report.group("f").flags


def test_a7_1_below_four_fifths_is_flagged() -> None:
    report = four_fifths([GroupCount("a", 100, 50), GroupCount("b", 100, 39), GroupCount("c", 50, 24)])
    assert report.reference_group == "a"
    assert FairnessFlag.BELOW_FOUR_FIFTHS in report.group("b").flags
    assert FairnessFlag.BELOW_FOUR_FIFTHS not in report.group("c").flags
    assert report.group("c").impact_ratio == pytest.approx(0.96)


def test_a7_1_reference_tie_goes_to_the_first_group() -> None:
    report = four_fifths([GroupCount("a", 10, 5), GroupCount("b", 20, 10)])
    assert report.reference_group == "a"
    assert report.group("b").impact_ratio == 1.0


# --- Bad and degenerate input --------------------------------------------------------------------------------


def test_a7_1_group_of_size_zero_is_reported_and_left_out() -> None:
    report = four_fifths([MALE, FEMALE, GroupCount("Other", 0, 0)])
    other = report.group("Other")
    assert other.selection_rate is None
    assert other.impact_ratio is None
    assert other.test is None
    assert FairnessFlag.EMPTY_GROUP in other.flags
    assert report.group("Female").impact_ratio == pytest.approx(0.8232, abs=1e-4)


def test_a7_1_zero_selected_gives_no_ratios_and_a_flag() -> None:
    report = four_fifths([GroupCount("a", 10, 0), GroupCount("b", 12, 0)])
    assert FairnessFlag.NO_SELECTIONS in report.flags
    for line in report.groups:
        assert line.impact_ratio is None
        assert line.selection_rate == 0.0
        assert FairnessFlag.NO_SELECTIONS in line.flags


def test_a7_1_zero_selected_in_a_pair_gives_no_z_and_exact_p_of_one() -> None:
    test = compare_two_groups(GroupCount("f", 10, 0), GroupCount("r", 12, 0))
    assert test.z_d is None
    assert test.z_d_p is None
    assert test.chi_square is None
    assert test.z_ir is None
    assert test.impact_ratio is None
    assert test.fisher_p == 1.0
    assert test.boschloo_p == 1.0
    assert FairnessFlag.NO_SELECTIONS in test.flags


def test_a7_1_everybody_selected_gives_no_z() -> None:
    test = compare_two_groups(GroupCount("f", 5, 5), GroupCount("r", 5, 5))
    assert test.z_d is None
    assert test.z_ir is None
    assert test.impact_ratio == 1.0
    assert test.boschloo_p == 1.0
    assert FairnessFlag.ALL_SELECTED in test.flags


def test_a7_1_zero_focal_rate_has_z_d_but_no_z_ir() -> None:
    test = compare_two_groups(GroupCount("f", 20, 0), GroupCount("r", 20, 8))
    assert test.z_d is not None
    assert test.z_d < 0
    assert test.z_ir is None
    assert test.impact_ratio == 0.0
    assert test.fisher_odds_ratio == 0.0
    assert FairnessFlag.ZERO_RATE in test.flags


def test_a7_1_undefined_odds_ratio_is_none_with_a_flag() -> None:
    test = compare_two_groups(GroupCount("f", 20, 20), GroupCount("r", 20, 8))
    assert test.fisher_odds_ratio is None
    assert FairnessFlag.ODDS_RATIO_UNDEFINED in test.flags


def test_a7_1_boschloo_is_skipped_above_the_size_limit() -> None:
    test = compare_two_groups(GroupCount("f", 600, 200), GroupCount("r", 600, 300))
    assert test.boschloo_p is None
    assert FairnessFlag.EXACT_TEST_SKIPPED in test.flags
    assert test.fisher_p < 0.05
    assert FairnessFlag.FISHER_SIGNIFICANT in test.flags


def test_a7_1_empty_group_in_a_pair_raises() -> None:
    with pytest.raises(InsufficientDataError):
        compare_two_groups(GroupCount("f", 0, 0), MALE)


@pytest.mark.parametrize(
    ("applicants", "selected"),
    [(-1, 0), (5, -1), (5, 6), (5.0, 2), (True, 0)],
)
def test_a7_1_impossible_counts_raise(applicants: int, selected: int) -> None:
    with pytest.raises(InvalidInputError):
        GroupCount("g", applicants, selected)


def test_a7_1_no_groups_or_duplicate_groups_raise() -> None:
    with pytest.raises(InvalidInputError):
        four_fifths([])
    with pytest.raises(InvalidInputError):
        four_fifths([MALE, MALE])


def test_a7_1_errors_are_scoring_errors() -> None:
    with pytest.raises(ScoringError):
        compare_two_groups(MALE, FEMALE, boschloo_max_n=-1)


# --- Counts from arrays and cut scores ---------------------------------------------------------------------------


def test_a7_1_count_selections_leaves_unknowns_out() -> None:
    counts = count_selections([True, False, True, True, False], ["a", "b", None, "a", "b"])
    assert counts == (GroupCount("a", 2, 2), GroupCount("b", 2, 0))


def test_a7_1_count_selections_rejects_mismatched_lengths_and_non_booleans() -> None:
    with pytest.raises(InvalidInputError):
        count_selections([True, False], ["a"])
    with pytest.raises(InvalidInputError):
        count_selections([0.5, 1.0], ["a", "b"])
    with pytest.raises(InvalidInputError):
        count_selections([[True], [False]], ["a", "b"])


def test_a7_1_four_fifths_at_the_cut_selects_at_or_above_it() -> None:
    scores = [10, 20, 30, 40, 30, 30, 20, 10]
    groups = ["a", "a", "a", "a", "b", "b", "b", "b"]
    report = four_fifths_at_cut(scores, groups, 30, boschloo_max_n=0)
    assert report.group("a").selected == 2
    assert report.group("b").selected == 2


def test_a7_1_four_fifths_at_cut_rejects_bad_scores() -> None:
    with pytest.raises(InvalidInputError):
        four_fifths_at_cut([1.0, math.nan], ["a", "b"], 0.5)
    with pytest.raises(InvalidInputError):
        four_fifths_at_cut([1.0, 2.0], ["a", "b"], math.nan)
    with pytest.raises(InvalidInputError):
        four_fifths_at_cut([1.0, 2.0], ["a"], 1.5)


# --- Standardized mean differences (A7.2, beyond the legal minimum) ---------------------------------------------


def test_a7_2_standardized_mean_difference_uses_the_pooled_sd() -> None:
    first = [3.0, 4.0, 5.0, 6.0]
    second = [1.0, 2.0, 3.0]
    pooled = math.sqrt((3 * np.var(first, ddof=1) + 2 * np.var(second, ddof=1)) / 5)
    assert standardized_mean_difference(first, second) == pytest.approx((4.5 - 2.0) / pooled, abs=1e-12)
    assert standardized_mean_difference(second, first) < 0


def test_a7_2_standardized_mean_difference_bad_input() -> None:
    with pytest.raises(InsufficientDataError):
        standardized_mean_difference([1.0], [1.0, 2.0])
    with pytest.raises(InsufficientDataError):
        standardized_mean_difference([], [1.0, 2.0])
    with pytest.raises(ZeroVarianceError):
        standardized_mean_difference([2.0, 2.0], [3.0, 3.0])
    with pytest.raises(InvalidInputError):
        standardized_mean_difference([1.0, math.nan], [1.0, 2.0])


def test_a7_2_pairwise_differences_only_for_categories_with_at_least_30() -> None:
    rng = np.random.default_rng(5)
    scores = np.concatenate([rng.normal(0.6, 0.1, 40), rng.normal(0.5, 0.1, 35), rng.normal(0.5, 0.1, 10)])
    groups = ["a"] * 40 + ["b"] * 35 + ["c"] * 10
    pairs = pairwise_standardized_differences(scores, groups)
    assert [(p.first, p.second) for p in pairs] == [("a", "b")]
    assert pairs[0].d == pytest.approx(standardized_mean_difference(scores[:40], scores[40:75]), abs=1e-12)
    constant = pairwise_standardized_differences([1.0] * 4, ["a", "a", "b", "b"], min_n=2)
    assert constant[0].d is None
    assert FairnessFlag.ZERO_VARIANCE in constant[0].flags
    with pytest.raises(InvalidInputError):
        pairwise_standardized_differences([1.0, 2.0], ["a"])
