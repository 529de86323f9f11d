"""The skills vocabulary, the ESCO occupations and the curated aliases (taxonomy.vocabulary)."""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from taxonomy import vocabulary
from taxonomy.text import normalise


def test_counts() -> None:
    assert len(vocabulary.occupations()) == 147
    assert len(vocabulary.skills()) >= 1_900
    assert sum(s.kind == "transversal" for s in vocabulary.skills()) >= 90


def test_keys_are_unique_lower_case_labels() -> None:
    keys = [s.key for s in vocabulary.skills()]
    assert len(keys) == len(set(keys))
    for item in vocabulary.skills():
        assert item.key == vocabulary.skill_key(item.label) == item.label.lower()
        assert item.key == item.key.strip() and "  " not in item.key and "\xa0" not in item.key
        assert vocabulary.is_skill_key(item.key)


def test_every_skill_of_every_occupation_is_in_the_vocabulary() -> None:
    for item in vocabulary.occupations():
        assert item.essential_keys, item.label
        for key in item.skill_keys:
            assert vocabulary.is_skill_key(key), (item.label, key)
        assert len(set(item.skill_keys)) == len(item.skill_keys), item.label


def test_the_vocabulary_is_the_union_of_occupation_and_transversal_skills() -> None:
    from_occupations = {key for item in vocabulary.occupations() for key in item.skill_keys}
    transversal = {s.key for s in vocabulary.skills() if s.kind == "transversal"}
    assert from_occupations | transversal == {s.key for s in vocabulary.skills()}


def test_transversal_skills_carry_their_esco_fields() -> None:
    work_in_teams = vocabulary.skill("work in teams")
    assert work_in_teams.kind == "transversal"
    assert work_in_teams.uri == "http://data.europa.eu/esco/skill/60c78287-22eb-4103-9c8c-28deaa460da0"
    assert work_in_teams.reuse_level == "transversal"
    assert work_in_teams.description.startswith("Work confidently within a group")
    assert "teamwork" in work_in_teams.aliases
    assert work_in_teams.group == "collaborating in teams and networks"
    for item in vocabulary.skills():
        if item.kind == "transversal":
            assert item.uri and item.uri.startswith("http://data.europa.eu/esco/skill/")
            assert item.reuse_level in {"transversal", "cross-sector"}
            assert item.description


def test_occupational_skills_have_no_invented_fields() -> None:
    spreadsheets = vocabulary.skill("use spreadsheets software")
    assert spreadsheets.kind == "occupational"
    assert spreadsheets.uri is None and spreadsheets.reuse_level is None and spreadsheets.description == ""
    assert "Excel" in spreadsheets.aliases


def test_esco_whitespace_quirks_are_cleaned() -> None:
    # ESCO writes "plan " and "assess\xa0candidates"; the keys are clean.
    assert vocabulary.skill("plan").label == "plan"
    assert vocabulary.is_skill_key("assess candidates")
    assert vocabulary.is_skill_key("promote ideas, products, services")


def test_skill_accepts_a_label_in_any_case_and_raises_for_others() -> None:
    assert vocabulary.skill("Use Spreadsheets  Software").key == "use spreadsheets software"
    assert vocabulary.skill("ABAP").key == "abap"
    with pytest.raises(KeyError):
        vocabulary.skill("juggling chainsaws")
    assert not vocabulary.is_skill_key("Use spreadsheets software")


def test_occupation_lookup() -> None:
    first = vocabulary.occupations()[0]
    assert vocabulary.occupation(first.uri) is first
    uris = [o.uri for o in vocabulary.occupations()]
    assert len(uris) == len(set(uris))
    payroll = next(o for o in vocabulary.occupations() if o.label == "payroll clerk")
    assert payroll.isco_code == "4313"
    assert "manage payroll" in payroll.essential_keys
    assert payroll.description
    with pytest.raises(KeyError):
        vocabulary.occupation("http://data.europa.eu/esco/occupation/not-there")


def test_occupations_with_skill() -> None:
    essential = {o.label for o in vocabulary.occupations_with_skill("customer service", "essential")}
    assert {"receptionist", "customer service representative"} <= essential
    anywhere = vocabulary.occupations_with_skill("customer service")
    assert {o.label for o in anywhere} >= essential
    assert vocabulary.occupations_with_skill("juggling chainsaws") == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("payroll clerk", "payroll clerk"),
        ("Payroll Clerks", "payroll clerk"),
        ("receptionist", "receptionist"),
        ("help desk", "ICT help desk agent"),
        ("4313", "payroll clerk"),
    ],
)
def test_search_occupations(text: str, expected: str) -> None:
    found = vocabulary.search_occupations(text)
    assert found and found[0].label == expected


def test_search_occupations_edges() -> None:
    assert vocabulary.search_occupations("") == []
    assert vocabulary.search_occupations("receptionist", limit=0) == []
    assert len(vocabulary.search_occupations("clerk", limit=3)) == 3
    assert vocabulary.search_occupations("zxqv") == []
    assert all(o.isco_code.startswith("43") for o in vocabulary.search_occupations("43", limit=50))


# --- Curated aliases -------------------------------------------------------------------------------


def curated_rows() -> list[dict[str, str]]:
    with (vocabulary.DATA_DIR / "aliases.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_alias_file_shape() -> None:
    rows = curated_rows()
    assert len(rows) >= 60
    assert set(rows[0]) == {"alias", "skill_key", "note"}


def test_every_curated_alias_points_at_an_existing_key() -> None:
    missing = [
        (row["alias"], row["skill_key"]) for row in curated_rows() if not vocabulary.is_skill_key(row["skill_key"])
    ]
    assert missing == []


def test_curated_aliases_are_unambiguous_and_not_labels() -> None:
    rows = curated_rows()
    counts = Counter(normalise(row["alias"]) for row in rows)
    assert [alias for alias, n in counts.items() if n > 1] == []
    labels = {normalise(s.label) for s in vocabulary.skills()}
    assert [row["alias"] for row in rows if normalise(row["alias"]) in labels] == []


@pytest.mark.parametrize(
    ("alias", "key"),
    [
        ("Excel", "use spreadsheets software"),
        ("spreadsheets", "use spreadsheets software"),
        ("accounts payable", "handle financial transactions"),
        ("AP", "handle financial transactions"),
        ("accounts receivable", "follow up accounts receivables"),
        ("payroll", "manage payroll"),
        ("invoicing", "issue sales invoices"),
        ("customer support", "customer service"),
        ("ticketing", "use ict ticketing system"),
        ("help desk", "provide ict support"),
        ("data entry", "process data"),
        ("bookkeeping", "maintain financial records"),
        ("onboarding", "introduce new employees"),
        ("recruitment", "recruit employees"),
        ("filing", "file documents"),
        ("minute taking", "write meeting reports"),
        ("scheduling", "plan schedule"),
    ],
)
def test_common_back_office_phrasings(alias: str, key: str) -> None:
    assert any(a.alias == alias and a.skill_key == key and a.source == "rapport" for a in vocabulary.aliases())
    assert alias in vocabulary.skill(key).aliases


def test_qualified_labels_get_their_bare_form_as_an_alias() -> None:
    python = vocabulary.skill("python (computer programming)")
    assert "Python" in python.aliases
