"""Batch scoring equals attempt-by-attempt scoring; bad arrays raise typed errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scoring.batch import compile_form, encode_responses, score_batch
from scoring.competencies import score_attempt
from scoring.errors import (
    DuplicateRankError,
    InvalidInputError,
    RatingOutOfScaleError,
    ResponseFormatError,
    UnknownOptionError,
)
from scoring.items import (
    RULES_BY_FORMAT,
    Form,
    KeyedItem,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    ResponseFormat,
    SingleBestResponse,
)

COMPETENCIES = ("professionalism", "collaboration", "resilience")


def random_form(rng: np.random.Generator, n_items: int = 24) -> Form:
    """A form cycling through every (format, rule) pair, with 3-5 options and random keys and weights."""
    pairs = [(f, rule) for f in ResponseFormat for rule in sorted(RULES_BY_FORMAT[f])]
    items = []
    for i in range(n_items):
        response_format, rule = pairs[i % len(pairs)]
        m = int(rng.integers(3, 6))
        keys = np.round(rng.uniform(1, 6, size=m), 1)
        while len(set(np.sort(keys)[-2:])) < 2 or len(set(np.sort(keys)[:2])) < 2:
            keys = np.round(rng.uniform(1, 6, size=m), 1)
        weights = {c: float(rng.choice([0.0, 0.5, 1.0])) for c in COMPETENCIES}
        items.append(
            KeyedItem.create(
                f"I{i:02d}",
                response_format,
                {chr(65 + j): float(k) for j, k in enumerate(keys)},
                rule=rule,
                weights=weights,
                item_weight=float(rng.choice([0.5, 1.0, 2.0])),
            )
        )
    return Form(tuple(items), competencies=COMPETENCIES)


def random_response(rng: np.random.Generator, item: KeyedItem, missing: float):
    if rng.random() < missing:
        return None
    ids = list(item.option_ids)
    if item.response_format is ResponseFormat.SINGLE_BEST:
        return SingleBestResponse(str(rng.choice(ids)))
    if item.response_format is ResponseFormat.MOST_LEAST:
        most, least = rng.choice(ids, size=2, replace=False)
        return MostLeastResponse(str(most), str(least))
    if item.response_format is ResponseFormat.RANK:
        return RankResponse(tuple(str(o) for o in rng.permutation(ids)))
    rated = [o for o in ids if rng.random() > missing / 2] or ids[:1]
    return RatingResponse.of({o: int(rng.integers(1, 7)) for o in rated})


def random_attempts(rng: np.random.Generator, form: Form, n: int, missing: float = 0.1):
    return [{item.item_id: random_response(rng, item, missing) for item in form.items} for _ in range(n)]


def same(a: float | None, b: float) -> bool:
    return (a is None and math.isnan(b)) or (a is not None and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12))


@pytest.mark.parametrize("seed", range(6))
def test_batch_equals_attempt_by_attempt_scoring(seed):
    rng = np.random.default_rng(seed)
    form = random_form(rng)
    attempts = random_attempts(rng, form, 60, missing=[0.0, 0.05, 0.15, 0.3, 0.1, 0.2][seed])
    # a flat profile and an unanswered attempt
    attempts.append(
        {
            item.item_id: RatingResponse.of(dict.fromkeys(item.option_ids, 4))
            if item.response_format is ResponseFormat.RATE
            else random_response(rng, item, 0)
            for item in form.items
        }
    )
    attempts.append({})
    compiled = compile_form(form)
    batch = score_batch(compiled, encode_responses(compiled, attempts))
    for a, responses in enumerate(attempts):
        single = score_attempt(form, responses)
        for i, item_score in enumerate(single.items.items):
            assert same(item_score.score, batch.item_scores[a, i]), (a, i)
            assert same(item_score.pomp, batch.item_pomp[a, i]), (a, i)
        profile = single.profile
        assert profile is not None
        assert same(profile.r, batch.profile_r[a])
        assert ("flat_profile" in profile.flags) == batch.flat_profile[a]
        assert ("insufficient_data" in profile.flags) == batch.profile_insufficient[a]
        assert same(single.overall.raw, batch.overall[a])
        assert (single.overall.raw is None) == batch.overall_insufficient[a]
        for c, competency in enumerate(single.competencies):
            assert same(competency.raw, batch.competencies[a, c])
            assert competency.meets_minimum_content == batch.meets_minimum_content[c]
    assert batch.flat_profile[-2]
    assert batch.overall_insufficient[-1]


def small_form() -> Form:
    keys = {"A": 5.4, "B": 2.1, "C": 3.8, "D": 1.3}
    return Form(
        (
            KeyedItem.create("sb", "single_best", keys),
            KeyedItem.create("ml", "most_least", keys),
            KeyedItem.create("rt", "rate", keys),
            KeyedItem.create("rk", "rank", {**keys, "E": 4.5}),
        )
    )


def valid_row() -> np.ndarray:
    nan = np.nan
    return np.array(
        [
            [0, 0, 1, 0, nan],  # single best: C
            [1, -1, 0, 0, nan],  # most A, least B
            [6, 3, 4, 1, nan],  # ratings
            [1, 3, 2, 5, 4],  # ranks
        ],
        dtype=float,
    )[None]


def test_valid_row_scores():
    compiled = compile_form(small_form())
    scores = score_batch(compiled, valid_row())
    assert scores.item_scores[0, 0] == 0.0
    assert scores.item_scores[0, 1] == 1.0
    assert scores.profile_r[0] == pytest.approx(0.97305, abs=1e-5)
    assert scores.item_pomp.shape == (1, 4)


@pytest.mark.parametrize(
    ("item", "values", "error"),
    [
        (0, [0, 1, 1, 0], ResponseFormatError),  # two best answers
        (0, [0, 0, 0, 0], ResponseFormatError),  # no answer but not NaN
        (0, [0, 0.5, 0, 0], ResponseFormatError),  # not 0/1
        (0, [0, np.nan, 1, 0], ResponseFormatError),  # partly answered
        (1, [1, 1, 0, -1], ResponseFormatError),  # two "most"
        (1, [1, 0, 0, 0], ResponseFormatError),  # no "least"
        (2, [7, 3, 4, 1], RatingOutOfScaleError),
        (2, [0, 3, 4, 1], RatingOutOfScaleError),
        (2, [2.5, 3, 4, 1], RatingOutOfScaleError),
        (2, [np.inf, 3, 4, 1], RatingOutOfScaleError),
        (3, [1, 1, 2, 5, 4], DuplicateRankError),
        (3, [1, 2, 3, 4, 6], DuplicateRankError),
        (3, [1, 2, 3.5, 4, 5], DuplicateRankError),
    ],
)
def test_a_response_that_does_not_fit_raises_a_typed_error(item, values, error):
    data = valid_row()
    data[0, item, : len(values)] = values
    with pytest.raises(error, match="attempt 0"):
        score_batch(compile_form(small_form()), data)


def test_an_answer_to_an_option_that_does_not_exist_raises():
    data = np.repeat(valid_row(), 3, axis=0)
    data[2, 0, 4] = 1.0
    with pytest.raises(UnknownOptionError, match="attempt 2, item sb"):
        score_batch(compile_form(small_form()), data)


def test_the_error_names_the_attempt_in_a_later_chunk():
    data = np.repeat(valid_row(), 3000, axis=0)
    data[2500, 2, 0] = 9
    with pytest.raises(RatingOutOfScaleError, match="attempt 2500, item rt"):
        score_batch(compile_form(small_form()), data)


@pytest.mark.parametrize("shape", [(1, 4), (1, 3, 5), (1, 4, 3)])
def test_a_wrong_shape_raises(shape):
    with pytest.raises(InvalidInputError):
        score_batch(compile_form(small_form()), np.zeros(shape))


def test_a_non_numeric_array_raises():
    with pytest.raises(InvalidInputError):
        score_batch(compile_form(small_form()), [[["a"] * 5] * 4])


def test_extra_option_columns_must_be_nan():
    data = np.concatenate([valid_row(), np.full((1, 4, 2), np.nan)], axis=2)
    assert score_batch(compile_form(small_form()), data).item_scores.shape == (1, 4)
    data[0, 2, 6] = 3
    with pytest.raises(UnknownOptionError):
        score_batch(compile_form(small_form()), data)


def test_an_unanswered_attempt_scores_none_everywhere():
    data = np.full((1, 4, 5), np.nan)
    scores = score_batch(compile_form(small_form()), data)
    assert np.isnan(scores.item_pomp).all()
    assert scores.overall_insufficient[0]
    assert np.isnan(scores.overall[0])
    assert scores.profile_insufficient[0]


def test_zero_attempts_give_empty_results():
    scores = score_batch(compile_form(small_form()), np.empty((0, 4, 5)))
    assert scores.overall.shape == (0,)


def test_encode_responses_rejects_an_unknown_item():
    with pytest.raises(InvalidInputError):
        encode_responses(compile_form(small_form()), [{"nope": SingleBestResponse("A")}])


def test_batch_results_carry_the_algorithm_version():
    from scoring import ALGORITHM_VERSION

    assert score_batch(compile_form(small_form()), valid_row()).algorithm_version == ALGORITHM_VERSION
