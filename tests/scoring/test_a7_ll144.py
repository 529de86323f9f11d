"""A7.2: NYC Local Law 144 bias-audit tables (scoring rate above the median, categories, unknowns, 2% rule)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.errors import InsufficientDataError, InvalidInputError
from scoring.fairness import (
    LL144_SCORING_COLUMNS,
    LL144_SELECTION_COLUMNS,
    RACE_ETHNICITY_CATEGORIES,
    FairnessFlag,
    ll144_scoring_audit,
    ll144_selection_audit,
)

TOY_SCORES = [62, 55, 71, 48, 55, 80, 66, 59, 52, 75]
TOY_SEX = ["Female" if g == "F" else "Male" for g in "FMFMFMFMFM"]


def dcwp_sample() -> tuple[list[float], list[str], list[str | None]]:
    """92 men (50 above the median) and 76 women (34 above): the DCWP illustrative numbers."""
    scores = [2.0] * 50 + [1.0] * 42 + [2.0] * 34 + [1.0] * 42
    sex = ["Male"] * 92 + ["Female"] * 76
    race: list[str | None] = ["White"] * 168
    return scores, sex, race


# --- Worked examples ---------------------------------------------------------------------------------------


def test_a7_2_table_template_dcwp_sex_rows() -> None:
    scores, sex, race = dcwp_sample()
    audit = ll144_scoring_audit(scores, sex, race)
    assert audit.median == 1.5
    assert audit.columns == (
        "Category type",
        "Category",
        "# assessed",
        "# above median",
        "Scoring rate",
        "Impact ratio",
        "Excluded (<2%)?",
    )
    rows = audit.display_rows()
    assert ("Sex", "Male", "92", "50", "54.3%", "1.000", "no") in rows
    assert ("Sex", "Female", "76", "34", "44.7%", "0.823", "no") in rows
    female = audit.row("Sex", "Female")
    assert female.rate == pytest.approx(0.4474, abs=1e-4)
    assert female.impact_ratio == pytest.approx(0.8232, abs=1e-4)


def test_a7_2_table_template_dcwp_rule_rounding_to_two_places() -> None:
    scores, sex, race = dcwp_sample()
    audit = ll144_scoring_audit(scores, sex, race)
    assert round(audit.row("Sex", "Male").impact_ratio or 0, 2) == 1.00
    assert round(audit.row("Sex", "Female").impact_ratio or 0, 2) == 0.82


def test_a7_2_toy_median_check() -> None:
    audit = ll144_scoring_audit(TOY_SCORES, TOY_SEX, [None] * 10)
    assert audit.median == 60.5
    female, male = audit.row("Sex", "Female"), audit.row("Sex", "Male")
    assert (female.assessed, female.counted, female.rate) == (5, 3, pytest.approx(0.60))
    assert (male.assessed, male.counted, male.rate) == (5, 2, pytest.approx(0.40))
    assert female.impact_ratio == pytest.approx(1.000, abs=1e-4)
    assert male.impact_ratio == pytest.approx(0.6667, abs=1e-4)
    assert ("Sex", "Male", "5", "2", "40.0%", "0.667", "no") in audit.display_rows()


# --- Cross-check against numpy ---------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.integers(0, 20),
            st.sampled_from(["Male", "Female", None]),
            st.sampled_from([*RACE_ETHNICITY_CATEGORIES[:3], None]),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_a7_2_scoring_rates_match_numpy_median_and_strictly_greater(
    data: list[tuple[int, str | None, str | None]],
) -> None:
    scores = np.array([d[0] for d in data], dtype=float)
    sex = [d[1] for d in data]
    race = [d[2] for d in data]
    audit = ll144_scoring_audit(scores, sex, race, exclude_under_2_percent=False)
    median = np.median(scores)
    assert audit.median == median
    for category in ("Male", "Female"):
        members = np.array([s == category for s in sex])
        row = audit.row("Sex", category)
        assert row.assessed == members.sum()
        if members.any():
            assert row.rate == pytest.approx(float((scores[members] > median).mean()))
        else:
            assert row.rate is None
    rates = [r.rate for r in audit.rows if r.category_type == "Sex" and r.rate is not None]
    for row in audit.rows:
        assert row.rate is None or 0.0 <= row.rate <= 1.0
        assert row.impact_ratio is None or (math.isfinite(row.impact_ratio) and 0.0 <= row.impact_ratio <= 1.0)
    if rates and max(rates) > 0:
        assert max(r.impact_ratio or 0.0 for r in audit.rows if r.category_type == "Sex") == 1.0
    assert audit.unknown_count("Sex") == sum(s is None for s in sex)
    assert audit.unknown_count("Intersectional") == sum(s is None or r is None for s, r in zip(sex, race, strict=True))


# --- Categories, unknowns and the 2% exclusion ---------------------------------------------------------------


def test_a7_2_every_category_is_listed_with_unknowns_last() -> None:
    audit = ll144_scoring_audit(TOY_SCORES, TOY_SEX, ["Asian"] * 5 + [None] * 5)
    categories = [(r[0], r[1]) for r in audit.display_rows()]
    races = [c for t, c in categories if t == "Race/ethnicity"]
    assert races == [*RACE_ETHNICITY_CATEGORIES, "Unknown (not in calculations)"]
    intersectional = [c for t, c in categories if t == "Intersectional"]
    assert len(intersectional) == 2 * 7 + 1
    assert "Hispanic or Latino Male" in intersectional
    assert "Asian Female" in intersectional
    assert [c for t, c in categories if t == "Sex"] == ["Male", "Female", "Unknown (not in calculations)"]


def test_a7_2_unknowns_are_counted_but_not_used_in_the_ratios() -> None:
    scores = [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    sex: list[str | None] = ["Male", "Male", None, None, "Female", "Female", "Male", "Female", None, "Male"]
    audit = ll144_scoring_audit(scores, sex, ["White"] * 10)
    assert audit.median == 5.5
    assert audit.unknown_count("Sex") == 3
    assert audit.unknown_count("Race/ethnicity") == 0
    assert audit.unknown_count("Intersectional") == 3
    assert audit.row("Sex", "Male").assessed + audit.row("Sex", "Female").assessed == 7
    assert ("Sex", "Unknown (not in calculations)", "3", "", "", "", "") in audit.display_rows()


def test_a7_2_other_sex_is_listed_only_when_reported() -> None:
    without = ll144_scoring_audit(TOY_SCORES, TOY_SEX, [None] * 10)
    assert "Other" not in [r.category for r in without.rows if r.category_type == "Sex"]
    sex = [*TOY_SEX[:-1], "Other"]
    with_other = ll144_scoring_audit(TOY_SCORES, sex, [None] * 10)
    assert with_other.row("Sex", "Other").assessed == 1
    assert with_other.row("Intersectional", "White Other").assessed == 0


def test_a7_2_category_under_two_percent_is_excluded_with_its_reason() -> None:
    scores = list(range(100))
    sex = ["Male"] * 49 + ["Female"] * 50 + ["Other"]
    audit = ll144_scoring_audit(scores, sex, ["White"] * 100)
    other = audit.row("Sex", "Other")
    assert other.excluded
    assert other.impact_ratio is None
    assert other.assessed == 1
    assert other.rate == 1.0
    assert FairnessFlag.EXCLUDED_UNDER_2_PERCENT in other.flags
    assert other.exclusion_reason == "1 of 100 assessed (1.0%), under 2% of the data"
    assert any("fewer than 2%" in note for note in audit.notes)
    # The excluded 100% category does not become the reference: Female (the top 50) is.
    assert audit.row("Sex", "Female").impact_ratio == 1.0
    assert audit.row("Sex", "Male").impact_ratio == 0.0
    assert ("Sex", "Other", "1", "1", "100.0%", "n/a", f"yes: {other.exclusion_reason}") in audit.display_rows()


def test_a7_2_exactly_two_percent_is_not_excluded() -> None:
    sex = ["Male"] * 49 + ["Female"] * 49 + ["Other"] * 2
    audit = ll144_scoring_audit(list(range(100)), sex, ["White"] * 100)
    assert not audit.row("Sex", "Other").excluded
    assert audit.row("Sex", "Other").impact_ratio == 1.0


def test_a7_2_exclusion_can_be_turned_off() -> None:
    sex = ["Male"] * 49 + ["Female"] * 50 + ["Other"]
    audit = ll144_scoring_audit(list(range(100)), sex, ["White"] * 100, exclude_under_2_percent=False)
    assert not audit.row("Sex", "Other").excluded
    assert audit.row("Sex", "Other").impact_ratio == 1.0
    assert audit.row("Sex", "Female").impact_ratio == pytest.approx(0.98)


def test_a7_2_empty_category_is_listed_as_excluded() -> None:
    audit = ll144_scoring_audit(TOY_SCORES, TOY_SEX, ["White"] * 10)
    asian = audit.row("Race/ethnicity", "Asian")
    assert (asian.assessed, asian.rate, asian.impact_ratio, asian.excluded) == (0, None, None, True)
    assert asian.exclusion_reason == "nobody assessed in this category"
    assert FairnessFlag.EMPTY_GROUP in asian.flags


def test_a7_2_ties_at_the_median_are_not_above_it_and_are_noted() -> None:
    audit = ll144_scoring_audit([1, 2, 2, 2, 3], ["Male", "Female", "Male", "Female", "Male"], [None] * 5)
    assert audit.median == 2.0
    assert audit.row("Sex", "Male").counted == 1
    assert audit.row("Sex", "Female").counted == 0
    assert any("exactly the median" in note for note in audit.notes)


def test_a7_2_all_scores_equal_gives_no_ratios() -> None:
    audit = ll144_scoring_audit([5.0] * 6, ["Male", "Female"] * 3, [None] * 6)
    for category in ("Male", "Female"):
        row = audit.row("Sex", category)
        assert row.rate == 0.0
        assert row.impact_ratio is None
        assert FairnessFlag.HIGHEST_RATE_IS_ZERO in row.flags
    assert any("undefined" in note for note in audit.notes)


# --- Selection tools -----------------------------------------------------------------------------------------


def test_a7_2_selection_tool_uses_the_selection_rate() -> None:
    selected = [True] * 50 + [False] * 42 + [True] * 34 + [False] * 42
    sex = ["Male"] * 92 + ["Female"] * 76
    audit = ll144_selection_audit(selected, sex, ["White"] * 168)
    assert audit.columns == LL144_SELECTION_COLUMNS
    assert audit.median is None
    assert ("Sex", "Female", "76", "34", "44.7%", "0.823", "no") in audit.display_rows()
    assert LL144_SCORING_COLUMNS != LL144_SELECTION_COLUMNS


def test_a7_2_selection_accepts_zero_one_and_zero_selected() -> None:
    audit = ll144_selection_audit(np.zeros(4, dtype=int), ["Male", "Female", "Male", "Female"], [None] * 4)
    assert audit.row("Sex", "Male").impact_ratio is None
    assert FairnessFlag.HIGHEST_RATE_IS_ZERO in audit.row("Sex", "Male").flags


# --- Bad input -------------------------------------------------------------------------------------------------


def test_a7_2_empty_sample_raises() -> None:
    with pytest.raises(InsufficientDataError):
        ll144_scoring_audit([], [], [])
    with pytest.raises(InsufficientDataError):
        ll144_selection_audit([], [], [])


@pytest.mark.parametrize(
    ("scores", "sex", "race"),
    [
        ([1.0, 2.0], ["Male"], [None, None]),
        ([1.0, 2.0], ["Male", "Female"], [None]),
        ([1.0, math.nan], ["Male", "Female"], [None, None]),
        ([1.0, math.inf], ["Male", "Female"], [None, None]),
        ([[1.0, 2.0]], ["Male", "Female"], [None, None]),
        ([1.0, 2.0], ["male", "Female"], [None, None]),
        ([1.0, 2.0], ["Male", "Female"], ["Caucasian", None]),
        ([1.0, 2.0], ["Male", 3], [None, None]),
        (["a", "b"], ["Male", "Female"], [None, None]),
    ],
)
def test_a7_2_bad_input_raises(scores: list[object], sex: list[object], race: list[object]) -> None:
    with pytest.raises(InvalidInputError):
        ll144_scoring_audit(scores, sex, race)  # type: ignore[arg-type]


def test_a7_2_non_boolean_selections_raise() -> None:
    with pytest.raises(InvalidInputError):
        ll144_selection_audit([0.5, 1.0], ["Male", "Female"], [None, None])
    with pytest.raises(InvalidInputError):
        ll144_selection_audit(["yes", "no"], ["Male", "Female"], [None, None])
