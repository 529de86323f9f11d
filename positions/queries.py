"""Read models for the position pages and the transfer table, scoped to the caller's agency, and the
vocabulary look-ups those pages show (skills, ESCO occupations)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from accounts.access import scoped_select
from accounts.models import Client, Scope
from database import db
from positions.models import Position, PositionCompetency, SkillTransfer
from scenarios.queries import escape_like
from taxonomy import matching, vocabulary

SKILL_MATCH_LIMIT = 15
OCCUPATION_MATCH_LIMIT = 10


def positions(scope: Scope) -> list[Position]:
    """The scope's positions, by client name and title."""
    return list(
        db.session.scalars(
            scoped_select(Position, scope)
            .join(Position.client)
            .options(selectinload(Position.client))
            .order_by(Client.name, Position.title)
        )
    )


def position(scope: Scope, public_id: str) -> Position | None:
    """A position with its skills and people skills loaded, or None outside the scope."""
    return db.session.scalar(
        scoped_select(Position, scope)
        .where(Position.public_id == public_id)
        .options(
            selectinload(Position.skills),
            selectinload(Position.competencies).selectinload(PositionCompetency.competency),
        )
    )


@dataclass(frozen=True)
class SkillOption:
    key: str
    label: str
    description: str = ""
    reason: str = ""


def skill_label(key: str) -> str:
    """The skill's ESCO label, or the key itself if it has left the vocabulary."""
    try:
        return vocabulary.skill(key).label
    except KeyError:
        return key


def skill_matches(text: str, limit: int = SKILL_MATCH_LIMIT) -> list[SkillOption]:
    """Vocabulary skills for a search box entry, best first."""
    if not text.strip():
        return []
    found = []
    for suggestion in matching.suggest(text, limit=limit):
        skill = vocabulary.skill(suggestion.skill_key)
        found.append(SkillOption(skill.key, skill.label, skill.description, suggestion.reason))
    return found


def skill_options(keys: Iterable[str], *, occupation_uri: str | None, found: Iterable[SkillOption] = ()) -> list[str]:
    """Labels for the skill boxes' suggestion list: the search results, the occupation's skills, the skills
    already entered, and the transversal skills, without repeats."""
    labels: dict[str, None] = {}
    for option in found:
        labels.setdefault(option.label, None)
    wanted = list(keys)
    occupation = occupation_of(occupation_uri)
    if occupation is not None:
        wanted += occupation.skill_keys
    for key in wanted:
        try:
            labels.setdefault(vocabulary.skill(key).label, None)
        except KeyError:
            continue
    for skill in vocabulary.skills():
        if skill.kind == "transversal":
            labels.setdefault(skill.label, None)
    return list(labels)


def occupation_of(uri: str | None) -> vocabulary.Occupation | None:
    """The ESCO back-office occupation with this URI, or None."""
    if not uri:
        return None
    try:
        return vocabulary.occupation(uri)
    except KeyError:
        return None


def occupation_matches(text: str, limit: int = OCCUPATION_MATCH_LIMIT) -> list[vocabulary.Occupation]:
    """ESCO back-office occupations for a search box entry (words or an ISCO code), best first."""
    return vocabulary.search_occupations(text[:200], limit=limit) if text.strip() else []


@dataclass(frozen=True)
class TransferFilter:
    q: str = ""


def transfers(scope: Scope, wanted: TransferFilter) -> list[SkillTransfer]:
    """The agency's transfer rows whose skills match the search text, by skill held and skill credited."""
    stmt = scoped_select(SkillTransfer, scope).order_by(SkillTransfer.from_skill, SkillTransfer.to_skill)
    text = " ".join(wanted.q.split()).lower()
    if text:
        pattern = f"%{escape_like(text)}%"
        stmt = stmt.where(
            or_(
                SkillTransfer.from_skill.ilike(pattern, escape="\\"), SkillTransfer.to_skill.ilike(pattern, escape="\\")
            )
        )
    return list(db.session.scalars(stmt))
