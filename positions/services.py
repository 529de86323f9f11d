"""Position rules: a client's job and its job profile, and the agency's skill-transfer table.

The caller holds the unit of work; time is passed in. A profile is checked whole before anything
changes, so a refused save leaves the position as it was. Each change to a profile bumps its
``profile_version`` (the version every fit names) and is audited with what changed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from accounts import audit
from accounts.models import Agency, Client, User
from database import db
from positions.models import (
    DEFAULT_FIT_WEIGHTS,
    FIT_COMPONENTS,
    INDUSTRY_MODES,
    SKILL_KINDS,
    Position,
    PositionCompetency,
    PositionSkill,
    SkillTransfer,
)
from scenarios.models import Competency
from taxonomy import matching, reference, vocabulary
from taxonomy.transfer import TRANSFER_SOURCES as SHIPPED_SOURCES
from taxonomy.transfer import TransferRow, transfer_rows

log = logging.getLogger("rapport.audit")

MIN_LEVEL, MAX_LEVEL = 1, 5
MAX_WEIGHT = 3.0
MAX_YEARS = 60.0
WEIGHT_TOLERANCE = 1e-6
# Proposed from an ESCO occupation: essential skills as required, optional ones as desired.
PROPOSED_LEVEL = 3
PROPOSED_WEIGHT = 1.0
_SOURCE_LABELS: dict[str, str] = {
    "expert": "Expert review",
    "esco_relation": "ESCO: both skills essential to one occupation",
    "esco_hierarchy": "ESCO skill hierarchy",
    "onet": "O*NET",
    "embedding_suggested": "Suggested by text similarity, then reviewed",
}
TRANSFER_SOURCES: dict[str, str] = {name: _SOURCE_LABELS.get(name, name) for name in SHIPPED_SOURCES}


class PositionError(Exception):
    """A rule of positions refused the change; the message is safe to show."""


class Invalid(PositionError):
    """One or more fields broke a rule: ``errors`` maps a field reference to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(" ".join(m for messages in errors.values() for m in messages))
        self.errors = errors


class InvalidProfile(Invalid):
    """The job profile breaks a rule; nothing was changed."""


class InvalidTransfer(Invalid):
    """The transfer row breaks a rule; nothing was changed."""


class _Problems:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, where: str, message: str) -> None:
        self.errors.setdefault(where, []).append(message)


# --- Skills of the vocabulary --------------------------------------------------------------------


def vocabulary_key(text: str) -> str | None:
    """The vocabulary key for a key or preferred label in any case or spacing, or None if it is not one."""
    if not text.strip():
        return None
    try:
        return vocabulary.skill(text).key
    except KeyError:
        return None


def _not_a_skill(text: str) -> str:
    message = f"“{text}” is not in the skills list. Choose a skill from the list."
    suggestions = matching.suggest(text, limit=3)
    if suggestions:
        message += " Did you mean " + " or ".join(f"“{s.label}”" for s in suggestions) + "?"
    return message


# --- The job profile -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SkillRequirement:
    """A required or desired skill as entered; ``ref`` names where it came from, for error messages."""

    skill: str
    kind: str
    min_level: int
    weight: float
    knockout: bool = False
    ref: str = ""


@dataclass(frozen=True)
class PeopleRequirement:
    """A competency the position asks for, with its minimum provisional score (0-1)."""

    competency_public_id: str
    min_score: float
    weight: float
    knockout: bool = False
    ref: str = ""


@dataclass(frozen=True)
class ProfileInput:
    """Everything the client signs off about a position, in that order."""

    title: str
    responsibilities: str = ""
    occupation_uri: str | None = None
    skills: tuple[SkillRequirement, ...] = ()
    people: tuple[PeopleRequirement, ...] = ()
    education_min_level: int | None = None
    education_substitution_years: float | None = None
    education_knockout: bool = False
    experience_min_years: float = 0.0
    experience_cap_years: float | None = None
    experience_knockout: bool = False
    industry_mode: str = "none"
    industry_codes: tuple[str, ...] = ()
    fit_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_FIT_WEIGHTS))


@dataclass(frozen=True)
class ProfileSaved:
    """The saved position, its profile version, and what changed (section -> before and after)."""

    position: Position
    created: bool
    changes: dict[str, dict[str, Any]]

    @property
    def changed(self) -> bool:
        return self.created or bool(self.changes)


@dataclass(frozen=True)
class _Resolved:
    skills: dict[str, SkillRequirement]  # vocabulary key -> requirement
    people: dict[int, tuple[Competency, PeopleRequirement]]  # competency id -> requirement


def _ref(requirement: SkillRequirement | PeopleRequirement, kind: str, index: int) -> str:
    return requirement.ref or f"{kind}.{index}"


def _check_profile(agency_id: int, data: ProfileInput) -> _Resolved:
    """The profile with skills and competencies resolved; raises InvalidProfile listing every problem."""
    problems = _Problems()
    if not data.title.strip():
        problems.add("title", "Enter the job title.")
    if data.occupation_uri:
        try:
            vocabulary.occupation(data.occupation_uri)
        except KeyError:
            problems.add("occupation_uri", "That ESCO occupation is not one of the back-office occupations.")

    skills: dict[str, SkillRequirement] = {}
    for index, requirement in enumerate(data.skills):
        where = _ref(requirement, "skills", index)
        key = vocabulary_key(requirement.skill)
        if key is None:
            problems.add(where, _not_a_skill(requirement.skill.strip()))
        elif key in skills:
            problems.add(where, f"“{requirement.skill.strip()}” is already in the profile. List each skill once.")
        else:
            skills[key] = requirement
        if requirement.kind not in SKILL_KINDS:
            problems.add(where, "A skill is either required or desired.")
        if not MIN_LEVEL <= requirement.min_level <= MAX_LEVEL:
            problems.add(where, "Choose a minimum level from 1 to 5.")
        if not 0 < requirement.weight <= MAX_WEIGHT:
            problems.add(where, "Choose a weight from 1 to 3.")

    competencies = {
        c.public_id: c for c in db.session.scalars(select(Competency).where(Competency.agency_id == agency_id))
    }
    people: dict[int, tuple[Competency, PeopleRequirement]] = {}
    for index, asked in enumerate(data.people):
        where = _ref(asked, "people", index)
        competency = competencies.get(asked.competency_public_id)
        if competency is None:
            problems.add(where, "This people skill is not one of the agency's competencies.")
        elif competency.id in people:
            problems.add(where, f"{competency.name} is already in the profile. List each people skill once.")
        else:
            people[competency.id] = (competency, asked)
        if not 0 < asked.min_score <= 1:
            problems.add(where, "Enter a minimum score from 1 to 100.")
        if not 0 < asked.weight <= MAX_WEIGHT:
            problems.add(where, "Choose a weight from 1 to 3.")

    if data.education_min_level is not None and data.education_min_level not in reference.ISCED_LEVELS:
        problems.add("education_min_level", "Choose a level from the list, or “No minimum”.")
    if data.education_substitution_years is not None and not 0 < data.education_substitution_years <= MAX_YEARS:
        problems.add("education_substitution_years", "Enter a number of years above 0, or leave it empty.")
    if not 0 <= data.experience_min_years <= MAX_YEARS:
        problems.add("experience_min_years", "Enter a number of years from 0 to 60.")
    cap = data.experience_cap_years
    if cap is not None:
        if not 0 < cap <= MAX_YEARS:
            problems.add("experience_cap_years", "Enter a number of years above 0 and at most 60, or leave it empty.")
        elif cap < data.experience_min_years:
            problems.add("experience_cap_years", "The cap cannot be below the minimum years.")

    if data.industry_mode not in INDUSTRY_MODES:
        problems.add("industry_mode", "Choose how the industry counts.")
    sections = reference.NACE_SECTIONS
    unknown = [code for code in data.industry_codes if code not in sections]
    if unknown:
        problems.add("industry_codes", f"Unknown industry section: {', '.join(sorted(set(unknown)))}.")
    if data.industry_mode in ("bonus", "required") and not data.industry_codes:
        problems.add("industry_codes", "Tick at least one industry, or choose “No preference”.")

    weights = dict(data.fit_weights)
    if set(weights) != set(FIT_COMPONENTS):
        problems.add("fit_weights", "Give a weight to each of the six parts of the fit.")
    elif any(not math.isfinite(w) or w < 0 or w > 1 for w in weights.values()):
        problems.add("fit_weights", "Each weight is a percentage from 0 to 100.")
    elif abs(sum(weights.values()) - 1) > WEIGHT_TOLERANCE:
        total = round(sum(weights.values()) * 100, 2)
        problems.add("fit_weights", f"The weights add up to {total:g}%. They must add up to 100%.")

    if problems.errors:
        raise InvalidProfile(problems.errors)
    return _Resolved(skills, people)


def check_profile(agency_id: int, data: ProfileInput) -> None:
    """Raise InvalidProfile, listing every problem, if the profile breaks a rule; changes nothing."""
    _check_profile(agency_id, data)


def profile_snapshot(position: Position) -> dict[str, Any]:
    """The profile as plain values by section, to compare two versions and to audit what changed."""
    return {
        "client": position.client.public_id if position.client else None,
        "title": position.title,
        "responsibilities": position.responsibility_list,
        "occupation": position.occupation_uri,
        "skills": {
            s.skill_key: {"kind": s.kind, "min_level": s.min_level, "weight": s.weight, "knockout": s.knockout}
            for s in position.skills
        },
        "people_skills": {
            c.competency.public_id: {"min_score": c.min_score, "weight": c.weight, "knockout": c.knockout}
            for c in position.competencies
        },
        "education": {
            "min_level": position.education_min_level,
            "substitution_years": position.education_substitution_years,
            "knockout": position.education_knockout,
        },
        "experience": {
            "min_years": position.experience_min_years,
            "cap_years": position.experience_cap_years,
            "knockout": position.experience_knockout,
        },
        "industry": {"mode": position.industry_mode, "codes": position.industry_code_list},
        "weights": {name: float(position.fit_weights.get(name, 0.0)) for name in FIT_COMPONENTS},
    }


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"before": before[name], "after": after[name]} for name in after if before.get(name) != after[name]}


def profile_input_of(position: Position) -> ProfileInput:
    """The position's current profile as an input, e.g. to change one part of it."""
    return ProfileInput(
        title=position.title,
        responsibilities=position.responsibilities,
        occupation_uri=position.occupation_uri,
        skills=tuple(SkillRequirement(s.skill_key, s.kind, s.min_level, s.weight, s.knockout) for s in position.skills),
        people=tuple(
            PeopleRequirement(c.competency.public_id, c.min_score, c.weight, c.knockout) for c in position.competencies
        ),
        education_min_level=position.education_min_level,
        education_substitution_years=position.education_substitution_years,
        education_knockout=position.education_knockout,
        experience_min_years=position.experience_min_years,
        experience_cap_years=position.experience_cap_years,
        experience_knockout=position.experience_knockout,
        industry_mode=position.industry_mode,
        industry_codes=tuple(position.industry_code_list),
        fit_weights=dict(position.fit_weights),
    )


def save_profile(
    *, position: Position | None, client: Client, data: ProfileInput, by: User, now: datetime
) -> ProfileSaved:
    """Add a position with its profile, or change one; bumps the version if anything changed.

    Raises InvalidProfile (with every problem) before changing anything.
    """
    resolved = _check_profile(client.agency_id, data)
    created = position is None
    if position is None:
        position = Position(agency_id=client.agency_id, client_id=client.id, created_at=now, profile_version=1)
        db.session.add(position)
        before: dict[str, Any] = {}
    else:
        before = profile_snapshot(position)

    position.client = client
    position.title = data.title.strip()
    position.responsibilities = "\n".join(line.strip() for line in data.responsibilities.splitlines() if line.strip())
    position.occupation_uri = data.occupation_uri or None
    position.education_min_level = data.education_min_level
    position.education_substitution_years = data.education_substitution_years
    position.education_knockout = data.education_knockout
    position.experience_min_years = data.experience_min_years
    position.experience_cap_years = data.experience_cap_years
    position.experience_knockout = data.experience_knockout
    position.industry_mode = data.industry_mode
    position.industry_codes = ",".join(sorted(set(data.industry_codes)))
    position.fit_weights = {name: round(float(data.fit_weights[name]), 6) for name in FIT_COMPONENTS}
    _replace_skills(position, resolved.skills)
    _replace_people(position, resolved.people)
    db.session.flush()

    if created:
        audit.record(
            "position.created",
            now=now,
            agency_public_id=by.agency.public_id,
            actor_public_id=by.public_id,
            object_type="position",
            object_public_id=position.public_id,
        )
        return ProfileSaved(position, created=True, changes={})
    changes = _changes(before, profile_snapshot(position))
    if changes:
        position.profile_version = (position.profile_version or 1) + 1
        db.session.flush()
        _record_change(
            "position.profile_updated",
            by=by,
            now=now,
            object_type="position",
            object_public_id=position.public_id,
            changes={"profile_version": {"before": position.profile_version - 1, "after": position.profile_version}}
            | changes,
        )
    return ProfileSaved(position, created=False, changes=changes)


def _replace_skills(position: Position, wanted: dict[str, SkillRequirement]) -> None:
    kept = {s.skill_key: s for s in position.skills}
    for key in set(kept) - set(wanted):
        position.skills.remove(kept[key])
    for key, requirement in wanted.items():
        row = kept.get(key)
        if row is None:
            row = PositionSkill(skill_key=key)
            position.skills.append(row)
        row.kind = requirement.kind
        row.min_level = requirement.min_level
        row.weight = float(requirement.weight)
        row.knockout = requirement.knockout


def _replace_people(position: Position, wanted: dict[int, tuple[Competency, PeopleRequirement]]) -> None:
    kept = {c.competency_id: c for c in position.competencies}
    for competency_id in set(kept) - set(wanted):
        position.competencies.remove(kept[competency_id])
    for competency_id, (competency, requirement) in wanted.items():
        row = kept.get(competency_id)
        if row is None:
            row = PositionCompetency(competency=competency)
            position.competencies.append(row)
        row.min_score = round(float(requirement.min_score), 4)
        row.weight = float(requirement.weight)
        row.knockout = requirement.knockout


def save_position(
    *, position: Position | None, client: Client, title: str, responsibilities: str, by: User, now: datetime
) -> Position:
    """Add a position to a client, or change its title and responsibilities, keeping the rest of the profile."""
    base = ProfileInput(title=title) if position is None else profile_input_of(position)
    data = replace(base, title=title, responsibilities=responsibilities)
    return save_profile(position=position, client=client, data=data, by=by, now=now).position


def proposed_skills(occupation_uri: str) -> tuple[SkillRequirement, ...]:
    """An ESCO occupation's skills as proposals: essential ones required, optional ones desired.

    Raises KeyError for an occupation outside the back-office subset.
    """
    occupation = vocabulary.occupation(occupation_uri)
    return tuple(
        SkillRequirement(key, "required", PROPOSED_LEVEL, PROPOSED_WEIGHT) for key in occupation.essential_keys
    ) + tuple(SkillRequirement(key, "desired", PROPOSED_LEVEL, PROPOSED_WEIGHT) for key in occupation.optional_keys)


# --- The skill-transfer table --------------------------------------------------------------------


@dataclass(frozen=True)
class TransferInput:
    """A directed transfer row as entered: holding ``from_skill`` counts ``credit`` toward ``to_skill``."""

    from_skill: str
    to_skill: str
    credit: float
    rationale: str
    source: str
    reviewer: str
    reviewed_on: date


def _transfer_values(row: SkillTransfer) -> dict[str, Any]:
    return {
        "from_skill": row.from_skill,
        "to_skill": row.to_skill,
        "credit": row.credit,
        "rationale": row.rationale,
        "source": row.source,
        "reviewer": row.reviewer,
        "reviewed_on": row.reviewed_on.isoformat(),
    }


def _check_transfer(agency_id: int, data: TransferInput, *, editing: SkillTransfer | None) -> tuple[str, str]:
    problems = _Problems()
    from_key = vocabulary_key(data.from_skill)
    to_key = vocabulary_key(data.to_skill)
    if from_key is None:
        problems.add(
            "from_skill",
            _not_a_skill(data.from_skill.strip())
            if data.from_skill.strip()
            else "Choose the skill the candidate holds.",
        )
    if to_key is None:
        problems.add(
            "to_skill",
            _not_a_skill(data.to_skill.strip()) if data.to_skill.strip() else "Choose the skill it counts toward.",
        )
    if from_key is not None and from_key == to_key:
        problems.add("to_skill", "A skill cannot transfer to itself. Choose a different skill.")
    elif from_key is not None and to_key is not None:
        taken = db.session.scalar(
            select(SkillTransfer.id).where(
                SkillTransfer.agency_id == agency_id,
                SkillTransfer.from_skill == from_key,
                SkillTransfer.to_skill == to_key,
            )
        )
        if taken is not None and (editing is None or taken != editing.id):
            problems.add("to_skill", "The table already has a row for this pair. Edit that row instead.")
    if not (math.isfinite(data.credit) and 0 < data.credit <= 1):
        problems.add("credit", "Enter a credit above 0 and at most 1.")
    if not data.rationale.strip():
        problems.add("rationale", "Say why the one skill counts toward the other.")
    if data.source not in TRANSFER_SOURCES:
        problems.add("source", "Choose where the row comes from.")
    if not data.reviewer.strip():
        problems.add("reviewer", "Name the reviewer.")
    if problems.errors:
        raise InvalidTransfer(problems.errors)
    assert from_key is not None and to_key is not None
    return from_key, to_key


def save_transfer(
    agency: Agency, data: TransferInput, *, transfer: SkillTransfer | None, by: User, now: datetime
) -> tuple[SkillTransfer, dict[str, dict[str, Any]]]:
    """Add a row to the agency's transfer table, or change one; returns it with what changed.

    Raises InvalidTransfer (with every problem) before changing anything.
    """
    from_key, to_key = _check_transfer(agency.id, data, editing=transfer)
    before: dict[str, Any] = {} if transfer is None else _transfer_values(transfer)
    if transfer is None:
        transfer = SkillTransfer(agency_id=agency.id)
        db.session.add(transfer)
    transfer.from_skill = from_key
    transfer.to_skill = to_key
    transfer.credit = round(float(data.credit), 4)
    transfer.rationale = data.rationale.strip()
    transfer.source = data.source
    transfer.reviewer = data.reviewer.strip()
    transfer.reviewed_on = data.reviewed_on
    db.session.flush()
    after = _transfer_values(transfer)
    changes = {
        name: {"before": before.get(name), "after": value} for name, value in after.items() if before.get(name) != value
    }
    if changes:
        _record_change(
            "skill_transfer.updated" if before else "skill_transfer.created",
            by=by,
            now=now,
            object_type="skill_transfer",
            object_public_id=transfer.public_id,
            changes=changes,
        )
    return transfer, changes


def delete_transfer(transfer: SkillTransfer, *, by: User, now: datetime) -> dict[str, dict[str, Any]]:
    """Remove a row from the agency's transfer table; returns the values it had."""
    changes = {name: {"before": value, "after": None} for name, value in _transfer_values(transfer).items()}
    public_id = transfer.public_id
    db.session.delete(transfer)
    db.session.flush()
    _record_change(
        "skill_transfer.deleted",
        by=by,
        now=now,
        object_type="skill_transfer",
        object_public_id=public_id,
        changes=changes,
    )
    return changes


def shipped_transfers() -> tuple[TransferRow, ...]:
    """The reviewed transfer rows that ship with Rapport (taxonomy/data/skill_transfer.csv)."""
    return transfer_rows()


def seed_transfer_table(agency: Agency, now: datetime) -> int:
    """Copy the shipped, reviewed transfer rows into the agency's table; adds only missing pairs.

    Returns how many rows it added (0 on a second call). Rows naming a skill outside the vocabulary,
    or a skill to itself, are skipped.
    """
    existing = {
        (from_skill, to_skill)
        for from_skill, to_skill in db.session.execute(
            select(SkillTransfer.from_skill, SkillTransfer.to_skill).where(SkillTransfer.agency_id == agency.id)
        )
    }
    added = 0
    for row in shipped_transfers():
        pair = (row.from_skill, row.to_skill)
        if pair in existing or row.from_skill == row.to_skill:
            continue
        if not (vocabulary.is_skill_key(row.from_skill) and vocabulary.is_skill_key(row.to_skill)):
            continue
        existing.add(pair)
        db.session.add(
            SkillTransfer(
                agency_id=agency.id,
                from_skill=row.from_skill,
                to_skill=row.to_skill,
                credit=row.credit,
                rationale=row.rationale,
                source=row.source,
                reviewer=row.reviewer,
                reviewed_on=row.reviewed_on,
            )
        )
        added += 1
    db.session.flush()
    if added:
        audit.record(
            "skill_transfer.seeded",
            now=now,
            agency_public_id=agency.public_id,
            object_type="agency",
            object_public_id=agency.public_id,
        )
    return added


# --- Audit ---------------------------------------------------------------------------------------


def _record_change(
    action: str, *, by: User, now: datetime, object_type: str, object_public_id: str, changes: dict[str, Any]
) -> None:
    """Audit a change with its before and after values (job profiles and transfer rows hold no personal data)."""
    audit.record(
        action,
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type=object_type,
        object_public_id=object_public_id,
        details=_plain(changes),
    )
    log.info("%s %s changed: %s", action, object_public_id, ", ".join(sorted(changes)))


def _plain(value: Any) -> Any:
    """JSON-ready values for the audit details: dates as ISO text, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value
