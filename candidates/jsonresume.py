"""Import a candidate's profile from a JSON Resume file (https://jsonresume.org, schema vendored in schema/).

The whole file is checked before anything is written: it must be UTF-8 JSON that validates against the
JSON Resume schema and Rapport's "x-rapport" extension, and every entry must pass the profile rules.
Every problem is reported with its JSON path ("work[1].startDate: ..."); a file with any problem
imports nothing.

Mapping: ``basics.label`` -> headline; ``work[]`` -> experience (``position`` -> role, ``name`` ->
employer, ``summary`` and ``highlights`` -> responsibilities, optional ``"x-rapport": {"occupationUri",
"industry", "fte"}``); ``education[]`` (``studyType`` -> ISCED level, kept as written; ``"x-rapport":
{"iscedLevel": n}`` when the words cannot be placed; ``area`` -> field; the year of ``endDate``);
``skills[]`` (``name`` -> the skill as given, unmatched; ``level`` words or 1-5, or ``"x-rapport":
{"level": n}``); ``languages[]``. Other sections (basics' contact details, projects, volunteering...)
are not read. An import replaces the rows of earlier JSON Resume imports and keeps every other row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from accounts.models import Actor
from candidates import services
from candidates.models import Candidate
from candidates.services import EducationInput, ExperienceInput, LanguageInput, SkillInput
from taxonomy import reference

if TYPE_CHECKING:  # jsonschema loads on the first import of a file, not at a web worker's start
    from jsonschema import Draft7Validator

SCHEMA_DIR = Path(__file__).resolve().parent / "schema"
MAX_BYTES = 1024 * 1024
MAX_ENTRIES = 200
MAX_ERRORS = 200
SOURCE = "json_resume"
SECTIONS = ("work", "education", "skills", "languages")
EXTENSION = "x-rapport"
_EXPERIENCE_PATHS = {
    "role": "position",
    "employer": "name",
    "start_date": "startDate",
    "end_date": "endDate",
    "responsibilities": "summary",
    "fte": f"{EXTENSION}.fte",
    "occupation_uri": f"{EXTENSION}.occupationUri",
    "industry": f"{EXTENSION}.industry",
}
_EDUCATION_PATHS = {
    "isced_level": "studyType",
    "field": "area",
    "institution": "institution",
    "year": "endDate",
    "original_text": "studyType",
}
_SKILL_PATHS = {"given_name": "name", "level": "level", "evidence": "keywords", "evidence_type": "name"}
_LANGUAGE_PATHS = {"language": "language", "fluency": "fluency"}


@dataclass(frozen=True)
class FileError:
    """A problem at a JSON path ("" for the file as a whole)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


@dataclass
class ResumeReport:
    """The outcome of checking a file: its problems, or the profile it brings."""

    errors: list[FileError] = field(default_factory=list)
    more_errors: int = 0
    profile: services.ImportedProfile | None = None
    text: str = ""
    not_read: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and self.profile is not None

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.more_errors

    def add(self, path: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(FileError(path, message))
        else:
            self.more_errors += 1


@cache
def _validators() -> tuple[Draft7Validator, Draft7Validator]:
    from jsonschema import Draft7Validator, FormatChecker

    def load(name: str) -> dict[str, Any]:
        return dict(json.loads((SCHEMA_DIR / name).read_text(encoding="utf-8")))

    checker = FormatChecker()
    return (
        Draft7Validator(load("schema.json"), format_checker=checker),
        Draft7Validator(load("x-rapport.schema.json"), format_checker=checker),
    )


def path_text(path: tuple[Any, ...] | list[Any]) -> str:
    """A JSON path as people write it: work[1].startDate."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def check_resume(raw: bytes, *, today: date) -> ResumeReport:
    """Decode, parse and check a whole JSON Resume file; nothing is written."""
    report = ResumeReport()
    if len(raw) > MAX_BYTES:
        report.add("", "The file is larger than 1 MB. A JSON Resume is usually a few kilobytes: is it the right file?")
        return report
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        report.add(
            "",
            f"The file is not UTF-8 text (line {line} has a byte that is not UTF-8). "
            "Save it as UTF-8 and upload it again.",
        )
        return report
    report.text = text
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        report.add("", f"The file is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).")
        return report
    except ValueError as exc:
        report.add("", f"The file is not valid JSON: {exc}.")
        return report
    return check_document(document, today=today, report=report)


def check_document(document: Any, *, today: date, report: ResumeReport | None = None) -> ResumeReport:
    """Check a parsed JSON Resume against the schemas and the profile rules; nothing is written."""
    report = report or ResumeReport()
    if not isinstance(document, dict):
        report.add("", "A JSON Resume is one JSON object, { ... }, with sections such as basics, work and skills.")
        return report
    for section in SECTIONS:
        entries = document.get(section)
        if isinstance(entries, list) and len(entries) > MAX_ENTRIES:
            report.add(section, f"has {len(entries):,} entries; at most {MAX_ENTRIES} are accepted.")
    if report.errors:
        return report
    misshapen: set[tuple[Any, ...]] = set()
    reported: set[tuple[str, str]] = set()
    for validator in _validators():
        for error in sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
            where = tuple(error.absolute_path)
            problem = (path_text(where), _plain(error))
            if problem not in reported:  # both schemas check a section's type: say it once
                reported.add(problem)
                report.add(*problem)
            misshapen.add(where[:2] if len(where) >= 2 and where[0] in SECTIONS else ())
    if () in misshapen:
        return report  # the document itself is wrong: its entries cannot be read
    profile = _read_profile(document, today, report, misshapen)
    report.not_read = sorted(k for k in document if k not in (*SECTIONS, "basics", "$schema", "meta"))
    if not report.errors:
        report.profile = profile
    return report


def _read_profile(
    document: dict[str, Any], today: date, report: ResumeReport, misshapen: set[tuple[Any, ...]]
) -> services.ImportedProfile:
    def entries(section: str) -> list[tuple[int, dict[str, Any]]]:
        return [(i, e) for i, e in enumerate(document.get(section) or []) if (section, i) not in misshapen]

    experience = [_experience(e, f"work[{i}]", today, report) for i, e in entries("work")]
    education = [_education(e, f"education[{i}]", today, report) for i, e in entries("education")]
    skills = [_skill(e, f"skills[{i}]", report) for i, e in entries("skills")]
    languages = [_language(e, f"languages[{i}]", report) for i, e in entries("languages")]
    basics = document.get("basics") or {}
    headline = basics.get("label")
    if isinstance(headline, str) and len(headline.strip()) > services.MAX_SHORT:
        report.add(
            "basics.label", f"is {len(headline.strip())} characters long; at most {services.MAX_SHORT} are accepted."
        )
    return services.ImportedProfile(
        skills=tuple(x for x in skills if x is not None),
        education=tuple(x for x in education if x is not None),
        experience=tuple(x for x in experience if x is not None),
        languages=tuple(x for x in languages if x is not None),
        headline=headline.strip() if isinstance(headline, str) and headline.strip() else None,
    )


def _report(report: ResumeReport, base: str, problems: dict[str, str], paths: dict[str, str]) -> None:
    for name, message in problems.items():
        report.add(f"{base}.{paths.get(name, name)}", message)


def _dates(
    entry: dict[str, Any], base: str, today: date, report: ResumeReport, *, need_start: bool
) -> tuple[date | None, date | None, bool]:
    """The first day of startDate and the last day of endDate (capped at today), and whether both are fine."""
    found: dict[str, tuple[date, date]] = {}
    ok = True
    for key in ("startDate", "endDate"):
        value = entry.get(key)
        if value is None or value == "":
            if key == "startDate" and need_start:
                report.add(f"{base}.startDate", "is missing; Rapport needs the month or year each job started.")
                ok = False
            continue
        try:
            first, last = services.period_of(value)
        except ValueError as exc:
            report.add(f"{base}.{key}", str(exc))
            ok = False
            continue
        if first > today:
            report.add(f"{base}.{key}", f"{value} is in the future; import only what has already happened.")
            ok = False
            continue
        found[key] = (first, last)
    if "startDate" in found and "endDate" in found and found["endDate"][1] < found["startDate"][0]:
        report.add(f"{base}.endDate", f"{entry['endDate']} is before the start date {entry['startDate']}.")
        ok = False
    start = found["startDate"][0] if "startDate" in found else None
    end = min(found["endDate"][1], today) if "endDate" in found else None
    return start, end, ok


def _experience(entry: dict[str, Any], base: str, today: date, report: ResumeReport) -> ExperienceInput | None:
    start, end, ok = _dates(entry, base, today, report, need_start=True)
    extra = entry.get(EXTENSION) or {}
    industry = extra.get("industry")
    if industry is not None:
        industry = industry.strip().upper()
        if industry not in reference.NACE_SECTIONS:
            report.add(
                f"{base}.{EXTENSION}.industry",
                f"“{extra['industry']}” is not a NACE section; use one letter from A to U.",
            )
            ok = False
    fte = extra.get("fte", 1.0)
    if not 0 < fte <= 1:
        report.add(f"{base}.{EXTENSION}.fte", f"{fte} is not a share of full time; use a number above 0 and at most 1.")
        ok = False
    lines = [entry.get("summary", "").strip(), *(f"- {h.strip()}" for h in entry.get("highlights", []) if h.strip())]
    data = ExperienceInput(
        role=entry.get("position", ""),
        start_date=start or today,
        employer=entry.get("name", ""),
        end_date=end,
        fte=fte,
        responsibilities="\n".join(line for line in lines if line),
        occupation_uri=extra.get("occupationUri"),
        industry=industry,
    )
    problems = services.experience_problems(data, today=today)
    if not ok:
        problems = {k: v for k, v in problems.items() if k not in ("start_date", "end_date", "fte", "industry")}
    if "role" in problems and not entry.get("position", "").strip():
        problems["role"] = "is missing; Rapport needs the job title."
    _report(report, base, problems, _EXPERIENCE_PATHS)
    return data if ok and not problems else None


def _education(entry: dict[str, Any], base: str, today: date, report: ResumeReport) -> EducationInput | None:
    _, end, ok = _dates(entry, base, today, report, need_start=False)
    study_type = entry.get("studyType", "")
    extra = entry.get(EXTENSION) or {}
    level = extra.get("iscedLevel")
    if level is not None:
        if not 0 <= level <= 8:
            report.add(
                f"{base}.{EXTENSION}.iscedLevel", f"{level} is not an ISCED 2011 level; the levels run from 0 to 8."
            )
            ok = False
    elif not study_type.strip():
        report.add(
            f"{base}.studyType",
            f'is missing; name the qualification, or add "{EXTENSION}": {{"iscedLevel": n}} with its ISCED level 0-8.',
        )
        ok = False
    else:
        level = reference.isced_level(study_type)
        if level is None:
            report.add(
                f"{base}.studyType",
                f"Rapport cannot place “{study_type}” on the ISCED 2011 scale; "
                f'add "{EXTENSION}": {{"iscedLevel": n}} to the entry with its level 0-8.',
            )
            ok = False
    data = EducationInput(
        isced_level=level if level is not None else 0,
        field=entry.get("area", ""),
        institution=entry.get("institution", ""),
        year=end.year if end else None,
        original_text=study_type,
    )
    problems = services.education_problems(data, today=today)
    if not ok:
        problems = {k: v for k, v in problems.items() if k not in ("isced_level", "year")}
    _report(report, base, problems, _EDUCATION_PATHS)
    return data if ok and not problems else None


def _skill(entry: dict[str, Any], base: str, report: ResumeReport) -> SkillInput | None:
    ok = True
    extra = entry.get(EXTENSION) or {}
    level = extra.get("level")
    words = entry.get("level", "")
    if level is not None:
        if not 1 <= level <= 5:
            report.add(f"{base}.{EXTENSION}.level", f"{level} is not a skill level; use 1 to 5.")
            ok = False
    elif not words.strip():
        report.add(f"{base}.level", f"is missing; write a level word such as {_level_words()}, or a number 1 to 5.")
        ok = False
    else:
        level = reference.skill_level(words)
        if level is None:
            if words.strip().isdigit():
                message = f"{words.strip()} is not a skill level; use 1 to 5."
            else:
                message = (
                    f"Rapport does not know the level “{words}”; use a word such as {_level_words()}, "
                    f'a number 1 to 5, or add "{EXTENSION}": {{"level": n}}.'
                )
            report.add(f"{base}.level", message)
            ok = False
    keywords = [k.strip() for k in entry.get("keywords", []) if k.strip()]
    data = SkillInput(
        given_name=entry.get("name", ""),
        level=level if level is not None else 1,
        evidence_type="cv",
        evidence=f"JSON Resume keywords: {', '.join(keywords)}" if keywords else "",
    )
    problems = services.skill_problems(data)
    if not ok:
        problems.pop("level", None)
    if "given_name" in problems and not entry.get("name", "").strip():
        problems["given_name"] = "is missing; Rapport needs the skill's name."
    _report(report, base, problems, _SKILL_PATHS)
    return data if ok and not problems else None


def _level_words() -> str:
    return ", ".join(reference.SKILL_LEVEL_LABELS.values())


def _language(entry: dict[str, Any], base: str, report: ResumeReport) -> LanguageInput | None:
    words = entry.get("fluency", "").strip()
    data = LanguageInput(language=entry.get("language", ""), fluency=reference.fluency_level(words) or words)
    problems = services.language_problems(data)
    if "language" in problems and not entry.get("language", "").strip():
        problems["language"] = "is missing; Rapport needs the language's name."
    _report(report, base, problems, _LANGUAGE_PATHS)
    return None if problems else data


def _plain(error: Any) -> str:
    """A plain-English message for a schema error that never quotes a whole object back."""
    kind, limit, value = error.validator, error.validator_value, error.instance
    if kind == "required":
        return str(error.message).replace("is a required property", "is missing")
    if kind == "additionalProperties":
        return str(error.message).replace("Additional properties are not allowed", "Unknown field")
    if kind == "maxLength":
        return f"is {len(value)} characters long; at most {limit} are accepted."
    if kind == "type":
        return f"{_short(value)} is not of type {limit!r}."
    if kind == "pattern" and str(error.absolute_path[-1] if error.absolute_path else "").endswith("Date"):
        return f"{_short(value)} is not a date; write YYYY-MM-DD, YYYY-MM or YYYY."
    if kind == "format":
        return f"{_short(value)} is not a valid {limit}."
    message = str(error.message)
    return message if len(message) <= 200 else message[:197] + "..."


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Preview:
    """What an import would do: the rows it brings and the earlier imported rows it replaces."""

    adds: dict[str, int]
    replaces: dict[str, int]
    headline: str | None


def preview(candidate: Candidate, profile: services.ImportedProfile) -> Preview:
    """Counts for the confirmation page; nothing is written."""
    old = services.imported_rows(candidate, SOURCE)
    return Preview(
        adds={
            "skills": len(profile.skills),
            "education": len(profile.education),
            "experience": len(profile.experience),
            "languages": len(profile.languages),
        },
        replaces={
            "skills": sum(1 for r in old if r in candidate.skills),
            "education": sum(1 for r in old if r in candidate.education),
            "experience": sum(1 for r in old if r in candidate.experience),
            "languages": sum(1 for r in old if r in candidate.languages),
        },
        headline=profile.headline,
    )


def import_resume(
    candidate: Candidate, profile: services.ImportedProfile, *, by: Actor | None, now: datetime
) -> services.Replacement:
    """Replace the candidate's earlier JSON Resume rows with the file's (inside the caller's unit of work)."""
    done = services.replace_imported_rows(candidate, profile, source=SOURCE, today=now.date())
    services.touch(candidate, by=by, now=now, action="candidate.imported")
    return done
