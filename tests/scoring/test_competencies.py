"""A3 competency and overall scores, the 20% rule and the minimum content rule."""

from __future__ import annotations

import pytest

from scoring.competencies import (
    CompetencyStatus,
    competency_scores,
    competency_status,
    meets_minimum_content,
    overall_score,
    score_attempt,
    weighted_pomp_score,
)
from scoring.conventions import ALGORITHM_VERSION, ScoreFlag
from scoring.errors import InvalidInputError
from scoring.items import Form, KeyedItem, MostLeastResponse, RatingResponse, SingleBestResponse

K = {"A": 5.4, "B": 2.1, "C": 3.8, "D": 1.3}


def three_item_form() -> Form:
    return Form(
        (
            KeyedItem.create("1", "rate", K, rule="rate_abs_distance", weights={"prof": 1.0, "collab": 0.5}),
            KeyedItem.create("2", "most_least", K, weights={"collab": 1.0}),
            KeyedItem.create("3", "single_best", K, weights={"prof": 1.0}),
        )
    )


def test_a3_worked_example_three_items():
    responses = {
        "1": RatingResponse.of({"A": 6, "B": 3, "C": 4, "D": 1}),  # p = 0.8734
        "2": MostLeastResponse("A", "B"),  # s = +1, p = 0.75
        "3": SingleBestResponse("B"),  # wrong, p = 0
    }
    attempt = score_attempt(three_item_form(), responses)
    assert [s.pomp for s in attempt.items.items] == pytest.approx([0.8734, 0.75, 0.0], abs=1e-4)
    prof, collab = attempt.competencies
    assert prof.competency == "prof"
    assert prof.raw == pytest.approx(0.4367, abs=1e-4)
    assert collab.raw == pytest.approx(0.7911, abs=1e-4)
    assert attempt.overall.raw == pytest.approx(0.5411, abs=1e-4)
    assert attempt.overall.raw == pytest.approx(0.5411392, abs=1e-7)  # A0: carried unrounded
    # Two and two items: below the minimum content rule, so neither competency is reported.
    assert not prof.meets_minimum_content
    assert not collab.meets_minimum_content
    assert attempt.algorithm_version == ALGORITHM_VERSION


def test_a3_minimum_content_rule():
    assert meets_minimum_content(4, 3.0)
    assert not meets_minimum_content(3, 3.0)
    assert not meets_minimum_content(6, 2.5)
    assert competency_status(3, 3.0, 0.9) is CompetencyStatus.NOT_REPORTED
    assert competency_status(4, 3.0, None) is CompetencyStatus.INDICATIVE
    assert competency_status(4, 3.0, 0.59) is CompetencyStatus.INDICATIVE
    assert competency_status(4, 3.0, 0.60) is CompetencyStatus.REPORTED


def test_a3_minimum_content_counts_the_items_of_the_form():
    items = tuple(KeyedItem.create(f"I{i}", "single_best", K, weights={"prof": 0.75}) for i in range(4))
    (prof,) = competency_scores(Form(items), [1.0, 0.0, None, 1.0])
    assert prof.score.n_items == 4
    assert prof.score.weight_sum == 3.0
    assert prof.meets_minimum_content  # a property of the form, not of the answers
    assert prof.raw is None  # 1 of 4 missing is 25%
    (prof,) = competency_scores(Form(items), [1.0, 0.0, 1.0, 1.0])
    assert prof.raw == pytest.approx(0.75)


def test_a3_twenty_percent_rule_on_competencies_and_overall():
    items = tuple(KeyedItem.create(f"I{i}", "single_best", K, weights={"prof": 1.0}) for i in range(5))
    form = Form(items)
    assert overall_score(form, [1.0, 1.0, 0.0, 1.0, None]).raw == 0.75  # 1 of 5 missing
    missing_two = overall_score(form, [1.0, None, 0.0, 1.0, None])
    assert missing_two.raw is None
    assert ScoreFlag.INSUFFICIENT_DATA in missing_two.flags
    (prof,) = competency_scores(form, [1.0, None, 0.0, 1.0, None])
    assert prof.raw is None


def test_a3_items_with_zero_weight_do_not_count():
    score = weighted_pomp_score([1.0, 0.0, 2.0], [0.5, None, 1.0])
    assert score.raw == pytest.approx((0.5 + 2.0) / 3.0)
    assert score.n_items == 2
    assert score.n_missing == 0


def test_a3_a_scale_without_weighted_items_has_no_score():
    score = weighted_pomp_score([0.0, 0.0], [0.5, 1.0])
    assert score.raw is None
    assert ScoreFlag.INSUFFICIENT_DATA in score.flags


@pytest.mark.parametrize(
    ("weights", "pomps"),
    [
        ([1.0], [0.5, 0.5]),
        ([-1.0, 1.0], [0.5, 0.5]),
        ([1.0, float("nan")], [0.5, 0.5]),
        ([1.0], [1.5]),
        ([1.0], [float("nan")]),
    ],
)
def test_a3_bad_weights_or_pomps_raise(weights, pomps):
    with pytest.raises(InvalidInputError):
        weighted_pomp_score(weights, pomps)


def test_a3_length_mismatch_raises():
    with pytest.raises(InvalidInputError):
        competency_scores(three_item_form(), [1.0])
    with pytest.raises(InvalidInputError):
        overall_score(three_item_form(), [1.0])


def test_a3_flat_rate_std_profile_makes_its_items_missing():
    rate_items = [KeyedItem.create(f"R{i}", "rate", K, weights={"prof": 1.0}) for i in range(4)]
    items = (*rate_items, KeyedItem.create("S", "single_best", K, weights={"prof": 1.0}))
    responses = {f"R{i}": RatingResponse.of(dict.fromkeys("ABCD", 3)) for i in range(4)}
    responses["S"] = SingleBestResponse("A")
    attempt = score_attempt(Form(items), responses)
    assert attempt.profile is not None
    assert ScoreFlag.FLAT_PROFILE in attempt.profile.flags
    assert attempt.overall.raw is None  # 4 of 5 items missing
    assert ScoreFlag.INSUFFICIENT_DATA in attempt.overall.flags
