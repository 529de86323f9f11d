"""Property tests: shift invariance of rate_std, option-order invariance, POMP bounds, determinism."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scoring.batch import compile_form, encode_responses, score_batch
from scoring.competencies import score_attempt
from scoring.items import (
    RULES_BY_FORMAT,
    Form,
    KeyedItem,
    KeyedOption,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    ResponseFormat,
    SingleBestResponse,
)
from scoring.rules import score_form_items

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FORMATS = list(ResponseFormat)


@st.composite
def keyed_items(draw, item_id: str = "I", response_format: ResponseFormat | None = None) -> KeyedItem:
    response_format = response_format or draw(st.sampled_from(FORMATS))
    rule = draw(st.sampled_from(sorted(RULES_BY_FORMAT[response_format])))
    m = draw(st.integers(3, 5))
    ids = draw(st.lists(st.sampled_from("ABCDEFGH"), min_size=m, max_size=m, unique=True))
    keys = draw(st.lists(st.integers(10, 60), min_size=m, max_size=m, unique=True))
    weights = draw(st.dictionaries(st.sampled_from(["prof", "collab"]), st.sampled_from([0.0, 0.5, 1.0])))
    return KeyedItem.create(
        item_id,
        response_format,
        {option: key / 10 for option, key in zip(ids, keys, strict=True)},
        rule=rule,
        weights=weights,
        item_weight=draw(st.sampled_from([0.5, 1.0, 2.0])),
    )


@st.composite
def responses_for(draw, item: KeyedItem, allow_missing: bool = True):
    if allow_missing and draw(st.integers(0, 9)) == 0:
        return None
    ids = list(item.option_ids)
    if item.response_format is ResponseFormat.SINGLE_BEST:
        return SingleBestResponse(draw(st.sampled_from(ids)))
    if item.response_format is ResponseFormat.MOST_LEAST:
        most, least = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
        return MostLeastResponse(most, least)
    if item.response_format is ResponseFormat.RANK:
        return RankResponse(tuple(draw(st.permutations(ids))))
    rated = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids), unique=True))
    return RatingResponse.of({option: draw(st.integers(1, 6)) for option in rated})


@st.composite
def forms_and_responses(draw, max_items: int = 8):
    n = draw(st.integers(1, max_items))
    items = tuple(draw(keyed_items(f"I{i}")) for i in range(n))
    form = Form(items)
    responses = {item.item_id: draw(responses_for(item)) for item in items}
    return form, responses


@st.composite
def rate_forms_with_shiftable_ratings(draw):
    n = draw(st.integers(1, 4))
    items = tuple(draw(keyed_items(f"R{i}", ResponseFormat.RATE)) for i in range(n))
    shift = draw(st.integers(-5, 5))
    low, high = max(1, 1 - shift), min(6, 6 - shift)
    ratings = {
        item.item_id: RatingResponse.of({option: draw(st.integers(low, high)) for option in item.option_ids})
        for item in items
    }
    shifted = {
        item_id: RatingResponse.of({option: value + shift for option, value in response.ratings})
        for item_id, response in ratings.items()
    }
    return Form(items), ratings, shifted


def close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=1e-9))


@PROPERTY_SETTINGS
@given(rate_forms_with_shiftable_ratings())
def test_rate_std_is_unchanged_by_a_constant_shift_of_the_ratings(case):
    form, ratings, shifted = case
    before, after = score_form_items(form, ratings), score_form_items(form, shifted)
    assert before.profile is not None and after.profile is not None
    assert close(before.profile.r, after.profile.r)
    assert before.profile.flags == after.profile.flags
    for first, second in zip(before.items, after.items, strict=True):
        if first.rule == "rate_std":
            assert close(first.score, second.score)


@PROPERTY_SETTINGS
@given(st.data())
def test_scores_are_unchanged_by_a_reordering_of_options(data):
    form, responses = data.draw(forms_and_responses())
    reordered_items = []
    for item in form.items:
        order = data.draw(st.permutations(range(len(item.options))))
        reordered_items.append(
            KeyedItem(
                item.item_id,
                item.response_format,
                tuple(KeyedOption(item.options[j].option_id, item.options[j].key_value) for j in order),
                item.scoring_rule,
                item.scale,
                item.competency_weights,
                item.item_weight,
            )
        )
    reordered = Form(tuple(reordered_items), competencies=form.competencies)
    original, permuted = score_attempt(form, responses), score_attempt(reordered, responses)
    for first, second in zip(original.items.items, permuted.items.items, strict=True):
        assert close(first.score, second.score)
        assert close(first.pomp, second.pomp)
    assert close(original.overall.raw, permuted.overall.raw)
    batch_original = score_batch(compile_form(form), encode_responses(compile_form(form), [responses]))
    batch_permuted = score_batch(compile_form(reordered), encode_responses(compile_form(reordered), [responses]))
    np.testing.assert_allclose(batch_original.item_pomp, batch_permuted.item_pomp, atol=1e-9)


@PROPERTY_SETTINGS
@given(forms_and_responses())
def test_every_pomp_lies_in_0_1(case):
    form, responses = case
    attempt = score_attempt(form, responses)
    for item_score in attempt.items.items:
        assert item_score.pomp is None or 0.0 <= item_score.pomp <= 1.0
    for scale in [attempt.overall, *(c.score for c in attempt.competencies)]:
        assert scale.raw is None or 0.0 <= scale.raw <= 1.0
    compiled = compile_form(form)
    pomps = score_batch(compiled, encode_responses(compiled, [responses])).item_pomp
    assert np.all(np.isnan(pomps) | ((pomps >= 0.0) & (pomps <= 1.0)))


@PROPERTY_SETTINGS
@given(forms_and_responses())
def test_the_same_input_always_gives_the_same_output(case):
    form, responses = case
    assert score_attempt(form, responses) == score_attempt(form, dict(responses))
    compiled = compile_form(form)
    encoded = encode_responses(compiled, [responses, responses])
    first, second = score_batch(compiled, encoded), score_batch(compiled, encoded.copy())
    np.testing.assert_array_equal(first.item_scores, second.item_scores)
    np.testing.assert_array_equal(first.overall, second.overall)
    np.testing.assert_array_equal(first.item_scores[0], first.item_scores[1])


@PROPERTY_SETTINGS
@given(forms_and_responses())
def test_batch_scoring_equals_attempt_scoring(case):
    form, responses = case
    attempt = score_attempt(form, responses)
    compiled = compile_form(form)
    batch = score_batch(compiled, encode_responses(compiled, [responses]))
    expected = [np.nan if s.pomp is None else s.pomp for s in attempt.items.items]
    np.testing.assert_allclose(batch.item_pomp[0], expected, atol=1e-12)
    overall = np.nan if attempt.overall.raw is None else attempt.overall.raw
    np.testing.assert_allclose(batch.overall[0], overall, atol=1e-12)
