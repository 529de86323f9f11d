"""Small reference scales: ISCED 2011 education levels, NACE Rev. 2 sections, skill and language levels.

These are classifications (facts), written out here rather than loaded from a file because they are
short and fixed. Sources: UNESCO Institute for Statistics, *International Standard Classification of
Education ISCED 2011* (levels 0-8); Eurostat, *NACE Rev. 2* (sections A-U and their divisions);
Council of Europe, *Common European Framework of Reference for Languages* (A1-C2).

The free-text lookups (:func:`isced_level`, :func:`skill_level`, :func:`fluency_level`) map what JSON
Resume and CVs write ("BSc", "Intermediate", "Native speaker") onto those scales and return None when
the text is unknown or ambiguous ("Diploma", "Certificate"): the caller keeps the original text and
asks a person, it never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

from taxonomy.text import normalise

__all__ = [
    "CEFR_LEVELS",
    "EDUCATION_ALIASES",
    "FLUENCY_LABELS",
    "ISCED_LEVELS",
    "NACE_SECTIONS",
    "SKILL_LEVEL_LABELS",
    "FluencyCode",
    "fluency_level",
    "fluency_rank",
    "isced_label",
    "isced_level",
    "nace_label",
    "nace_section",
    "skill_level",
]

# --- ISCED 2011 -------------------------------------------------------------------------------

ISCED_LEVELS: Final[Mapping[int, str]] = MappingProxyType(
    {
        0: "Early childhood education",
        1: "Primary education",
        2: "Lower secondary education",
        3: "Upper secondary education",
        4: "Post-secondary non-tertiary education",
        5: "Short-cycle tertiary education",
        6: "Bachelor's or equivalent level",
        7: "Master's or equivalent level",
        8: "Doctoral or equivalent level",
    }
)

# Degree names (normalised: lower case, no dots or apostrophes) -> ISCED level; None = ambiguous.
# "≈" marks judgement calls, following skills-and-fit.md §1.3 (e.g. long first professional degrees
# such as medicine or law are ISCED 7).
EDUCATION_ALIASES: Final[Mapping[str, int | None]] = MappingProxyType(
    {
        # 0-2
        "preschool": 0,
        "kindergarten": 0,
        "nursery school": 0,
        "primary school": 1,
        "primary education": 1,
        "elementary school": 1,
        "lower secondary": 2,
        "lower secondary education": 2,
        "middle school": 2,
        "junior high school": 2,
        "gcse": 2,  # ≈ completes lower secondary; some national mappings put good passes at 3
        "gcses": 2,
        "o level": 2,
        "o levels": 2,
        "brevet": 2,
        # 3
        "high school": 3,
        "high school diploma": 3,
        "secondary school diploma": 3,
        "upper secondary": 3,
        "upper secondary education": 3,
        "ged": 3,
        "a level": 3,
        "a levels": 3,
        "as level": 3,
        "scottish highers": 3,
        "highers": 3,
        "leaving certificate": 3,
        "baccalaureate": 3,
        "international baccalaureate": 3,
        "ib diploma": 3,
        "baccalaureat": 3,
        "abitur": 3,
        "matura": 3,
        "btec national": 3,
        "some college": 3,  # O*NET RL 4: upper secondary plus some tertiary, no degree
        # 4
        "post secondary certificate": 4,  # ≈ O*NET RL 3; some are 5
        "postsecondary certificate": 4,
        "post secondary non tertiary": 4,
        "access to he diploma": 4,
        # 5
        "associate": 5,
        "associates": 5,
        "associate degree": 5,
        "associates degree": 5,
        "associate of arts": 5,
        "associate of science": 5,
        "aa": 5,
        "aas": 5,
        "hnd": 5,
        "hnc": 5,  # ≈ short-cycle tertiary
        "higher national diploma": 5,
        "higher national certificate": 5,
        "foundation degree": 5,
        "dipl he": 5,
        "diphe": 5,
        "bts": 5,
        "dut": 5,
        "short cycle tertiary": 5,
        # 6
        "bachelor": 6,
        "bachelors": 6,
        "bachelor degree": 6,
        "bachelors degree": 6,
        "bachelor of arts": 6,
        "bachelor of science": 6,
        "ba": 6,
        "bsc": 6,
        "bs": 6,
        "bcom": 6,
        "bba": 6,
        "beng": 6,
        "llb": 6,
        "licence": 6,
        "licenciatura": 6,
        "laurea": 6,
        "undergraduate degree": 6,
        "honours degree": 6,
        "graduate diploma": 6,  # ≈ bachelor-level in the UK and Australia
        # 7
        "master": 7,
        "masters": 7,
        "master degree": 7,
        "masters degree": 7,
        "master of arts": 7,
        "master of science": 7,
        "ma": 7,
        "msc": 7,
        "ms": 7,
        "mba": 7,
        "meng": 7,
        "mphil": 7,
        "mres": 7,
        "llm": 7,
        "macc": 7,
        "postgraduate diploma": 7,  # ≈ master's-level, no master's degree
        "pgdip": 7,
        "postgraduate certificate": 7,  # ≈
        "pgcert": 7,
        "laurea magistrale": 7,
        "md": 7,  # ≈ long first professional degree
        "doctor of medicine": 7,  # ≈
        "jd": 7,  # ≈
        "first professional degree": 7,  # ≈ O*NET RL 10
        # 8
        "phd": 8,
        "dphil": 8,
        "doctorate": 8,
        "doctoral degree": 8,
        "doctor of philosophy": 8,
        "edd": 8,
        "dba": 8,
        # Ambiguous: the level depends on the programme.
        "certificate": None,
        "diploma": None,
        "degree": None,
        "professional certificate": None,
        "professional qualification": None,
        "vocational qualification": None,
        "apprenticeship": None,
        "nvq": None,
        "course": None,
        "graduate": None,
        "postgraduate": None,
    }
)

_DOTS: Final = re.compile(r"(?<=\w)\.(?=\w)")  # "B.Sc." -> "BSc."
_LONGEST_ALIAS: Final = max(len(alias.split()) for alias in EDUCATION_ALIASES)


def isced_label(level: int) -> str:
    """The ISCED 2011 label of a level 0-8; raises KeyError for any other number."""
    return ISCED_LEVELS[level]


def isced_level(study_type: str) -> int | None:
    """The ISCED level of a degree name (JSON Resume ``studyType``), or None if unknown or ambiguous.

    The whole text is looked up first ("Master's degree" -> 7, "Diploma" -> None); otherwise every run
    of words is, and the highest level found wins ("BSc (Hons) Accounting" -> 6, "High school
    diploma" -> 3). A text that names only ambiguous words ("Diploma in Nursing") gives None.
    """
    text = normalise(_DOTS.sub("", study_type.replace("'", "")))
    if not text:
        return None
    if text in EDUCATION_ALIASES:
        return EDUCATION_ALIASES[text]
    words = text.split()
    found: list[int] = []
    for size in range(min(len(words), _LONGEST_ALIAS), 0, -1):
        for start in range(len(words) - size + 1):
            level = EDUCATION_ALIASES.get(" ".join(words[start : start + size]))
            if level is not None:
                found.append(level)
    return max(found) if found else None


# --- NACE Rev. 2 ------------------------------------------------------------------------------

NACE_SECTIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "A": "Agriculture, forestry and fishing",
        "B": "Mining and quarrying",
        "C": "Manufacturing",
        "D": "Electricity, gas, steam and air conditioning supply",
        "E": "Water supply; sewerage, waste management and remediation activities",
        "F": "Construction",
        "G": "Wholesale and retail trade; repair of motor vehicles and motorcycles",
        "H": "Transportation and storage",
        "I": "Accommodation and food service activities",
        "J": "Information and communication",
        "K": "Financial and insurance activities",
        "L": "Real estate activities",
        "M": "Professional, scientific and technical activities",
        "N": "Administrative and support service activities",
        "O": "Public administration and defence; compulsory social security",
        "P": "Education",
        "Q": "Human health and social work activities",
        "R": "Arts, entertainment and recreation",
        "S": "Other service activities",
        "T": (
            "Activities of households as employers; undifferentiated goods- and services-producing "
            "activities of households for own use"
        ),
        "U": "Activities of extraterritorial organisations and bodies",
    }
)

# The two-digit divisions of each section (NACE Rev. 2 structure).
_NACE_DIVISIONS: Final = (
    ("A", 1, 3),
    ("B", 5, 9),
    ("C", 10, 33),
    ("D", 35, 35),
    ("E", 36, 39),
    ("F", 41, 43),
    ("G", 45, 47),
    ("H", 49, 53),
    ("I", 55, 56),
    ("J", 58, 63),
    ("K", 64, 66),
    ("L", 68, 68),
    ("M", 69, 75),
    ("N", 77, 82),
    ("O", 84, 84),
    ("P", 85, 85),
    ("Q", 86, 88),
    ("R", 90, 93),
    ("S", 94, 96),
    ("T", 97, 98),
    ("U", 99, 99),
)
_NACE_CODE: Final = re.compile(r"^(?P<section>[A-U])?\s*(?P<division>\d{1,2})?(?:\.\d{1,2})*$")


def nace_section(code: str) -> str | None:
    """The NACE section letter for a section ("q"), a division ("86"), or a class ("86.10", "Q86.1").

    None for anything else, including a letter whose digits belong to another section ("C86").
    """
    match = _NACE_CODE.match(code.strip().upper())
    if match is None or not (match["section"] or match["division"]):
        return None
    section = match["section"]
    if match["division"] is None:
        return section
    division = int(match["division"])
    for letter, first, last in _NACE_DIVISIONS:
        if first <= division <= last:
            return letter if section in (None, letter) else None
    return None


def nace_label(code: str) -> str | None:
    """The official short label of the section a NACE code belongs to, or None."""
    section = nace_section(code)
    return NACE_SECTIONS[section] if section else None


# --- Skill levels (JSON Resume ``skills[].level``) ----------------------------------------------

SKILL_LEVEL_LABELS: Final[Mapping[int, str]] = MappingProxyType(
    {1: "Beginner", 2: "Developing", 3: "Intermediate", 4: "Advanced", 5: "Expert"}
)

_SKILL_LEVEL_WORDS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "beginner": 1,
        "novice": 1,
        "basic": 1,
        "elementary": 1,
        "entry level": 1,
        "fundamental awareness": 1,
        "developing": 2,
        "familiar": 2,
        "limited": 2,
        "limited experience": 2,
        "pre intermediate": 2,
        "lower intermediate": 2,
        "intermediate": 3,
        "competent": 3,
        "working knowledge": 3,
        "good": 3,
        "mid level": 3,
        "upper intermediate": 4,
        "advanced": 4,
        "proficient": 4,
        "experienced": 4,
        "strong": 4,
        "very good": 4,
        "expert": 5,
        "master": 5,
        "mastery": 5,
        "excellent": 5,
        "specialist": 5,
    }
)
_OUT_OF: Final = re.compile(r"^(?P<value>[1-5])(?:\s*(?:/|out of|of)\s*5)?$")


def skill_level(word: str) -> int | None:
    """A 1-5 level for a JSON Resume skill level ("Intermediate" -> 3, "Master" -> 5, "4/5" -> 4).

    None for an unknown word (never a guess); the caller keeps the original text.
    """
    text = normalise(word)
    if text in _SKILL_LEVEL_WORDS:
        return _SKILL_LEVEL_WORDS[text]
    match = _OUT_OF.match(" ".join(word.strip().lower().split()))
    return int(match["value"]) if match else None


# --- Languages (JSON Resume ``languages[].fluency``) -------------------------------------------

FluencyCode = Literal["A1", "A2", "B1", "B2", "C1", "C2", "native"]

CEFR_LEVELS: Final[tuple[FluencyCode, ...]] = ("A1", "A2", "B1", "B2", "C1", "C2", "native")
FLUENCY_LABELS: Final[Mapping[FluencyCode, str]] = MappingProxyType(
    {
        "A1": "Beginner (CEFR A1)",
        "A2": "Elementary (CEFR A2)",
        "B1": "Intermediate (CEFR B1)",
        "B2": "Upper intermediate (CEFR B2)",
        "C1": "Advanced (CEFR C1)",
        "C2": "Proficient (CEFR C2)",
        "native": "Native or bilingual",
    }
)

_FLUENCY_WORDS: Final[Mapping[str, FluencyCode]] = MappingProxyType(
    {
        "a1": "A1",
        "a2": "A2",
        "b1": "B1",
        "b2": "B2",
        "c1": "C1",
        "c2": "C2",
        "beginner": "A1",
        "basic": "A1",
        "breakthrough": "A1",
        "elementary": "A2",
        "elementary proficiency": "A2",
        "waystage": "A2",
        "intermediate": "B1",
        "conversational": "B1",
        "threshold": "B1",
        "limited working proficiency": "B1",
        "upper intermediate": "B2",
        "vantage": "B2",
        "professional working proficiency": "B2",
        "advanced": "C1",
        "fluent": "C1",
        "full professional proficiency": "C1",
        "effective operational proficiency": "C1",
        "proficient": "C2",
        "proficiency": "C2",
        "mastery": "C2",
        "native": "native",
        "native speaker": "native",
        "mother tongue": "native",
        "first language": "native",
        "bilingual": "native",
        "native or bilingual": "native",
        "native or bilingual proficiency": "native",
    }
)


def fluency_level(text: str) -> FluencyCode | None:
    """A CEFR level or "native" for a JSON Resume ``fluency`` ("Native speaker", "B2", "Fluent" -> "C1").

    "Fluent" is read as C1 (≈). None for anything unknown.
    """
    normalised = normalise(text)
    if normalised in _FLUENCY_WORDS:
        return _FLUENCY_WORDS[normalised]
    for code in ("a1", "a2", "b1", "b2", "c1", "c2"):  # "English (C1)", "B2 level"
        if code in normalised.split():
            return _FLUENCY_WORDS[code]
    return None


def fluency_rank(code: FluencyCode) -> int:
    """1 for A1 up to 6 for C2, 7 for native: for "at least B2" comparisons."""
    return CEFR_LEVELS.index(code) + 1
