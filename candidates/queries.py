"""Read models for the candidate pages: the searchable list with profile completeness, and one profile."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from accounts.access import scoped_select
from accounts.models import Scope
from candidates.models import (
    Candidate,
    CandidateEducation,
    CandidateExperience,
    CandidateLanguage,
    CandidateSkill,
    name_key_for,
)
from database import db
from taxonomy import matching, reference, vocabulary

PER_PAGE = 50
# The list counts at most this many matching candidates, so that the count costs the same in a large agency.
COUNT_CAP = 10_000
SECTIONS = ("skills", "education", "experience", "languages")


@dataclass(frozen=True)
class CandidateRow:
    """A candidate in the list, with how much of the profile is filled in."""

    candidate: Candidate
    skills: int
    unmatched_skills: int
    education: int
    experience: int
    languages: int

    @property
    def filled(self) -> list[str]:
        """The profile sections with at least one entry."""
        return [name for name in SECTIONS if getattr(self, name)]

    @property
    def missing(self) -> list[str]:
        """The profile sections still empty."""
        return [name for name in SECTIONS if not getattr(self, name)]


@dataclass(frozen=True)
class CandidatePage:
    """One page of the list.

    The matching candidates are counted only up to ``cap``: beyond it ``total_capped`` is true, ``total`` is
    ``cap`` (read it as "more than ``cap``") and the number of pages is not known (``pages`` is None).
    """

    rows: list[CandidateRow]
    total: int
    total_capped: bool
    cap: int
    page: int
    pages: int | None
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def past_the_end(self) -> bool:
        """A page after the last one, asked for when the number of pages is not known."""
        return not self.rows and self.page > 1


def _count(model: type[CandidateSkill | CandidateEducation | CandidateExperience | CandidateLanguage]) -> object:
    return select(func.count(model.id)).where(model.candidate_id == Candidate.id).correlate(Candidate).scalar_subquery()


def list_candidates(scope: Scope, search: str = "", page: int = 1) -> CandidatePage:
    """The scope's candidates by name, filtered by a part of the name or email address, a page at a time."""
    query = scoped_select(Candidate, scope)
    words = search.strip()
    if words:
        pattern = "%" + name_key_for(words).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(Candidate.name_key.like(pattern, escape="\\"), Candidate.email.like(pattern, escape="\\"))
        )
    cap = COUNT_CAP
    capped_ids = query.with_only_columns(Candidate.id).limit(cap + 1).subquery()
    counted = db.session.scalar(select(func.count()).select_from(capped_ids)) or 0
    total_capped = counted > cap
    total = min(counted, cap)
    pages: int | None = None if total_capped else max(1, -(-total // PER_PAGE))
    # With the number of pages unknown, any page number may be asked for; the bound keeps the OFFSET in 64 bits.
    page = min(max(1, page), (2**62) // PER_PAGE if pages is None else pages)
    unmatched = (
        select(func.count(CandidateSkill.id))
        .where(CandidateSkill.candidate_id == Candidate.id, CandidateSkill.skill_key.is_(None))
        .correlate(Candidate)
        .scalar_subquery()
    )
    listed = query.add_columns(
        _count(CandidateSkill),  # type: ignore[arg-type]
        unmatched,
        _count(CandidateEducation),  # type: ignore[arg-type]
        _count(CandidateExperience),  # type: ignore[arg-type]
        _count(CandidateLanguage),  # type: ignore[arg-type]
    ).order_by(Candidate.name_key, Candidate.id)
    found = db.session.execute(listed.limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE)).all()
    rows = [
        CandidateRow(candidate, skills, unmatched_skills, education, experience, languages)
        for candidate, skills, unmatched_skills, education, experience, languages in found[:PER_PAGE]
    ]
    return CandidatePage(
        rows=rows,
        total=total,
        total_capped=total_capped,
        cap=cap,
        page=page,
        pages=pages,
        has_next=len(found) > PER_PAGE,
    )


def load_profile(candidate: Candidate) -> Candidate:
    """The candidate with every profile row loaded in one query per section."""
    loaded = db.session.scalars(
        select(Candidate)
        .where(Candidate.id == candidate.id)
        .options(
            selectinload(Candidate.skills),
            selectinload(Candidate.education),
            selectinload(Candidate.experience),
            selectinload(Candidate.languages),
        )
    ).one()
    return loaded


def suggestions_for(
    skills: list[CandidateSkill], *, row: str | None = None, text: str = "", limit: int = 5
) -> dict[str, list[matching.Suggestion]]:
    """Vocabulary suggestions for each unmatched skill, by row public id; ``text`` searches again for ``row``.

    Skills the candidate already holds as a confirmed match are left out of the suggestions.
    """
    held = {s.skill_key for s in skills if s.skill_key is not None}
    found = {}
    for skill in skills:
        if skill.skill_key is not None:
            continue
        words = text if row == skill.public_id and text.strip() else skill.given_name
        found[skill.public_id] = [
            s for s in matching.suggest(words, limit=limit + len(held)) if s.skill_key not in held
        ][:limit]
    return found


def skill_label(key: str) -> str:
    """The ESCO label of a vocabulary key (the key itself if the vocabulary no longer has it)."""
    try:
        return vocabulary.skill(key).label
    except KeyError:
        return key


def occupation_label(uri: str) -> str:
    """The ESCO label of an occupation URI (the URI itself if unknown)."""
    try:
        return vocabulary.occupation(uri).label
    except KeyError:
        return uri


def isced_label(level: int) -> str:
    """The ISCED 2011 name of a level."""
    return reference.ISCED_LEVELS.get(level, f"Level {level}")


def industry_label(code: str) -> str:
    """The NACE section's name."""
    return reference.NACE_SECTIONS.get(code, code)


def fluency_label(fluency: str) -> str:
    """A CEFR code in words; other text as written."""
    return reference.FLUENCY_LABELS.get(fluency, fluency)  # type: ignore[call-overload]
