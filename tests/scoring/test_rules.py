"""A2 scoring rules: every worked example of A2.1-A2.4, the rate_std edge cases, and bad responses."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.conventions import ScoreFlag
from scoring.errors import (
    InsufficientDataError,
    InvalidInputError,
    RatingOutOfScaleError,
    ResponseFormatError,
    UnknownOptionError,
    ZeroVarianceError,
)
from scoring.items import (
    Form,
    KeyedItem,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    SingleBestResponse,
)
from scoring.rules import (
    check_response,
    decompose_profile_distance,
    rate_distance_maxima,
    score_bounds,
    score_form_items,
    score_item,
    score_rate_std,
)

K = {"A": 5.4, "B": 2.1, "C": 3.8, "D": 1.3}
X = RatingResponse.of({"A": 6, "B": 3, "C": 4, "D": 1})


def item(response_format: str, rule: str | None = None, keys: dict[str, float] = K, **kwargs) -> KeyedItem:
    return KeyedItem.create("SJT-017", response_format, keys, rule=rule, **kwargs)


def std_form(*items: KeyedItem) -> Form:
    return Form(items or (item("rate"),))


# --- A2.1 single best ---------------------------------------------------------------------------


def test_a2_1_single_best_worked_example():
    # K = {A: 5.4, B: 2.1, C: 3.8, D: 1.3}; the candidate picks C.
    dichotomous = score_item(item("single_best"), SingleBestResponse("C"))
    assert dichotomous.score == 0.0
    assert dichotomous.pomp == 0.0
    partial = score_item(item("single_best", "single_best_partial"), SingleBestResponse("C"))
    assert partial.score == pytest.approx(2.5 / 4.1, abs=1e-12)
    assert partial.score == pytest.approx(0.6098, abs=1e-4)
    assert partial.pomp == partial.score


def test_a2_1_single_best_right_answer_scores_one():
    assert score_item(item("single_best"), SingleBestResponse("A")).pomp == 1.0
    assert score_item(item("single_best", "single_best_partial"), SingleBestResponse("D")).pomp == 0.0


# --- A2.2 most and least ------------------------------------------------------------------------


def test_a2_2_most_least_worked_example():
    # best = A, worst = D. most = A, least = B: +1 (pomp 0.75); most = D, least = A: -2 (pomp 0).
    first = score_item(item("most_least"), MostLeastResponse("A", "B"))
    assert (first.score, first.pomp) == (1.0, 0.75)
    second = score_item(item("most_least"), MostLeastResponse("D", "A"))
    assert (second.score, second.pomp) == (-2.0, 0.0)
    best = score_item(item("most_least"), MostLeastResponse("A", "D"))
    assert (best.score, best.pomp) == (2.0, 1.0)


def test_a2_2_most_least_keydiff_worked_example():
    # most = A, least = B: s = 3.3, s_max = 4.1, pomp = (3.3 + 4.1)/8.2 = 0.9024.
    scored = score_item(item("most_least", "most_least_keydiff"), MostLeastResponse("A", "B"))
    assert scored.score == pytest.approx(3.3, abs=1e-12)
    assert scored.s_max == pytest.approx(4.1, abs=1e-12)
    assert scored.s_min == pytest.approx(-4.1, abs=1e-12)
    assert scored.pomp == pytest.approx(0.9024, abs=1e-4)


# --- A2.3 rate ------------------------------------------------------------------------------------


def test_a2_3_rate_abs_distance_worked_example():
    scored = score_item(item("rate", "rate_abs_distance"), X)
    assert scored.score == pytest.approx(-2.0, abs=1e-12)
    assert rate_distance_maxima(item("rate")) == pytest.approx((4.4, 3.9, 2.8, 4.7), abs=1e-12)
    assert scored.s_min == pytest.approx(-15.8, abs=1e-12)
    assert scored.pomp == pytest.approx(1 - 2.0 / 15.8, abs=1e-12)
    assert scored.pomp == pytest.approx(0.8734, abs=1e-4)


def test_a2_3_rate_sq_distance_worked_example():
    scored = score_item(item("rate", "rate_sq_distance"), X)
    assert scored.score == pytest.approx(-1.30, abs=1e-12)
    assert scored.s_min == pytest.approx(-(4.4**2 + 3.9**2 + 2.8**2 + 4.7**2), abs=1e-12)


def test_a2_3_rate_std_worked_example():
    # One rate item treated as the whole form; X = (6, 3, 4, 1), K = (5.4, 2.1, 3.8, 1.3).
    x, k = np.array([6, 3, 4, 1.0]), np.array([5.4, 2.1, 3.8, 1.3])
    zx, zk = (x - x.mean()) / x.std(ddof=0), (k - k.mean()) / k.std(ddof=0)
    assert zx == pytest.approx([1.3868, -0.2774, 0.2774, -1.3868], abs=1e-4)
    assert zk == pytest.approx([1.4223, -0.6637, 0.4109, -1.1695], abs=1e-4)
    scores = score_form_items(std_form(), {"SJT-017": X})
    assert scores.profile is not None
    assert scores.profile.r == pytest.approx(0.97305, abs=1e-5)
    item_score = scores.items[0]
    assert item_score.score == pytest.approx(-0.053904, abs=1e-6)  # -mean((zx - zk)^2)
    assert item_score.score == pytest.approx(2 * scores.profile.r - 2, abs=1e-12)  # = 2r - 2
    assert item_score.pomp == pytest.approx(1 - 0.053904 / 4, abs=1e-6)


def test_a2_3_profile_decomposition_worked_example():
    parts = decompose_profile_distance([6, 3, 4, 1], [5.4, 2.1, 3.8, 1.3])
    assert parts.mean_squared_distance == pytest.approx(0.3250, abs=1e-4)
    assert parts.elevation == pytest.approx(0.1225, abs=1e-4)
    assert parts.scatter == pytest.approx(0.048773, abs=1e-6)
    assert parts.shape == pytest.approx(0.153727, abs=1e-6)
    assert parts.elevation + parts.scatter + parts.shape == pytest.approx(parts.mean_squared_distance, abs=1e-12)
    assert parts.r == pytest.approx(0.97305, abs=1e-5)


def test_a2_3_elevation_test_case():
    # X1 = (5, 3, 4, 2) and X2 = X1 + 1: raw scoring penalises the shift, standardization does not.
    x1 = RatingResponse.of({"A": 5, "B": 3, "C": 4, "D": 2})
    x2 = RatingResponse.of({"A": 6, "B": 4, "C": 5, "D": 3})
    assert score_item(item("rate", "rate_sq_distance"), x1).score == pytest.approx(-1.50, abs=1e-12)
    assert score_item(item("rate", "rate_sq_distance"), x2).score == pytest.approx(-8.30, abs=1e-12)
    r1 = score_form_items(std_form(), {"SJT-017": x1}).profile
    r2 = score_form_items(std_form(), {"SJT-017": x2}).profile
    assert r1 is not None and r2 is not None
    assert r1.r == pytest.approx(0.98945, abs=1e-5)
    assert r2.r == pytest.approx(r1.r, abs=1e-12)


def test_a2_3_rate_std_pools_every_rate_item_of_the_form():
    first = item("rate")
    second = KeyedItem.create("SJT-018", "rate", {"A": 2.0, "B": 5.5, "C": 4.0})
    responses = {"SJT-017": X, "SJT-018": RatingResponse.of({"A": 1, "B": 6, "C": 3})}
    scores = score_form_items(std_form(first, second), responses)
    x = np.array([6, 3, 4, 1, 1, 6, 3.0])
    k = np.array([5.4, 2.1, 3.8, 1.3, 2.0, 5.5, 4.0])
    assert scores.profile is not None
    assert scores.profile.r == pytest.approx(np.corrcoef(x, k)[0, 1], abs=1e-12)
    zx, zk = (x - x.mean()) / x.std(), (k - k.mean()) / k.std()
    assert scores.items[0].score == pytest.approx(-np.mean((zx[:4] - zk[:4]) ** 2), abs=1e-12)
    assert scores.items[1].score == pytest.approx(-np.mean((zx[4:] - zk[4:]) ** 2), abs=1e-12)


def test_a2_3_flat_profile_scores_zero_and_its_items_none():
    flat = RatingResponse.of(dict.fromkeys("ABCD", 4))
    scores = score_form_items(std_form(), {"SJT-017": flat})
    assert scores.profile is not None
    assert scores.profile.r == 0.0
    assert ScoreFlag.FLAT_PROFILE in scores.profile.flags
    assert scores.items[0].score is None
    assert scores.items[0].pomp is None
    assert ScoreFlag.FLAT_PROFILE in scores.items[0].flags


def test_a2_3_rate_std_uses_the_rated_options_only():
    partial = RatingResponse.of({"A": 6, "B": 3, "C": 4})
    scores = score_form_items(std_form(), {"SJT-017": partial})
    assert scores.profile is not None
    assert scores.profile.r == pytest.approx(np.corrcoef([6, 3, 4], [5.4, 2.1, 3.8])[0, 1], abs=1e-12)


def test_a2_3_rate_std_with_equal_keys_on_the_rated_options_is_insufficient():
    keys = {"A": 4.0, "B": 4.0, "C": 2.0}
    scores = score_form_items(std_form(item("rate", keys=keys)), {"SJT-017": RatingResponse.of({"A": 6, "B": 2})})
    assert scores.profile is not None
    assert scores.profile.r is None
    assert ScoreFlag.INSUFFICIENT_DATA in scores.profile.flags
    assert scores.items[0].pomp is None


def test_a2_3_profile_follows_the_20_percent_rule():
    items = [KeyedItem.create(f"R{i}", "rate", K) for i in range(5)]
    answered = {f"R{i}": X for i in range(4)}
    assert score_form_items(Form(tuple(items)), answered).profile.r is not None  # 1 of 5 missing
    del answered["R3"]
    scores = score_form_items(Form(tuple(items)), answered)  # 2 of 5 missing
    assert scores.profile.r is None
    assert ScoreFlag.INSUFFICIENT_DATA in scores.profile.flags
    assert scores.items[0].pomp is not None  # item scores stay; the 20% rule is the scales' business
    assert scores.items[4].pomp is None


def test_a2_3_unanswered_form_has_no_profile_score():
    scores = score_form_items(std_form(), {})
    assert scores.profile is not None
    assert scores.profile.r is None
    assert scores.items[0].missing


def test_a2_3_rate_distances_over_partly_rated_items():
    scored = score_item(item("rate", "rate_abs_distance"), RatingResponse.of({"A": 6, "D": 1}))
    assert scored.score == pytest.approx(-0.9, abs=1e-12)
    assert scored.s_min == pytest.approx(-(4.4 + 4.7), abs=1e-12)
    assert score_bounds(item("rate", "rate_abs_distance")) == pytest.approx((-15.8, 0.0))


def test_a2_3_rate_std_is_scored_through_the_form():
    with pytest.raises(InvalidInputError, match="score_form_items"):
        score_item(item("rate"), X)
    with pytest.raises(InvalidInputError):
        score_rate_std([item("single_best")], [None])
    with pytest.raises(InvalidInputError):
        score_rate_std([item("rate")], [])


def test_a2_3_decomposition_refuses_flat_or_mismatched_profiles():
    with pytest.raises(ZeroVarianceError):
        decompose_profile_distance([4, 4, 4], [1, 2, 3])
    with pytest.raises(InvalidInputError):
        decompose_profile_distance([1, 2], [1, 2, 3])
    with pytest.raises(InsufficientDataError):
        decompose_profile_distance([1], [1])


# --- A2.4 rank ------------------------------------------------------------------------------------


def test_a2_4_rank_worked_example():
    # Key ranks A1, C2, B3, D4; the candidate ranks A1, B2, C3, D4.
    ranking = RankResponse(("A", "B", "C", "D"))
    absolute = score_item(item("rank", "rank_abs"), ranking)
    assert (absolute.score, absolute.s_min, absolute.pomp) == (-2.0, -8.0, 0.75)
    rho = score_item(item("rank", "rank_rho"), ranking)
    assert rho.score == pytest.approx(0.80, abs=1e-12)
    assert rho.pomp == pytest.approx(0.90, abs=1e-12)


@pytest.mark.parametrize(("m", "s_min"), [(3, -4), (4, -8), (5, -12)])
def test_a2_4_rank_abs_minimum_is_floor_m_squared_over_2(m, s_min):
    keys = {chr(65 + j): 6.0 - j for j in range(m)}
    worst = RankResponse(tuple(reversed(list(keys))))
    scored = score_item(item("rank", "rank_abs", keys=keys), worst)
    assert scored.s_min == s_min
    assert scored.score == s_min
    assert scored.pomp == 0.0


# --- bad responses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule_item", "response", "error"),
    [
        (item("single_best"), MostLeastResponse("A", "B"), ResponseFormatError),
        (item("single_best"), SingleBestResponse("Z"), UnknownOptionError),
        (item("most_least"), MostLeastResponse("A", "Z"), UnknownOptionError),
        (item("most_least"), RatingResponse.of({"A": 1}), ResponseFormatError),
        (item("rate", "rate_abs_distance"), RatingResponse.of({"A": 7}), RatingOutOfScaleError),
        (item("rate", "rate_abs_distance"), RatingResponse.of({"A": 0}), RatingOutOfScaleError),
        (item("rate", "rate_abs_distance"), RatingResponse.of({"Z": 3}), UnknownOptionError),
        (item("rate", "rate_abs_distance"), RatingResponse(()), ResponseFormatError),
        (item("rank"), RankResponse(("A", "B", "C")), ResponseFormatError),
        (item("rank"), RankResponse(("A", "B", "C", "Z")), UnknownOptionError),
        (item("rank"), SingleBestResponse("A"), ResponseFormatError),
        (item("rank"), "A,B,C,D", ResponseFormatError),
    ],
)
def test_a_response_that_does_not_fit_its_item_raises(rule_item, response, error):
    with pytest.raises(error):
        check_response(rule_item, response)
    with pytest.raises(error):
        score_item(rule_item, response)


def test_rate_std_form_raises_on_a_bad_rating():
    with pytest.raises(RatingOutOfScaleError):
        score_form_items(std_form(), {"SJT-017": RatingResponse.of({"A": 9})})


def test_responses_to_unknown_items_raise():
    with pytest.raises(InvalidInputError):
        score_form_items(std_form(), {"nope": X})


def test_an_unanswered_item_scores_none():
    scored = score_item(item("single_best"), None)
    assert scored.score is None
    assert scored.pomp is None
    assert scored.missing
