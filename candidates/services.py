"""Candidate profile rules: candidates, and their skills, education, experience and languages.

Plain functions, no HTTP: the recruiter's pages, the imports and the candidate's own step call the same
rules. Each ``*_problems`` function returns what is wrong with an entry, keyed by field name (the model's
column names); the ``add_*`` and ``update_*`` functions raise :class:`ProfileError` carrying those
problems, change nothing when they raise, and record ``candidate.profile_updated`` in the audit trail.

Skills typed as free text are stored unmatched (``skill_key`` None, the words kept in ``given_name``);
only :func:`confirm_skill` sets a vocabulary key, after a person has seen the suggestion.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from accounts import audit
from accounts.models import Actor, Agency
from accounts.services import normalise_email
from candidates.models import (
    PROFILE_SOURCES,
    SKILL_EVIDENCE,
    Candidate,
    CandidateEducation,
    CandidateExperience,
    CandidateLanguage,
    CandidateSkill,
)
from database import db
from taxonomy import reference, vocabulary

ProfileRow = CandidateSkill | CandidateEducation | CandidateExperience | CandidateLanguage

MAX_NAME = 120
MAX_EMAIL = 254
MAX_SHORT = 200  # headline, skill, role, employer, field, institution, qualification as written
MAX_LANGUAGE = 80
MAX_FLUENCY = 40
MAX_LONG = 5000  # responsibilities, evidence
EARLIEST_YEAR = 1900


class ProfileError(ValueError):
    """A profile change was refused and nothing changed; ``problems`` maps field names to messages safe to show."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems.items()))
        self.problems = problems


# --- Entries, as typed or imported -------------------------------------------------------------


@dataclass(frozen=True)
class SkillInput:
    """A skill as given: the words, a level 1-5, the kind of evidence and the evidence itself."""

    given_name: str
    level: int
    evidence_type: str = "cv"
    evidence: str = ""


@dataclass(frozen=True)
class EducationInput:
    """A qualification: ISCED 2011 level 0-8, field, institution, year completed, and the words as written."""

    isced_level: int
    field: str = ""
    institution: str = ""
    year: int | None = None
    original_text: str = ""


@dataclass(frozen=True)
class ExperienceInput:
    """A job: role, employer, dates (no end: current), share of full time (0, 1], ESCO occupation, NACE section."""

    role: str
    start_date: date
    employer: str = ""
    end_date: date | None = None
    fte: float = 1.0
    responsibilities: str = ""
    occupation_uri: str | None = None
    industry: str | None = None


@dataclass(frozen=True)
class LanguageInput:
    """A language and how well the candidate uses it (a CEFR level, "native", or words up to 40 characters)."""

    language: str
    fluency: str = ""


# --- Checks --------------------------------------------------------------------------------------


def _text_problem(value: str, *, label: str, limit: int, required: bool = False, lines: bool = False) -> str | None:
    if required and not value.strip():
        return f"Enter the {label}."
    if len(value) > limit:
        return f"The {label} is {len(value):,} characters long; at most {limit:,} are accepted."
    allowed = {"\n", "\r", "\t"} if lines else set()
    if any(unicodedata.category(char) == "Cc" and char not in allowed for char in value):
        return f"The {label} contains a line break or another control character."
    return None


def _collect(**checks: str | None) -> dict[str, str]:
    return {name: message for name, message in checks.items() if message}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def skill_problems(data: SkillInput) -> dict[str, str]:
    """What is wrong with a skill, by field name; empty when it can be saved."""
    level = None
    if not _is_int(data.level) or not 1 <= data.level <= 5:
        level = f"The level must be a whole number from 1 to 5, not {data.level!r}."
    evidence_type = None
    if data.evidence_type not in SKILL_EVIDENCE:
        evidence_type = f"Choose the evidence from: {', '.join(SKILL_EVIDENCE.values())}."
    return _collect(
        given_name=_text_problem(data.given_name, label="skill", limit=MAX_SHORT, required=True),
        level=level,
        evidence_type=evidence_type,
        evidence=_text_problem(data.evidence, label="evidence", limit=MAX_LONG, lines=True),
    )


def education_problems(data: EducationInput, *, today: date) -> dict[str, str]:
    """What is wrong with a qualification, by field name; empty when it can be saved."""
    level = None
    if not _is_int(data.isced_level) or not 0 <= data.isced_level <= 8:
        level = f"{data.isced_level!r} is not an ISCED 2011 level; the levels run from 0 to 8."
    year = None
    if data.year is not None:
        if not _is_int(data.year) or data.year < EARLIEST_YEAR:
            year = f"The year must be {EARLIEST_YEAR} or later."
        elif data.year > today.year:
            year = f"The year {data.year} is in the future; enter qualifications already completed."
    return _collect(
        isced_level=level,
        field=_text_problem(data.field, label="field of study", limit=MAX_SHORT),
        institution=_text_problem(data.institution, label="institution", limit=MAX_SHORT),
        year=year,
        original_text=_text_problem(data.original_text, label="qualification as written", limit=MAX_SHORT),
    )


def experience_problems(data: ExperienceInput, *, today: date) -> dict[str, str]:
    """What is wrong with a job, by field name; empty when it can be saved."""
    start = end = fte = occupation = industry = None
    if data.start_date > today:
        start = f"The start date {data.start_date:%d %B %Y} is in the future."
    if data.end_date is not None:
        if data.end_date > today:
            end = f"The end date {data.end_date:%d %B %Y} is in the future; leave it empty for a current job."
        elif data.end_date < data.start_date:
            end = f"The end date {data.end_date:%d %B %Y} is before the start date {data.start_date:%d %B %Y}."
    if isinstance(data.fte, bool) or not isinstance(data.fte, int | float) or not 0 < data.fte <= 1:
        fte = "The share of full time must be above 0% and at most 100%."
    if data.occupation_uri is not None and not is_occupation(data.occupation_uri):
        occupation = "This is not one of the ESCO back-office occupations Rapport knows; search for the occupation."
    if data.industry is not None and data.industry not in industry_sections():
        industry = f"{data.industry!r} is not a NACE section; use one letter from A to U."
    return _collect(
        role=_text_problem(data.role, label="job title", limit=MAX_SHORT, required=True),
        employer=_text_problem(data.employer, label="employer", limit=MAX_SHORT),
        start_date=start,
        end_date=end,
        fte=fte,
        responsibilities=_text_problem(data.responsibilities, label="responsibilities", limit=MAX_LONG, lines=True),
        occupation_uri=occupation,
        industry=industry,
    )


def language_problems(data: LanguageInput) -> dict[str, str]:
    """What is wrong with a language, by field name; empty when it can be saved."""
    return _collect(
        language=_text_problem(data.language, label="language", limit=MAX_LANGUAGE, required=True),
        fluency=_text_problem(data.fluency, label="fluency", limit=MAX_FLUENCY),
    )


def _raise_if(problems: dict[str, str]) -> None:
    if problems:
        raise ProfileError(problems)


def _check_source(source: str) -> None:
    if source not in PROFILE_SOURCES:
        raise ValueError(f"unknown profile source {source!r}")


# --- Reference data --------------------------------------------------------------------------------


def is_occupation(uri: str) -> bool:
    """Whether the URI names one of the ESCO back-office occupations of the vocabulary."""
    try:
        vocabulary.occupation(uri)
    except KeyError:
        return False
    return True


def industry_sections() -> dict[str, str]:
    """NACE Rev. 2 sections: letter -> label."""
    return dict(reference.NACE_SECTIONS)


# --- Candidates ------------------------------------------------------------------------------------


def candidate_problems(name: str, email: str, headline: str) -> tuple[dict[str, str], str]:
    """What is wrong with a candidate's name, email address and headline, and the address normalised."""
    problems = _collect(
        name=_text_problem(name, label="name", limit=MAX_NAME, required=True),
        headline=_text_problem(headline, label="headline", limit=MAX_SHORT),
    )
    address = normalise_email(email)
    if not address:
        problems["email"] = "Enter the email address."
    elif len(address) > MAX_EMAIL:
        problems["email"] = f"The email address is longer than {MAX_EMAIL} characters."
    else:
        from email_validator import EmailNotValidError, validate_email  # loads on first use, not at start

        try:
            address = normalise_email(validate_email(address, check_deliverability=False).normalized)
        except EmailNotValidError as exc:
            problems["email"] = f"The email address is not valid: {exc}"
    return problems, address


def find_by_email(agency_id: int, email: str) -> Candidate | None:
    """The agency's candidate with this email address (normalised), if any."""
    return db.session.scalar(
        select(Candidate).where(Candidate.agency_id == agency_id, Candidate.email == normalise_email(email))
    )


def create_candidate(
    agency_id: int, *, name: str, email: str, headline: str = "", by: Actor | None, now: datetime
) -> Candidate:
    """Add a candidate by hand. Raises ProfileError (name, email, headline); an email is unique in an agency."""
    problems, address = candidate_problems(name, email, headline)
    if "email" not in problems and find_by_email(agency_id, address) is not None:
        problems["email"] = "The agency already has a candidate with this email address."
    _raise_if(problems)
    candidate = Candidate(
        agency_id=agency_id, name=name.strip(), email=address, headline=headline.strip(), created_at=now
    )
    db.session.add(candidate)
    db.session.flush()
    record(candidate, "candidate.created", by=by, now=now)
    return candidate


def update_candidate(
    candidate: Candidate, *, name: str, email: str, headline: str, by: Actor | None, now: datetime
) -> None:
    """Change a candidate's name, email address or headline. Raises ProfileError."""
    problems, address = candidate_problems(name, email, headline)
    if "email" not in problems and address != candidate.email:
        other = find_by_email(candidate.agency_id, address)
        if other is not None and other.id != candidate.id:
            problems["email"] = "The agency already has another candidate with this email address."
    _raise_if(problems)
    candidate.name, candidate.email, candidate.headline = name.strip(), address, headline.strip()
    touch(candidate, by=by, now=now)


# --- Profile rows ------------------------------------------------------------------------------------


def new_skill(candidate: Candidate, data: SkillInput, *, source: str) -> CandidateSkill:
    """A checked, unmatched skill row added to the candidate (no audit: callers record the change)."""
    _check_source(source)
    _raise_if(skill_problems(data))
    row = CandidateSkill(
        given_name=data.given_name.strip(),
        level=data.level,
        evidence_type=data.evidence_type,
        evidence=data.evidence.strip(),
        source=source,
        skill_key=None,
    )
    candidate.skills.append(row)
    return row


def new_education(candidate: Candidate, data: EducationInput, *, source: str, today: date) -> CandidateEducation:
    """A checked qualification row added to the candidate (no audit: callers record the change)."""
    _check_source(source)
    _raise_if(education_problems(data, today=today))
    row = CandidateEducation(
        isced_level=data.isced_level,
        field=data.field.strip(),
        institution=data.institution.strip(),
        year=data.year,
        original_text=data.original_text.strip(),
        source=source,
    )
    candidate.education.append(row)
    return row


def new_experience(candidate: Candidate, data: ExperienceInput, *, source: str, today: date) -> CandidateExperience:
    """A checked job row added to the candidate (no audit: callers record the change)."""
    _check_source(source)
    _raise_if(experience_problems(data, today=today))
    row = CandidateExperience(source=source)
    _fill_experience(row, data)
    candidate.experience.append(row)
    return row


def new_language(candidate: Candidate, data: LanguageInput, *, source: str) -> CandidateLanguage:
    """A checked language row added to the candidate (no audit: callers record the change)."""
    _check_source(source)
    _raise_if(language_problems(data))
    row = CandidateLanguage(language=data.language.strip(), fluency=data.fluency.strip(), source=source)
    candidate.languages.append(row)
    return row


def _fill_experience(row: CandidateExperience, data: ExperienceInput) -> None:
    row.role = data.role.strip()
    row.employer = data.employer.strip()
    row.start_date = data.start_date
    row.end_date = data.end_date
    row.fte = float(data.fte)
    row.responsibilities = data.responsibilities.strip()
    row.occupation_uri = data.occupation_uri or None
    row.industry = data.industry or None


def add_skill(
    candidate: Candidate,
    *,
    given_name: str,
    level: int,
    evidence_type: str = "cv",
    evidence: str = "",
    source: str,
    now: datetime,
    by: Actor | None = None,
) -> CandidateSkill:
    """Add a skill as given, unmatched (suggestions are confirmed separately). Raises ProfileError."""
    row = new_skill(candidate, SkillInput(given_name, level, evidence_type, evidence), source=source)
    touch(candidate, by=by, now=now)
    return row


def add_education(
    candidate: Candidate,
    *,
    isced_level: int,
    field: str = "",
    institution: str = "",
    year: int | None = None,
    original_text: str = "",
    source: str,
    now: datetime,
    by: Actor | None = None,
) -> CandidateEducation:
    """Add a qualification at an ISCED 2011 level (0-8). Raises ProfileError."""
    data = EducationInput(isced_level, field, institution, year, original_text)
    row = new_education(candidate, data, source=source, today=now.date())
    touch(candidate, by=by, now=now)
    return row


def add_experience(
    candidate: Candidate,
    *,
    role: str,
    start_date: date,
    end_date: date | None = None,
    employer: str = "",
    fte: float = 1.0,
    responsibilities: str = "",
    occupation_uri: str | None = None,
    industry: str | None = None,
    source: str,
    now: datetime,
    by: Actor | None = None,
) -> CandidateExperience:
    """Add a job (fte as a share of full time, above 0 and at most 1). Raises ProfileError."""
    data = ExperienceInput(role, start_date, employer, end_date, fte, responsibilities, occupation_uri, industry)
    row = new_experience(candidate, data, source=source, today=now.date())
    touch(candidate, by=by, now=now)
    return row


def add_language(
    candidate: Candidate, *, language: str, fluency: str = "", source: str, now: datetime, by: Actor | None = None
) -> CandidateLanguage:
    """Add a language and its fluency. Raises ProfileError."""
    row = new_language(candidate, LanguageInput(language, fluency), source=source)
    touch(candidate, by=by, now=now)
    return row


def update_skill(
    row: CandidateSkill,
    *,
    given_name: str,
    level: int,
    evidence_type: str,
    evidence: str,
    source: str,
    now: datetime,
    by: Actor | None = None,
) -> None:
    """Change a skill; new words clear a confirmed match (it was confirmed for the old words). Raises ProfileError.

    The row takes the editor's source, so that a later import never overwrites a person's correction.
    """
    _check_source(source)
    data = SkillInput(given_name, level, evidence_type, evidence)
    _raise_if(skill_problems(data))
    if data.given_name.strip() != row.given_name:
        row.skill_key = None
    row.given_name, row.level = data.given_name.strip(), data.level
    row.evidence_type, row.evidence, row.source = data.evidence_type, data.evidence.strip(), source
    touch(row.candidate, by=by, now=now)


def update_education(
    row: CandidateEducation,
    *,
    isced_level: int,
    field: str,
    institution: str,
    year: int | None,
    original_text: str | None = None,
    source: str,
    now: datetime,
    by: Actor | None = None,
) -> None:
    """Change a qualification (the words as written are kept unless given). Raises ProfileError."""
    _check_source(source)
    original = row.original_text if original_text is None else original_text
    data = EducationInput(isced_level, field, institution, year, original)
    _raise_if(education_problems(data, today=now.date()))
    row.isced_level, row.field, row.institution, row.year = isced_level, field.strip(), institution.strip(), year
    row.original_text, row.source = original.strip(), source
    touch(row.candidate, by=by, now=now)


def update_experience(
    row: CandidateExperience,
    *,
    role: str,
    start_date: date,
    end_date: date | None,
    employer: str,
    fte: float,
    responsibilities: str,
    occupation_uri: str | None,
    industry: str | None,
    source: str,
    now: datetime,
    by: Actor | None = None,
) -> None:
    """Change a job. Raises ProfileError."""
    _check_source(source)
    data = ExperienceInput(role, start_date, employer, end_date, fte, responsibilities, occupation_uri, industry)
    _raise_if(experience_problems(data, today=now.date()))
    _fill_experience(row, data)
    row.source = source
    touch(row.candidate, by=by, now=now)


def update_language(
    row: CandidateLanguage, *, language: str, fluency: str, source: str, now: datetime, by: Actor | None = None
) -> None:
    """Change a language. Raises ProfileError."""
    _check_source(source)
    _raise_if(language_problems(LanguageInput(language, fluency)))
    row.language, row.fluency, row.source = language.strip(), fluency.strip(), source
    touch(row.candidate, by=by, now=now)


def delete_row(row: ProfileRow, *, now: datetime, by: Actor | None = None) -> None:
    """Remove a skill, qualification, job or language from its candidate's profile."""
    candidate = row.candidate
    if isinstance(row, CandidateSkill):
        candidate.skills.remove(row)
    elif isinstance(row, CandidateEducation):
        candidate.education.remove(row)
    elif isinstance(row, CandidateExperience):
        candidate.experience.remove(row)
    else:
        candidate.languages.remove(row)
    touch(candidate, by=by, now=now)  # the flush deletes the orphaned row


# --- Imports ---------------------------------------------------------------------------------------

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def period_of(text: str) -> tuple[date, date]:
    """The first and last day that an ISO 8601 date with optional month and day can mean.

    "2021" is 1 January to 31 December 2021, "2021-03" is 1 to 31 March, "2021-03-15" is that day.
    Raises ValueError for other text, or a day that does not exist (2021-02-30).
    """
    match = _PERIOD.match(text.strip())
    if match is None:
        raise ValueError(f"“{text}” is not a date; write YYYY-MM-DD, YYYY-MM or YYYY.")
    year, month, day = int(match[1]), match[2], match[3]
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            last = calendar.monthrange(year, int(month))[1] if 1 <= int(month) <= 12 else 0
            return date(year, int(month), 1), date(year, int(month), last)
        exact = date(year, int(month), int(day))
    except ValueError:
        raise ValueError(f"“{text}” is not a real date.") from None
    return exact, exact


@dataclass(frozen=True)
class ImportedProfile:
    """The profile rows one import brings, checked; a headline of None leaves the candidate's as it is."""

    skills: tuple[SkillInput, ...] = ()
    education: tuple[EducationInput, ...] = ()
    experience: tuple[ExperienceInput, ...] = ()
    languages: tuple[LanguageInput, ...] = ()
    headline: str | None = None


@dataclass(frozen=True)
class Replacement:
    """What an import did to one profile."""

    removed: int
    added: int
    matches_kept: int


def _words(text: str) -> str:
    return " ".join(text.casefold().split())


def imported_rows(candidate: Candidate, source: str) -> list[ProfileRow]:
    """The candidate's rows that came from this source."""
    rows: list[ProfileRow] = [
        *candidate.skills,
        *candidate.education,
        *candidate.experience,
        *candidate.languages,
    ]
    return [row for row in rows if row.source == source]


def replace_imported_rows(candidate: Candidate, profile: ImportedProfile, *, source: str, today: date) -> Replacement:
    """Replace the candidate's rows of this source (an earlier import) with the profile's; rows from other
    sources stay. A match a person confirmed for the same words of an earlier import is kept, unless another
    skill now holds it. Raises ProfileError (nothing added) if an entry breaks a rule; records no audit event.
    """
    _check_source(source)
    old = imported_rows(candidate, source)
    confirmed = {_words(row.given_name): row.skill_key for row in old if isinstance(row, CandidateSkill)}
    for row in old:
        if isinstance(row, CandidateSkill):
            candidate.skills.remove(row)
        elif isinstance(row, CandidateEducation):
            candidate.education.remove(row)
        elif isinstance(row, CandidateExperience):
            candidate.experience.remove(row)
        else:
            candidate.languages.remove(row)
    if any(confirmed.values()) and candidate.id is not None:
        db.session.flush()  # the old rows go first, so that a kept match cannot meet itself in the unique key
    added: list[ProfileRow] = [new_skill(candidate, data, source=source) for data in profile.skills]
    added += [new_education(candidate, data, source=source, today=today) for data in profile.education]
    added += [new_experience(candidate, data, source=source, today=today) for data in profile.experience]
    added += [new_language(candidate, data, source=source) for data in profile.languages]
    held = {row.skill_key for row in candidate.skills if row.skill_key is not None}
    kept = 0
    for row in candidate.skills:
        key = confirmed.get(_words(row.given_name)) if row.source == source and row.skill_key is None else None
        if key is not None and key not in held:
            row.skill_key = key
            held.add(key)
            kept += 1
    if profile.headline is not None:
        problem = _text_problem(profile.headline, label="headline", limit=MAX_SHORT)
        _raise_if(_collect(headline=problem))
        candidate.headline = profile.headline.strip()
    return Replacement(removed=len(old), added=len(added), matches_kept=kept)


# --- Matching skills to the vocabulary -------------------------------------------------------------


def confirm_skill(row: CandidateSkill, skill_key: str, *, now: datetime, by: Actor | None = None) -> None:
    """Match a skill to a vocabulary skill a person chose. Raises ProfileError for an unknown key, or one that
    another skill of the candidate already holds."""
    if not vocabulary.is_skill_key(skill_key):
        raise ProfileError({"skill_key": "Choose one of the suggested skills."})
    holder = next((s for s in row.candidate.skills if s.skill_key == skill_key and s.id != row.id), None)
    if holder is not None:
        label = vocabulary.skill(skill_key).label
        raise ProfileError(
            {"skill_key": f"“{holder.given_name}” is already matched to “{label}”. Delete one of the two skills first."}
        )
    row.skill_key = skill_key
    touch(row.candidate, by=by, now=now)


def unmatch_skill(row: CandidateSkill, *, now: datetime, by: Actor | None = None) -> None:
    """Undo a match: the skill is kept as given, without a vocabulary key."""
    if row.skill_key is not None:
        row.skill_key = None
        touch(row.candidate, by=by, now=now)


# --- Audit -------------------------------------------------------------------------------------------


def touch(candidate: Candidate, *, by: Actor | None, now: datetime, action: str = "candidate.profile_updated") -> None:
    """Stamp the profile as changed and record who changed it (random ids only, no personal data)."""
    candidate.profile_updated_at = now
    db.session.flush()
    record(candidate, action, by=by, now=now)


def record(candidate: Candidate, action: str, *, by: Actor | None, now: datetime) -> None:
    """Add an audit event about the candidate; without a staff user, the candidate is the actor."""
    agency = by.agency if by is not None else db.session.get_one(Agency, candidate.agency_id)
    audit.record(
        action,
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id if by is not None else candidate.public_id,
        object_type="candidate",
        object_public_id=candidate.public_id,
    )
