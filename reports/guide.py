"""Behavioural wording for reports: strengths, development areas, interview questions and candidate feedback.

The text lives in ``reports/library/guide.yaml``: one entry per default competency code and a generic entry,
with ``{name}`` and ``{name_lower}`` placeholders, for an agency's own competencies. ``GUIDE_VERSION`` is a
short hash of that file; it belongs in every report context so that editing the wording re-renders cached PDFs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, NamedTuple

GUIDE_FILE: Final = Path(__file__).resolve().parent / "library" / "guide.yaml"
GUIDE_VERSION: Final[str] = hashlib.sha256(GUIDE_FILE.read_bytes()).hexdigest()[:12]
"""A short hash of the guide file's bytes: part of every report context (PDFs are cached by context hash)."""

QUESTIONS_PER_COMPETENCY: Final = 3
POSITIVE_INDICATORS: Final = 3
WARNING_SIGNS: Final = 2

_TEXT_FIELDS: Final = ("strength", "development", "feedback_strength", "feedback_tip")
_PLACEHOLDER: Final = re.compile(r"\{(name|name_lower)\}")
_CAPITALISED_WORD: Final = re.compile(r"\b[A-Z][a-z]*\b")


class InterviewQuestion(NamedTuple):
    """A past-behaviour interview question and its follow-up probe: a (question, probe) pair."""

    question: str
    probe: str


@dataclass(frozen=True)
class CompetencyGuide:
    """The report wording for one competency: client-facing summary and interview guide, candidate feedback."""

    code: str
    name: str
    strength: str
    """For the hiring manager: what a relatively strong result suggests the candidate chose in the test."""
    development: str
    """For the hiring manager: a relatively weak result, and what to explore at interview."""
    questions: tuple[InterviewQuestion, ...]
    listen_for: tuple[str, ...]
    """Positive indicators an interviewer listens for."""
    warning_signs: tuple[str, ...]
    feedback_strength: str
    """For the candidate: plain language, no scores, no comparison with other people."""
    feedback_tip: str
    """For the candidate: something they can practise."""


def _text(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{GUIDE_FILE.name}: {where}.{key} must be non-empty text")
    return value.strip()


def _texts(values: Any, count: int, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or len(values) != count:
        raise ValueError(f"{GUIDE_FILE.name}: {where} must list {count} entries")
    if not all(isinstance(v, str) and v.strip() for v in values):
        raise ValueError(f"{GUIDE_FILE.name}: {where} entries must be non-empty text")
    return tuple(v.strip() for v in values)


def _parse_entry(code: str, entry: Any) -> CompetencyGuide:
    if not isinstance(entry, dict):
        raise ValueError(f"{GUIDE_FILE.name}: {code} must be a mapping")
    questions = entry.get("questions")
    if not isinstance(questions, list) or len(questions) != QUESTIONS_PER_COMPETENCY:
        raise ValueError(f"{GUIDE_FILE.name}: {code}.questions must list {QUESTIONS_PER_COMPETENCY} questions")
    listen_for = entry.get("listen_for")
    if not isinstance(listen_for, dict):
        raise ValueError(f"{GUIDE_FILE.name}: {code}.listen_for must be a mapping")
    texts = {key: _text(entry, key, code) for key in _TEXT_FIELDS}
    return CompetencyGuide(
        code=code,
        name="",
        questions=tuple(
            InterviewQuestion(
                question=_text(q if isinstance(q, dict) else {}, "question", f"{code}.questions[{i}]"),
                probe=_text(q if isinstance(q, dict) else {}, "probe", f"{code}.questions[{i}]"),
            )
            for i, q in enumerate(questions)
        ),
        listen_for=_texts(listen_for.get("positive"), POSITIVE_INDICATORS, f"{code}.listen_for.positive"),
        warning_signs=_texts(listen_for.get("warning"), WARNING_SIGNS, f"{code}.listen_for.warning"),
        **texts,
    )


@lru_cache(maxsize=1)
def load_guides() -> tuple[Mapping[str, CompetencyGuide], CompetencyGuide]:
    """The default competencies' guides by code, and the generic template; raises ValueError on a bad file."""
    import yaml  # loads with the first report, not at a web worker's start

    data = yaml.safe_load(GUIDE_FILE.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("competencies"), dict):
        raise ValueError(f"{GUIDE_FILE.name} must map 'competencies' to entries by code")
    defaults = {str(code): _parse_entry(str(code), entry) for code, entry in data["competencies"].items()}
    return MappingProxyType(defaults), _parse_entry("generic", data.get("generic"))


def lower_name(name: str) -> str:
    """A competency name for use mid-sentence: capitalised words lowered, acronyms (SAP, PowerBI) kept."""
    return _CAPITALISED_WORD.sub(lambda m: m.group().lower(), name)


def _fill(template: str, name: str, name_lower: str) -> str:
    # One pass, so a name that itself contains "{name}" or "{0.__class__}" stays literal text.
    return _PLACEHOLDER.sub(lambda m: name if m.group(1) == "name" else name_lower, template)


def guide_for(code: str, name: str) -> CompetencyGuide:
    """The wording for a competency: its own entry for a default code, else the generic one filled with name."""
    defaults, generic = load_guides()
    plain = " ".join(name.split())
    if code in defaults:
        return replace(defaults[code], name=plain)
    lowered = lower_name(plain)

    def fill(template: str) -> str:
        return _fill(template, plain, lowered)

    return CompetencyGuide(
        code=code,
        name=plain,
        strength=fill(generic.strength),
        development=fill(generic.development),
        questions=tuple(InterviewQuestion(fill(q.question), fill(q.probe)) for q in generic.questions),
        listen_for=tuple(fill(t) for t in generic.listen_for),
        warning_signs=tuple(fill(t) for t in generic.warning_signs),
        feedback_strength=fill(generic.feedback_strength),
        feedback_tip=fill(generic.feedback_tip),
    )
