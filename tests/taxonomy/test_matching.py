"""Free-text skills -> vocabulary suggestions (taxonomy.matching)."""

from __future__ import annotations

import time

import pytest

from taxonomy import vocabulary
from taxonomy.matching import FUZZY_CAP, SCORE_FLOOR, suggest


def test_exact_label() -> None:
    first = suggest("Use spreadsheets software")[0]
    assert (first.skill_key, first.score, first.reason, first.method) == (
        "use spreadsheets software",
        1.0,
        "same as the ESCO label",
        "label",
    )


def test_normalisation_of_case_punctuation_and_whitespace() -> None:
    first = suggest("  CUSTOMER-service!! ")[0]
    assert (first.skill_key, first.score) == ("customer service", 1.0)


def test_exact_alias() -> None:
    first = suggest("Excel")[0]
    assert first.skill_key == "use spreadsheets software"
    assert first.score == 0.95
    assert first.reason.startswith("known alias of 'use spreadsheets software'")
    assert first.method == "alias"


def test_esco_alternative_label_is_an_alias() -> None:
    first = suggest("cooperate")[0]
    assert (first.skill_key, first.score) == ("work in teams", 0.95)
    assert "ESCO alternative label" in first.reason


def test_every_curated_alias_suggests_its_skill() -> None:
    for entry in vocabulary.aliases():
        if entry.source == "rapport":
            found = {s.skill_key: s.score for s in suggest(entry.alias, limit=10)}
            assert found.get(entry.skill_key) == 0.95, entry


def test_alias_inside_a_longer_phrase() -> None:
    first = suggest("advanced Excel skills")[0]
    assert first.skill_key == "use spreadsheets software"
    assert first.method == "contains"
    assert SCORE_FLOOR <= first.score <= FUZZY_CAP
    assert "excel" in first.reason


@pytest.mark.parametrize(
    ("text", "key", "method"),
    [
        ("bookeeping", "maintain financial records", "spelling"),
        ("accounts recievable", "follow up accounts receivables", "spelling"),
        ("handling customer complaints", "handle customer complaints", "words"),
        ("managing the general ledger", "manage the general ledger", "words"),
        ("payrol", "manage payroll", "words"),
        ("data analysis", "perform data analysis", "words"),
    ],
)
def test_fuzzy_matches_name_their_method(text: str, key: str, method: str) -> None:
    first = suggest(text)[0]
    assert (first.skill_key, first.method) == (key, method)
    assert SCORE_FLOOR <= first.score <= FUZZY_CAP
    assert first.reason


def test_fuzzy_never_outranks_an_exact_match() -> None:
    for text in ("customer service", "payroll", "Excel", "filing"):
        scores = [s.score for s in suggest(text)]
        assert scores[0] >= 0.95 and all(score <= FUZZY_CAP for score in scores[1:])


@pytest.mark.parametrize(
    "text", ["asdkjh qwpoeiru", "xyzzy", "qwerty", "lorem ipsum dolor", "zzzz", "1234", "", "   ", "!!!"]
)
def test_gibberish_gets_no_suggestion(text: str) -> None:
    assert suggest(text) == []


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 8])
def test_never_more_than_limit(limit: int) -> None:
    for text in ("customer service", "data", "manage", "records", "invoice processing"):
        found = suggest(text, limit=limit)
        assert len(found) <= limit


def test_limit_zero_or_negative() -> None:
    assert suggest("Excel", limit=0) == []
    assert suggest("Excel", limit=-1) == []


def test_results_are_ranked_unique_and_bounded() -> None:
    for text in ("customer services", "accounts payable", "management", "scheduling", "ecommerce"):
        found = suggest(text, limit=10)
        assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
        assert len({s.skill_key for s in found}) == len(found)
        for item in found:
            assert SCORE_FLOOR <= item.score <= 1.0
            assert vocabulary.skill(item.skill_key).label == item.label


def test_long_input_is_handled() -> None:
    assert len(suggest("customer service " * 500)) <= 5


def test_suggest_is_fast() -> None:
    suggest("warm up")  # builds the index once
    queries = [
        "Excel",
        "accounts payable",
        "bookeeping",
        "handling customer complaints",
        "asdkjh qwpoeiru",
        "lorem ipsum dolor",
        "customer services",
        "invoice processing",
        "advanced Excel skills",
        "managing the general ledger",
    ] * 5
    started = time.perf_counter()
    for text in queries:
        suggest(text)
    mean_ms = (time.perf_counter() - started) * 1000 / len(queries)
    assert mean_ms < 20, f"{mean_ms:.1f} ms per suggestion"
