"""ISCED, NACE, skill levels and language fluency (taxonomy.reference)."""

from __future__ import annotations

import pytest

from taxonomy import reference


def test_isced_levels() -> None:
    assert list(reference.ISCED_LEVELS) == list(range(9))
    assert reference.ISCED_LEVELS[6] == "Bachelor's or equivalent level"
    assert reference.isced_label(3) == "Upper secondary education"
    with pytest.raises(KeyError):
        reference.isced_label(9)


@pytest.mark.parametrize(
    ("study_type", "level"),
    [
        ("High school diploma", 3),
        ("GCSE", 2),
        ("A levels", 3),
        ("A-Levels", 3),
        ("Associate", 5),
        ("Associate's degree", 5),
        ("HND", 5),
        ("Bachelor", 6),
        ("Bachelor's degree", 6),
        ("BSc", 6),
        ("B.Sc.", 6),
        ("BA (Hons) Accounting", 6),
        ("Master", 7),
        ("MSc", 7),
        ("M.B.A.", 7),
        ("Master of Business Administration (MBA)", 7),
        ("PhD", 8),
        ("Ph.D. in Economics", 8),
        ("Certificate", None),
        ("Diploma", None),
        ("Diploma in Nursing", None),
        ("", None),
        ("Underwater basket weaving", None),
    ],
)
def test_isced_level_of_degree_names(study_type: str, level: int | None) -> None:
    assert reference.isced_level(study_type) == level


def test_every_education_alias_is_a_level_or_none() -> None:
    assert all(level is None or level in reference.ISCED_LEVELS for level in reference.EDUCATION_ALIASES.values())


def test_nace_sections() -> None:
    assert list(reference.NACE_SECTIONS) == [chr(c) for c in range(ord("A"), ord("U") + 1)]
    assert reference.NACE_SECTIONS["C"] == "Manufacturing"
    assert reference.NACE_SECTIONS["Q"] == "Human health and social work activities"
    assert reference.NACE_SECTIONS["K"] == "Financial and insurance activities"
    assert reference.NACE_SECTIONS["N"] == "Administrative and support service activities"


@pytest.mark.parametrize(
    ("code", "section"),
    [("Q", "Q"), ("q", "Q"), ("86", "Q"), ("86.10", "Q"), ("Q86.1", "Q"), ("10", "C"), ("01.11", "A"), ("99", "U")],
)
def test_nace_section_of_codes(code: str, section: str) -> None:
    assert reference.nace_section(code) == section
    assert reference.nace_label(code) == reference.NACE_SECTIONS[section]


@pytest.mark.parametrize("code", ["", "V", "C86", "04", "100", "healthcare"])
def test_nace_section_of_other_text(code: str) -> None:
    assert reference.nace_section(code) is None
    assert reference.nace_label(code) is None


@pytest.mark.parametrize(
    ("word", "level"),
    [
        ("beginner", 1),
        ("Novice", 1),
        ("Intermediate", 3),
        ("advanced", 4),
        ("Expert", 5),
        ("Master", 5),
        ("4/5", 4),
        ("3 out of 5", 3),
        ("wizard", None),
        ("", None),
        ("6", None),
    ],
)
def test_skill_level(word: str, level: int | None) -> None:
    assert reference.skill_level(word) == level


def test_skill_level_labels_cover_one_to_five() -> None:
    assert list(reference.SKILL_LEVEL_LABELS) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Native speaker", "native"),
        ("mother tongue", "native"),
        ("B2", "B2"),
        ("c1", "C1"),
        ("English (C1)", "C1"),
        ("Fluent", "C1"),
        ("Intermediate", "B1"),
        ("Full professional proficiency", "C1"),
        ("Klingon", None),
    ],
)
def test_fluency_level(text: str, code: str | None) -> None:
    assert reference.fluency_level(text) == code


def test_fluency_order_and_labels() -> None:
    assert reference.CEFR_LEVELS == ("A1", "A2", "B1", "B2", "C1", "C2", "native")
    assert set(reference.FLUENCY_LABELS) == set(reference.CEFR_LEVELS)
    assert reference.fluency_rank("A1") < reference.fluency_rank("B2") < reference.fluency_rank("native")
