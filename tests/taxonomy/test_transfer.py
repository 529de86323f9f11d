"""The shipped skill-transfer table (taxonomy.transfer, taxonomy/data/skill_transfer.csv)."""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re

from taxonomy import vocabulary
from taxonomy.transfer import (
    TRANSFER_SOURCES,
    TransferRow,
    transfer,
    transfer_rows,
    transfer_table_version,
    transfers_from,
    transfers_to,
)


def test_enough_typed_rows() -> None:
    rows = transfer_rows()
    assert len(rows) >= 110
    assert all(isinstance(row, TransferRow) for row in rows)
    assert all(isinstance(row.credit, float) and isinstance(row.reviewed_on, dt.date) for row in rows)


def test_pairs_are_unique_and_directed() -> None:
    pairs = [(row.from_skill, row.to_skill) for row in transfer_rows()]
    assert len(pairs) == len(set(pairs))
    assert all(a != b for a, b in pairs)


def test_both_skills_are_in_the_vocabulary() -> None:
    missing = [
        (row.from_skill, row.to_skill)
        for row in transfer_rows()
        if not (vocabulary.is_skill_key(row.from_skill) and vocabulary.is_skill_key(row.to_skill))
    ]
    assert missing == []


def test_credits() -> None:
    for row in transfer_rows():
        assert 0 < row.credit <= 1
        assert 0.3 <= row.credit <= 0.9, row  # the content team's range for shipped rows


def test_some_transfer_is_asymmetric() -> None:
    by_pair = {(row.from_skill, row.to_skill): row.credit for row in transfer_rows()}
    reversed_pairs = [(a, b) for a, b in by_pair if (b, a) in by_pair]
    assert len(reversed_pairs) >= 40
    assert any(by_pair[a, b] != by_pair[b, a] for a, b in reversed_pairs)


def normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", text.lower()).split())


def test_every_rationale_is_present_and_specific() -> None:
    for row in transfer_rows():
        assert len(row.rationale) >= 40, row
        assert row.rationale[0].isupper() and row.rationale.endswith("."), row


def test_no_rationale_is_a_copy_of_another() -> None:
    texts = [normalised(row.rationale) for row in transfer_rows()]
    assert len(texts) == len(set(texts))
    near = []
    for (i, a), (j, b) in itertools.combinations(enumerate(texts), 2):
        matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
        if matcher.real_quick_ratio() >= 0.85 and matcher.quick_ratio() >= 0.85 and matcher.ratio() >= 0.85:
            near.append((i + 2, j + 2))
    assert near == [], f"near-copy rationales on CSV rows {near}"


def test_reviewer_date_and_source() -> None:
    for row in transfer_rows():
        assert row.reviewer.strip()
        assert row.reviewed_on.year >= 2026
        assert row.source in TRANSFER_SOURCES
    assert {row.source for row in transfer_rows()} <= {"expert", "esco_relation"}


def test_esco_relation_rows_name_an_occupation_where_both_skills_are_essential() -> None:
    rows = [row for row in transfer_rows() if row.source == "esco_relation"]
    assert rows
    for row in rows:
        shared = set(vocabulary.occupations_with_skill(row.from_skill, "essential")) & set(
            vocabulary.occupations_with_skill(row.to_skill, "essential")
        )
        assert shared, row
        assert "ESCO" in row.rationale and "essential" in row.rationale, row
        assert any(item.label in row.rationale for item in shared), row


def test_a_surprising_match_from_healthcare_or_hospitality() -> None:
    front_desk = {"3344", "4224", "4226"}  # medical secretaries, hotel and medical receptionists

    def home(key: str) -> set[str]:
        return {o.isco_code for o in vocabulary.occupations_with_skill(key)}

    row = transfer("answer patients' questions", "respond to customers' inquiries")
    assert row is not None and row.credit >= 0.7
    assert home(row.from_skill) <= front_desk
    surprising = [
        r
        for r in transfer_rows()
        if home(r.from_skill) and home(r.from_skill) <= front_desk and not home(r.to_skill) <= front_desk
    ]
    assert len(surprising) >= 5


def test_lookups() -> None:
    row = transfer("follow up accounts receivables", "perform dunning activities")
    assert row is not None and row.credit == 0.8
    assert transfer("perform dunning activities", "follow up accounts receivables") != row
    assert transfer("use spreadsheets software", "juggling chainsaws") is None
    assert row in transfers_from("follow up accounts receivables")
    assert row in transfers_to("perform dunning activities")
    assert transfers_to("juggling chainsaws") == ()
    assert re.fullmatch(r"sha256:[0-9a-f]{12}", transfer_table_version())
