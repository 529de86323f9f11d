"""The report wording (reports/library/guide.yaml) covers every default competency and follows its rules.

Client-facing text is behavioural and hedged to the test; candidate feedback reads at US grade 8 or below
and never compares the candidate with anyone; the generic entry treats an agency's competency name as text.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from reports.guide import GUIDE_FILE, GUIDE_VERSION, CompetencyGuide, guide_for, load_guides, lower_name
from scenarios.readability import flesch_kincaid_grade

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CODES = [
    spec["code"]
    for spec in yaml.safe_load((ROOT / "scenarios" / "library" / "competencies.yaml").read_text(encoding="utf-8"))
]
SAMPLE_NAMES = ["Attention to detail", "Stakeholder relationship management", "Numeracy"]

NORM_WORDS = re.compile(
    r"percent|%|percentile|average|other candidates|other people|\bnorms?\b|\bscores?\b|\branks?\b|compared"
    r"|\bthan (?:most|others|other)\b|\bmost (?:people|candidates)\b|\d"
    r"|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|half|hundred)\b",
    re.IGNORECASE,
)
PERSONALITY_OR_PREDICTION = re.compile(
    r"personality|\b(?:is|are) (?:a|an) \w+ (?:person|individual)\b|\bwill (?:perform|succeed|excel|thrive)\b",
    re.IGNORECASE,
)


def all_texts(guide: CompetencyGuide) -> list[str]:
    return [
        guide.strength,
        guide.development,
        *(q.question for q in guide.questions),
        *(q.probe for q in guide.questions),
        *guide.listen_for,
        *guide.warning_signs,
        guide.feedback_strength,
        guide.feedback_tip,
    ]


def feedback_cases() -> list[tuple[str, str]]:
    return [(code, code.title()) for code in DEFAULT_CODES] + [("agency_own", name) for name in SAMPLE_NAMES]


def test_the_seven_default_codes_are_the_library_s() -> None:
    assert len(DEFAULT_CODES) == 7
    assert set(load_guides()[0]) == set(DEFAULT_CODES)


@pytest.mark.parametrize("code", DEFAULT_CODES)
def test_every_default_code_has_every_field(code: str) -> None:
    guide = guide_for(code, "Shown name")
    assert guide.code == code
    assert guide.name == "Shown name"
    for field in fields(CompetencyGuide):
        assert getattr(guide, field.name), field.name
    assert len(guide.questions) == 3
    assert len(guide.listen_for) == 3
    assert len(guide.warning_signs) == 2
    assert all(text.strip() for text in all_texts(guide))


@pytest.mark.parametrize("code", [*DEFAULT_CODES, "agency_own"])
def test_client_text_is_behavioural_and_hedged_to_the_test(code: str) -> None:
    guide = guide_for(code, "Attention to detail")
    assert guide.strength.startswith("In the test situations")
    assert guide.development.startswith("Chose fewer of the responses rated effective")
    assert "interview" in guide.development
    assert all(
        q.question.startswith("Tell me about a time") or q.question.startswith("Tell me about a recent time")
        for q in guide.questions
    )
    assert all(q.probe.endswith("?") for q in guide.questions)
    assert not [t for t in all_texts(guide) if PERSONALITY_OR_PREDICTION.search(t)]


@pytest.mark.parametrize(("code", "name"), feedback_cases())
def test_feedback_reads_at_grade_8_or_below(code: str, name: str) -> None:
    guide = guide_for(code, name)
    for text in (guide.feedback_strength, guide.feedback_tip):
        assert flesch_kincaid_grade(text) <= 8.0, (text, flesch_kincaid_grade(text))
    assert flesch_kincaid_grade(f"{guide.feedback_strength} {guide.feedback_tip}") <= 8.0


@pytest.mark.parametrize(("code", "name"), feedback_cases())
def test_feedback_has_no_norms_scores_or_numbers(code: str, name: str) -> None:
    guide = guide_for(code, name)
    for text in (guide.feedback_strength, guide.feedback_tip):
        assert NORM_WORDS.search(text) is None, text
        assert re.search(r"\byou(?:r|rs|rself)?\b", text, re.IGNORECASE), text


def test_the_norm_check_catches_comparisons() -> None:
    for text in (
        "You scored 70.",
        "Above average.",
        "Better than other candidates.",
        "In the top half.",
        "Your percentile.",
        "Compared with the norm group.",
    ):
        assert NORM_WORDS.search(text), text
    assert NORM_WORDS.search("Things went back to normal.") is None


def test_unknown_code_falls_back_to_the_generic_entry() -> None:
    guide = guide_for("data_entry_accuracy", "Data entry Accuracy")
    assert guide.code == "data_entry_accuracy"
    assert guide.name == "Data entry Accuracy"
    assert '"Data entry Accuracy"' in guide.strength
    assert "data entry accuracy" in guide.questions[0].question
    assert "data entry accuracy" in guide.feedback_strength
    assert not [t for t in all_texts(guide) if "{" in t or "}" in t]
    assert len(guide.questions) == 3


@pytest.mark.parametrize(
    "hostile",
    ["{name} <script>", "{0.__class__}", "{name_lower}", "{name_lower} {name}", "%(name)s {{x}}", "{}", "{"],
)
def test_a_hostile_name_stays_literal_text(hostile: str) -> None:
    guide = guide_for("agency_own", hostile)
    texts = all_texts(guide)
    assert any(hostile in t for t in texts)
    assert any(lower_name(hostile) in t for t in texts)
    for text in texts:
        leftover = text.replace(hostile, "").replace(lower_name(hostile), "")
        assert "{" not in leftover and "}" not in leftover, text
        assert "class '" not in text
    assert guide.name == hostile


def test_names_are_whitespace_normalised_plain_text() -> None:
    assert guide_for("agency_own", "  Team\n  spirit ").name == "Team spirit"
    assert guide_for("composure", " Keeping calm ").name == "Keeping calm"


def test_lower_name_keeps_acronyms() -> None:
    assert lower_name("Attention To Detail") == "attention to detail"
    assert lower_name("SAP Data Entry") == "SAP data entry"
    assert lower_name("PowerBI Reporting") == "PowerBI reporting"


def test_guide_version_is_a_short_hash_of_the_file() -> None:
    import hashlib

    assert hashlib.sha256(GUIDE_FILE.read_bytes()).hexdigest()[:12] == GUIDE_VERSION


def test_load_guides_is_cached_and_read_only() -> None:
    defaults, _ = load_guides()
    assert load_guides()[0] is defaults
    with pytest.raises(TypeError):
        defaults["professionalism"] = defaults["communication"]  # type: ignore[index]


def test_a_question_is_a_question_and_probe_pair() -> None:
    question, probe = guide_for("communication", "Communication").questions[0]
    assert question.startswith("Tell me about a time")
    assert probe.endswith("?")
