"""The reviewed skill-transfer table shipped with Rapport (``data/skill_transfer.csv``).

Each row is DIRECTED: a candidate who holds ``from_skill`` earns ``credit`` (0 < credit <= 1) of a
requirement for ``to_skill`` (skills-and-fit.md §4.1, §4.4 step 2). Transfer is often asymmetric, so
the reverse pair, when present, is a row of its own with its own credit. A missing row means no
transfer credit. Reports quote ``rationale`` verbatim, so every rationale says what the two activities
share, in its own words.

``source`` is ``"expert"`` (content-team judgement) or ``"esco_relation"`` (both skills are essential
to one ESCO occupation, which the rationale names); the other values of :data:`TRANSFER_SOURCES` are
reserved for later sources named in §4.1. Agencies copy these rows into their own table and edit them
there: this module is the shipped starting point, not the agency's current table.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, cast

from taxonomy.vocabulary import DATA_DIR, is_skill_key, occupations_with_skill

__all__ = [
    "TRANSFER_FILE",
    "TRANSFER_SOURCES",
    "TransferRow",
    "TransferSource",
    "transfer",
    "transfer_rows",
    "transfer_table_version",
    "transfers_from",
    "transfers_to",
]

TRANSFER_FILE: Final = DATA_DIR / "skill_transfer.csv"
TransferSource = Literal["expert", "esco_relation", "esco_hierarchy", "onet", "embedding_suggested"]
TRANSFER_SOURCES: Final[tuple[TransferSource, ...]] = (
    "expert",
    "esco_relation",
    "esco_hierarchy",
    "onet",
    "embedding_suggested",
)
_COLUMNS: Final = ("from_skill", "to_skill", "credit", "rationale", "source", "reviewer", "reviewed_on")


@dataclass(frozen=True, slots=True)
class TransferRow:
    """Holding ``from_skill`` counts ``credit`` toward ``to_skill``, for the reason in ``rationale``."""

    from_skill: str
    to_skill: str
    credit: float
    rationale: str
    source: TransferSource
    reviewer: str
    reviewed_on: dt.date


def _parse(number: int, row: dict[str, str], problems: list[str]) -> TransferRow | None:
    where = f"row {number}"
    values = {column: " ".join((row.get(column) or "").split()) for column in _COLUMNS}
    try:
        credit = float(values["credit"])
        reviewed_on = dt.date.fromisoformat(values["reviewed_on"])
    except ValueError:
        problems.append(f"{where}: credit or reviewed_on is not readable")
        return None
    parsed = TransferRow(
        from_skill=values["from_skill"],
        to_skill=values["to_skill"],
        credit=credit,
        rationale=values["rationale"],
        source=cast(TransferSource, values["source"]),
        reviewer=values["reviewer"],
        reviewed_on=reviewed_on,
    )
    for key in (parsed.from_skill, parsed.to_skill):
        if not is_skill_key(key):
            problems.append(f"{where}: {key!r} is not a skill key of the vocabulary")
    if parsed.from_skill == parsed.to_skill:
        problems.append(f"{where}: a skill cannot transfer to itself")
    if not 0 < parsed.credit <= 1:
        problems.append(f"{where}: credit {parsed.credit} is outside (0, 1]")
    if parsed.source not in TRANSFER_SOURCES:
        problems.append(f"{where}: unknown source {parsed.source!r}")
    if not parsed.rationale or not parsed.reviewer:
        problems.append(f"{where}: rationale and reviewer are required")
    if parsed.source == "esco_relation" and not _essential_together(parsed.from_skill, parsed.to_skill):
        problems.append(f"{where}: esco_relation, but no ESCO occupation lists both skills as essential")
    return parsed


def _essential_together(first: str, second: str) -> bool:
    return bool(set(occupations_with_skill(first, "essential")) & set(occupations_with_skill(second, "essential")))


@lru_cache(maxsize=1)
def transfer_rows() -> tuple[TransferRow, ...]:
    """Every shipped row, in file order. Raises ValueError, listing the rows, if the file breaks a rule."""
    problems: list[str] = []
    rows: list[TransferRow] = []
    seen: set[tuple[str, str]] = set()
    with TRANSFER_FILE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != _COLUMNS:
            raise ValueError(f"{TRANSFER_FILE.name}: columns must be {', '.join(_COLUMNS)}")
        for number, raw in enumerate(reader, start=2):
            parsed = _parse(number, raw, problems)
            if parsed is None:
                continue
            if (parsed.from_skill, parsed.to_skill) in seen:
                problems.append(f"row {number}: the pair {parsed.from_skill!r} -> {parsed.to_skill!r} is repeated")
            seen.add((parsed.from_skill, parsed.to_skill))
            rows.append(parsed)
    if problems:
        raise ValueError(f"{TRANSFER_FILE.name}: " + "; ".join(problems))
    return tuple(rows)


@lru_cache(maxsize=1)
def _by_pair() -> dict[tuple[str, str], TransferRow]:
    return {(row.from_skill, row.to_skill): row for row in transfer_rows()}


@lru_cache(maxsize=1)
def _by_skill() -> tuple[dict[str, tuple[TransferRow, ...]], dict[str, tuple[TransferRow, ...]]]:
    outgoing: defaultdict[str, list[TransferRow]] = defaultdict(list)
    incoming: defaultdict[str, list[TransferRow]] = defaultdict(list)
    for row in transfer_rows():
        outgoing[row.from_skill].append(row)
        incoming[row.to_skill].append(row)
    return {k: tuple(v) for k, v in outgoing.items()}, {k: tuple(v) for k, v in incoming.items()}


def transfer(from_skill: str, to_skill: str) -> TransferRow | None:
    """The row crediting ``from_skill`` toward ``to_skill``, or None (no transfer credit)."""
    return _by_pair().get((from_skill, to_skill))


def transfers_from(skill_key: str) -> tuple[TransferRow, ...]:
    """Rows whose ``from_skill`` is this key, in file order."""
    return _by_skill()[0].get(skill_key, ())


def transfers_to(skill_key: str) -> tuple[TransferRow, ...]:
    """Rows whose ``to_skill`` is this key, in file order: the ways a requirement can be met by transfer."""
    return _by_skill()[1].get(skill_key, ())


@lru_cache(maxsize=1)
def transfer_table_version() -> str:
    """A short content hash of the shipped table, to print beside the taxonomy versions on a report."""
    return "sha256:" + hashlib.sha256(TRANSFER_FILE.read_bytes()).hexdigest()[:12]
