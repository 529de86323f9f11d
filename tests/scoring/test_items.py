"""A1 keyed items and responses; A2.0 expert keys."""

from __future__ import annotations

import math

import pytest

from scoring.errors import (
    DuplicateRankError,
    InsufficientDataError,
    InvalidItemError,
    RatingOutOfScaleError,
    ResponseFormatError,
)
from scoring.items import (
    DEFAULT_RULE,
    Form,
    KeyedItem,
    KeyedOption,
    MostLeastResponse,
    RankResponse,
    RatingResponse,
    ResponseFormat,
    Scale,
    ScoringRule,
    estimate_expert_key,
    key_uncertain_options,
)

KEYS = {"A": 5.4, "B": 2.1, "C": 3.8, "D": 1.3}


def test_a2_0_expert_key_worked_example():
    # Five SMEs rate option A as 6, 5, 5, 6, 5: key_value = 5.4, key_sd (ddof=1) = 0.5477.
    key = estimate_expert_key([6, 5, 5, 6, 5])
    assert key.key_value == pytest.approx(5.4, abs=1e-12)
    assert key.key_sd == pytest.approx(0.5477, abs=1e-4)
    assert key.key_n == 5


def test_a2_0_expert_key_needs_two_ratings():
    with pytest.raises(InsufficientDataError):
        estimate_expert_key([5])


def test_a1_derived_key_fields_of_the_example_item():
    item = KeyedItem.create("SJT-017", "rate", KEYS, weights={"professionalism": 1.0, "collaboration": 0.5})
    assert item.key_ranks == {"A": 1, "C": 2, "B": 3, "D": 4}
    assert item.best_option == "A"
    assert item.worst_option == "D"
    assert item.rule is ScoringRule.RATE_STD
    assert item.weights == {"professionalism": 1.0, "collaboration": 0.5}


def test_a1_key_ranks_break_ties_by_option_id():
    item = KeyedItem.create("i", "rank", {"B": 4.0, "A": 4.0, "C": 2.0})
    assert item.key_ranks == {"A": 1, "B": 2, "C": 3}


@pytest.mark.parametrize(("response_format", "rule"), list(DEFAULT_RULE.items()))
def test_decisions_default_rule_per_format(response_format, rule):
    assert KeyedItem.create("i", response_format, KEYS).rule is rule


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keys": {"A": 5.0, "B": 2.0}}, "at least 3"),
        ({"keys": {"A": 6.5, "B": 2.0, "C": 3.0}}, "off the scale"),
        ({"keys": {"A": 0.5, "B": 2.0, "C": 3.0}}, "off the scale"),
        ({"keys": {"A": math.nan, "B": 2.0, "C": 3.0}}, "off the scale"),
        ({"keys": {"A": 5.0, "B": 5.0, "C": 3.0}, "response_format": "single_best"}, "tie"),
        ({"keys": {"A": 5.0, "B": 5.0, "C": 3.0}, "response_format": "most_least"}, "tie"),
        ({"keys": {"A": 5.0, "B": 2.0, "C": 2.0}, "response_format": "most_least"}, "tie"),
        ({"keys": {"A": 3.0, "B": 3.0, "C": 3.0}}, "same key value"),
        ({"rule": "rank_rho"}, "does not score"),
        ({"rule": "no_such_rule"}, "unknown scoring rule"),
        ({"response_format": "essay"}, "unknown response format"),
        ({"weights": {"prof": -1.0}}, "weights"),
        ({"weights": {"prof": math.inf}}, "weights"),
        ({"weights": {"prof": "heavy"}}, "weights"),
        ({"item_weight": -1.0}, "item_weight"),
        ({"item_id": ""}, "item_id"),
    ],
)
def test_a1_validation_blocks_bad_items(kwargs, message):
    arguments = {"item_id": "i", "response_format": "rate", "keys": KEYS} | kwargs
    with pytest.raises(InvalidItemError, match=message):
        KeyedItem.create(**arguments)


def test_a1_ties_are_allowed_for_rate_and_rank_items():
    for response_format in ("rate", "rank"):
        KeyedItem.create("i", response_format, {"A": 5.0, "B": 5.0, "C": 3.0})


def test_a1_option_ids_are_unique():
    options = (KeyedOption("A", 5.0), KeyedOption("A", 2.0), KeyedOption("B", 3.0))
    with pytest.raises(InvalidItemError, match="unique"):
        KeyedItem("i", ResponseFormat.RATE, options)


def test_a1_scale_bounds_are_integers_in_order():
    with pytest.raises(InvalidItemError):
        Scale(6, 1)
    with pytest.raises(InvalidItemError):
        Scale(1.5, 6)
    assert Scale(1, 6).midpoint == 3.5


def test_a1_key_uncertain_options_are_warnings():
    options = (
        KeyedOption("A", 5.4, 0.55, 5),
        KeyedOption("B", 5.1, 1.2, 5),  # too much spread; best gap 0.3 < 0.5
        KeyedOption("C", 3.8, 0.84, 4),  # too small a panel
        KeyedOption("D", 1.3, 0.45, 5),
    )
    item = KeyedItem("i", ResponseFormat.SINGLE_BEST, options)
    assert key_uncertain_options(item) == ("A", "B", "C")
    assert key_uncertain_options(KeyedItem("i", ResponseFormat.RATE, options)) == ("B", "C")


def test_a1_form_checks_ids_and_competency_order():
    item = KeyedItem.create("i", "rate", KEYS, weights={"b": 1.0, "a": 1.0})
    assert Form((item,)).competency_order == ("b", "a")
    assert Form((item,), competencies=("a", "b", "c")).competency_order == ("a", "b", "c")
    with pytest.raises(InvalidItemError):
        Form((item, item))
    with pytest.raises(InvalidItemError):
        Form((item,), competencies=("a",))
    with pytest.raises(InvalidItemError):
        Form(())


def test_responses_validate_their_shape():
    with pytest.raises(ResponseFormatError):
        MostLeastResponse("A", "A")
    with pytest.raises(DuplicateRankError):
        RankResponse(("A", "B", "A"))
    with pytest.raises(DuplicateRankError):
        RankResponse.from_ranks({"A": 1, "B": 1, "C": 2})
    with pytest.raises(DuplicateRankError):
        RankResponse.from_ranks({"A": 1, "B": 2, "C": 4})
    with pytest.raises(RatingOutOfScaleError):
        RatingResponse.of({"A": 2.5})
    with pytest.raises(RatingOutOfScaleError):
        RatingResponse.of({"A": True})
    with pytest.raises(ResponseFormatError):
        RatingResponse((("A", 1), ("A", 2)))
    assert RankResponse.from_ranks({"B": 2, "A": 1, "C": 3}).order == ("A", "B", "C")
    assert RatingResponse.of({"A": 4.0}).as_dict == {"A": 4}
