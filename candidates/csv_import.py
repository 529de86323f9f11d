"""Import candidates with their profiles from a CSV file: checked whole, then written all at once or not at all.

The first row names the columns: ``name`` and ``email`` are required; ``headline``, ``skills``
("skill:level;skill:level", levels 1-5 or words such as Advanced), ``education_level`` (ISCED 0-8),
``education_field``, ``job_title``, ``employer``, ``industry`` (NACE section letter), ``job_start``,
``job_end`` (YYYY-MM-DD, YYYY-MM or YYYY) and ``fte`` (percent of full time, 1-100) are optional.
A row is one candidate. An address the agency already has updates that candidate: the rows an
earlier CSV import gave them are replaced, every other row is kept, and the name is left as it is.
Every problem is reported as "line N, column X: reason"; a file with any problem imports nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.models import User
from candidates import services
from candidates.models import Candidate
from candidates.services import EducationInput, ExperienceInput, ImportedProfile, SkillInput
from database import db, new_public_id
from taxonomy import reference

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_SHOWN = 200
SOURCE = "csv"
COLUMNS = (
    "name",
    "email",
    "headline",
    "skills",
    "education_level",
    "education_field",
    "job_title",
    "employer",
    "industry",
    "job_start",
    "job_end",
    "fte",
)
REQUIRED = ("name", "email")
JOB_COLUMNS = ("employer", "industry", "job_start", "job_end", "fte")
# A spreadsheet may run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = ("name", "headline", "skills", "education_field", "job_title", "employer")
REPORT_COLUMNS = ("line", "column", "reason")
_EXPERIENCE_COLUMNS = {
    "role": "job_title",
    "employer": "employer",
    "start_date": "job_start",
    "end_date": "job_end",
    "fte": "fte",
    "industry": "industry",
}
_EDUCATION_COLUMNS = {"isced_level": "education_level", "field": "education_field"}
Fail = Callable[[str, str], None]  # report a problem: (column, reason)


class CsvFileError(Exception):
    """The file as a whole cannot be read (size, encoding, header, too many rows); the message is safe to show."""


@dataclass(frozen=True)
class RowError:
    """A problem in one cell (line 1 is the header row)."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"


@dataclass(frozen=True)
class CandidateRow:
    """A checked row: the person and the profile rows it brings."""

    line: int
    name: str
    email: str
    profile: ImportedProfile


@dataclass
class CsvReport:
    """The outcome of checking a file."""

    rows: list[CandidateRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    existing: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def shown_errors(self) -> list[RowError]:
        return self.errors[:MAX_SHOWN]


@dataclass(frozen=True)
class ImportCounts:
    created: int
    updated: int


def decode(raw: bytes) -> str:
    """The file as text: UTF-8 (a byte-order mark is allowed), strictly. Raises CsvFileError."""
    if len(raw) > MAX_FILE_BYTES:
        raise CsvFileError("The file is larger than 2 MB. Split it into smaller files and upload each one.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            f"The file is not UTF-8 text: line {line} has a byte that UTF-8 does not allow, so the file is in "
            "another encoding or mixes encodings. Nothing was imported. Save it from your spreadsheet as "
            "“CSV UTF-8” and upload it again."
        ) from None
    if "\x00" in text:
        raise CsvFileError(
            "The file contains NUL bytes: it is not a CSV text file (UTF-16 perhaps). Save it as CSV UTF-8."
        )
    if not text.strip():
        raise CsvFileError("The file is empty. The first row must name the columns, at least name and email.")
    return text


def check_csv(raw: bytes, *, agency_id: int, today: date) -> CsvReport:
    """Check a whole file; nothing is written. Raises CsvFileError when the file cannot be read at all."""
    reader = csv.reader(io.StringIO(decode(raw), newline=""))
    try:
        report = _check_rows(reader, today)
    except csv.Error as exc:
        raise CsvFileError(f"The file could not be read as CSV (line {reader.line_num}: {exc}).") from None
    emails = [row.email for row in report.rows]
    known: set[str] = set()
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        known |= set(
            db.session.scalars(
                select(Candidate.email).where(Candidate.agency_id == agency_id, Candidate.email.in_(chunk))
            )
        )
    report.existing = len(known)
    return report


def _check_rows(reader: Any, today: date) -> CsvReport:
    report = CsvReport()
    header: list[str] = next((record for record in reader if any(cell.strip() for cell in record)), [])
    header_line = reader.line_num
    columns = [cell.strip().lower() for cell in header]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise CsvFileError(
            f"The first row must name the columns “name” and “email”; no {' or '.join(missing)} column was found."
        )
    for position, name in enumerate(columns):
        if name not in COLUMNS:
            report.errors.append(
                RowError(
                    header_line,
                    name or f"number {position + 1}",
                    f"Unknown column. The columns are: {', '.join(COLUMNS)}.",
                )
            )
        elif columns.index(name) != position:
            report.errors.append(RowError(header_line, name, "This column is named twice; keep one."))
    first_line: dict[str, int] = {}
    count = 0
    next_line = reader.line_num + 1
    for record in reader:
        line, next_line = next_line, reader.line_num + 1  # a quoted cell may span lines: report where it starts
        if not any(cell.strip() for cell in record):
            continue
        count += 1
        if count > MAX_ROWS:
            raise CsvFileError(f"The file has more than {MAX_ROWS:,} rows. Split it into files of up to {MAX_ROWS:,}.")
        if len(record) > len(columns):
            report.errors.append(
                RowError(line, f"number {len(columns) + 1}", "This row has more cells than the header row names.")
            )
            continue
        cells = {name: record[i] if i < len(record) else "" for i, name in enumerate(columns) if name in COLUMNS}
        row = _check_row(line, cells, today, report)
        if row is None:
            continue
        if row.email in first_line:
            report.errors.append(
                RowError(line, "email", f"The same address as line {first_line[row.email]}; list each candidate once.")
            )
            continue
        first_line[row.email] = line
        report.rows.append(row)
    if count == 0:
        raise CsvFileError("The file has a header row but no candidates below it.")
    return report


def _check_row(line: int, raw: dict[str, str], today: date, report: CsvReport) -> CandidateRow | None:
    errors: list[RowError] = []

    def fail(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    cells = {name: value.strip() for name, value in raw.items()}
    for column in TEXT_COLUMNS:
        value = raw.get(column, "")
        start = value[:1] if value[:1] in FORMULA_STARTS else cells.get(column, "")[:1]
        if start in FORMULA_STARTS:
            shown = {"\t": "a tab", "\r": "a line break"}.get(start, f"“{start}”")
            fail(column, f"Starts with {shown}, which a spreadsheet could run as a formula.")
    if errors:
        report.errors += errors
        return None

    name, email, headline = cells.get("name", ""), cells.get("email", ""), cells.get("headline", "")
    problems, email = services.candidate_problems(name, email, headline)
    for column, message in problems.items():
        fail(column, message)

    skills = _skills(cells.get("skills", ""), fail)
    education = _education(cells, today, fail)
    experience = _experience(cells, today, fail)
    if errors:
        report.errors += errors
        return None
    profile = ImportedProfile(
        skills=tuple(skills),
        education=(education,) if education else (),
        experience=(experience,) if experience else (),
        headline=headline or None,
    )
    return CandidateRow(line=line, name=name, email=email, profile=profile)


def _skills(cell: str, fail: Fail) -> list[SkillInput]:
    found: list[SkillInput] = []
    for part in (p.strip() for p in cell.split(";")):
        if not part:
            continue
        given, colon, level_text = part.rpartition(":")
        if not colon:
            fail("skills", f"“{part}” has no level; write skill:level, e.g. Bookkeeping:4.")
            continue
        given, level_text = given.strip(), level_text.strip()
        if not given:
            fail("skills", f"“{part}” has no skill before the colon.")
            continue
        level = reference.skill_level(level_text) if level_text else None
        if level is None:
            if level_text.isdigit():
                reason = f"The level of “{given}” is {level_text}; use 1 to 5."
            else:
                words = ", ".join(reference.SKILL_LEVEL_LABELS.values())
                reason = f"The level of “{given}” is “{level_text}”; use 1 to 5 or a word such as {words}."
            fail("skills", reason)
            continue
        data = SkillInput(given_name=given, level=level, evidence_type="cv", evidence="")
        problems = services.skill_problems(data)
        for message in problems.values():
            fail("skills", f"“{given[:60]}”: {message}")
        if not problems:
            found.append(data)
    return found


def _education(cells: dict[str, str], today: date, fail: Fail) -> EducationInput | None:
    level_text, field_text = cells.get("education_level", ""), cells.get("education_field", "")
    if not level_text:
        if field_text:
            fail("education_level", "Give the ISCED level (0-8) of the education in education_field.")
        return None
    if not level_text.isdigit() or not 0 <= int(level_text) <= 8:
        fail("education_level", f"“{level_text}” is not an ISCED 2011 level; use a whole number from 0 to 8.")
        return None
    data = EducationInput(isced_level=int(level_text), field=field_text)
    problems = services.education_problems(data, today=today)
    for name, message in problems.items():
        fail(_EDUCATION_COLUMNS.get(name, "education_level"), message)
    return None if problems else data


def _experience(cells: dict[str, str], today: date, fail: Fail) -> ExperienceInput | None:
    title = cells.get("job_title", "")
    if not title:
        given = [c for c in JOB_COLUMNS if cells.get(c)]
        if given:
            fail("job_title", f"Give the job title for the job in {', '.join(given)}.")
        return None
    ok = True
    dates: dict[str, tuple[date, date]] = {}
    for column in ("job_start", "job_end"):
        text = cells.get(column, "")
        if not text:
            if column == "job_start":
                fail(column, "The start date is missing; write YYYY-MM-DD, YYYY-MM or YYYY.")
                ok = False
            continue
        try:
            dates[column] = services.period_of(text)
        except ValueError as exc:
            fail(column, str(exc))
            ok = False
            continue
        if dates[column][0] > today:
            fail(column, f"{text} is in the future.")
            ok = False
    if ok and "job_end" in dates and dates["job_end"][1] < dates["job_start"][0]:
        fail("job_end", f"{cells['job_end']} is before the start date {cells['job_start']}.")
        ok = False
    industry = cells.get("industry", "").upper() or None
    if industry is not None and industry not in reference.NACE_SECTIONS:
        fail("industry", f"“{cells['industry']}” is not a NACE section; use one letter from A to U.")
        ok = False
    fte = 1.0
    fte_text = cells.get("fte", "").removesuffix("%").strip()
    if fte_text:
        if not fte_text.isdigit() or not 1 <= int(fte_text) <= 100:
            fail(
                "fte", f"“{cells['fte']}” is not a share of full time; write a whole percentage from 1 to 100, e.g. 50."
            )
            ok = False
        else:
            fte = int(fte_text) / 100
    if not ok:
        return None
    data = ExperienceInput(
        role=title,
        start_date=dates["job_start"][0],
        employer=cells.get("employer", ""),
        end_date=min(dates["job_end"][1], today) if "job_end" in dates else None,
        fte=fte,
        industry=industry,
    )
    problems = services.experience_problems(data, today=today)
    for name, message in problems.items():
        fail(_EXPERIENCE_COLUMNS.get(name, "job_title"), message)
    return None if problems else data


def import_rows(report: CsvReport, agency_id: int, *, by: User | None, now: datetime) -> ImportCounts:
    """Write a checked file (inside the caller's unit of work): new candidates are created, known ones updated."""
    if not report.ok:
        raise ValueError("import_rows() needs a file without problems")
    emails = [row.email for row in report.rows]
    existing: dict[str, Candidate] = {}
    for start in range(0, len(emails), 500):
        chunk = emails[start : start + 500]
        found = db.session.scalars(
            select(Candidate)
            .where(Candidate.agency_id == agency_id, Candidate.email.in_(chunk))
            .options(
                selectinload(Candidate.skills),
                selectinload(Candidate.education),
                selectinload(Candidate.experience),
                selectinload(Candidate.languages),
            )
        )
        existing.update({c.email: c for c in found})
    today = now.date()
    touched: list[Candidate] = []
    created = 0
    for row in report.rows:
        candidate = existing.get(row.email)
        if candidate is None:
            candidate = Candidate(
                public_id=new_public_id(), agency_id=agency_id, name=row.name, email=row.email, created_at=now
            )
            db.session.add(candidate)
            created += 1
        services.replace_imported_rows(candidate, row.profile, source=SOURCE, today=today)
        candidate.profile_updated_at = now
        touched.append(candidate)
    db.session.flush()
    for candidate in touched:
        services.record(candidate, "candidate.imported", by=by, now=now)
    return ImportCounts(created=created, updated=len(touched) - created)


def neutralise_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading single quote."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value


def error_report_csv(errors: list[RowError]) -> str:
    """The problems as CSV (line, column, reason); no cell can run as a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for error in errors:
        writer.writerow(
            [neutralise_cell(str(error.line)), neutralise_cell(error.column), neutralise_cell(error.reason)]
        )
    return out.getvalue()
