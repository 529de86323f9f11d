"""The skills vocabulary and the ESCO back-office occupations, loaded from ``taxonomy/data``.

The vocabulary is the union of every skill label of the 147 occupations in
``data/esco/back_office_occupations.csv`` (kind ``"occupational"``: the subset gives a label only, no
URI, reuse level or description) and the ESCO transversal skills collection in
``data/esco/transversal_skills.csv`` (kind ``"transversal"``, with URI, reuse level, description and
ESCO's alternative labels as aliases). A label with a qualifier in brackets also gets the bare form as
an alias ("Python" for "Python (computer programming)"). Hand-curated back-office phrasings from ``data/aliases.csv``
are added to the aliases of the skill they name.

A skill's ``key`` is its ESCO preferred label in lower case, with runs of whitespace collapsed and the
ends trimmed (ESCO writes a few labels with a trailing or no-break space). It is what the database
stores, so it must never change for a given label: see :func:`skill_key`.

Everything is read once and cached; the returned dataclasses are frozen and the collections tuples.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from taxonomy.text import clean_label, content_tokens, normalise

__all__ = [
    "DATA_DIR",
    "ESCO_VERSION",
    "Alias",
    "AliasSource",
    "Occupation",
    "Skill",
    "SkillKind",
    "aliases",
    "is_skill_key",
    "occupation",
    "occupations",
    "occupations_with_skill",
    "search_occupations",
    "skill",
    "skill_key",
    "skills",
]

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
ESCO_DIR: Final = DATA_DIR / "esco"
ESCO_VERSION: Final = "1.2.0"
_SEPARATOR: Final = " | "
_QUALIFIER: Final = re.compile(r"\s*\([^)]*\)")  # "Python (computer programming)" -> "Python"

SkillKind = Literal["transversal", "occupational"]
AliasSource = Literal["esco", "rapport"]


@dataclass(frozen=True, slots=True)
class Skill:
    """One skill of the vocabulary.

    ``uri``, ``reuse_level`` and ``group`` (ESCO's broader concept, e.g. "working efficiently") are
    None and ``description`` is empty where the ESCO subset gives none (the occupational skills).
    ``aliases`` holds ESCO's alternative labels first, then Rapport's curated phrasings.
    """

    key: str
    label: str
    kind: SkillKind
    uri: str | None
    reuse_level: str | None
    description: str
    aliases: tuple[str, ...]
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Occupation:
    """An ESCO occupation with the keys of its essential and optional skills, in ESCO's order."""

    uri: str
    label: str
    isco_code: str
    isco_group: str
    description: str
    essential_keys: tuple[str, ...]
    optional_keys: tuple[str, ...]

    @property
    def skill_keys(self) -> tuple[str, ...]:
        """Essential keys, then optional ones."""
        return self.essential_keys + self.optional_keys


@dataclass(frozen=True, slots=True)
class Alias:
    """Another way of writing a skill: ESCO's (``source="esco"``) or a curated Rapport phrasing.

    ``note`` says where an ESCO alias comes from ("ESCO alternative label", "ESCO label without its
    qualifier"); for a curated alias it is the curator's note, often empty.
    """

    alias: str
    skill_key: str
    note: str
    source: AliasSource


def skill_key(label: str) -> str:
    """The key for an ESCO preferred label (not checked against the vocabulary: see :func:`is_skill_key`)."""
    return clean_label(label).lower()


def _read_csv(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def _split_labels(joined: str) -> tuple[str, ...]:
    labels: dict[str, None] = {}
    for part in joined.split(_SEPARATOR):
        if label := clean_label(part):
            labels.setdefault(label, None)
    return tuple(labels)


@dataclass(frozen=True, slots=True)
class _Data:
    skills: dict[str, Skill]
    occupations: tuple[Occupation, ...]
    by_uri: dict[str, Occupation]
    aliases: tuple[Alias, ...]


@lru_cache(maxsize=1)
def _data() -> _Data:
    labels: dict[str, str] = {}  # key -> label, first spelling wins
    transversal: dict[str, dict[str, str]] = {}
    for row in _read_csv(ESCO_DIR / "transversal_skills.csv"):
        label = clean_label(row["preferredLabel"])
        labels.setdefault(skill_key(label), label)
        transversal[skill_key(label)] = row

    occupation_list: list[Occupation] = []
    for row in _read_csv(ESCO_DIR / "back_office_occupations.csv"):
        essential = _split_labels(row["essential_skills"])
        optional = tuple(label for label in _split_labels(row["optional_skills"]) if label not in essential)
        for label in essential + optional:
            labels.setdefault(skill_key(label), label)
        occupation_list.append(
            Occupation(
                uri=row["occupation_uri"].strip(),
                label=clean_label(row["occupation"]),
                isco_code=row["isco_code"].strip(),
                isco_group=clean_label(row["isco_group"]),
                description=clean_label(row["description"]),
                essential_keys=tuple(skill_key(label) for label in essential),
                optional_keys=tuple(skill_key(label) for label in optional),
            )
        )

    alias_list: list[Alias] = []
    for key, row in sorted(transversal.items()):
        alias_list += [Alias(alt, key, "ESCO alternative label", "esco") for alt in _split_labels(row["altLabels"])]
    for key, label in sorted(labels.items()):
        bare = clean_label(_QUALIFIER.sub(" ", label))
        if bare != label and bare and skill_key(bare) not in labels:
            alias_list.append(Alias(bare, key, "ESCO label without its qualifier", "esco"))
    unknown: list[str] = []
    for row in _read_csv(DATA_DIR / "aliases.csv"):
        alias, key = clean_label(row["alias"]), clean_label(row["skill_key"])
        if key not in labels:
            unknown.append(f"{alias!r} -> {key!r}")
        alias_list.append(Alias(alias, key, clean_label(row["note"]), "rapport"))
    if unknown:
        raise ValueError(f"aliases.csv names skill keys that are not in the vocabulary: {', '.join(unknown)}")

    by_skill: dict[str, dict[str, None]] = {key: {} for key in labels}
    for entry in alias_list:
        seen = {normalise(existing) for existing in by_skill[entry.skill_key]}
        if normalise(entry.alias) not in seen and normalise(entry.alias) != normalise(labels[entry.skill_key]):
            by_skill[entry.skill_key].setdefault(entry.alias, None)

    skill_map: dict[str, Skill] = {}
    for key in sorted(labels):
        row = transversal.get(key, {})
        skill_map[key] = Skill(
            key=key,
            label=labels[key],
            kind="transversal" if row else "occupational",
            uri=row["conceptUri"].strip() if row else None,
            reuse_level=row["reuseLevel"].strip() if row else None,
            description=clean_label(row["description"]) if row else "",
            aliases=tuple(by_skill[key]),
            group=clean_label(row["broaderConceptPT"]) if row else None,
        )
    occupation_tuple = tuple(occupation_list)
    return _Data(skill_map, occupation_tuple, {o.uri: o for o in occupation_tuple}, tuple(alias_list))


def skills() -> tuple[Skill, ...]:
    """Every skill of the vocabulary, ordered by key."""
    return tuple(_data().skills.values())


def is_skill_key(key: str) -> bool:
    """Whether ``key`` is exactly the key of a skill of the vocabulary."""
    return key in _data().skills


def skill(key: str) -> Skill:
    """The skill with this key; a preferred label in any case or spacing is accepted too.

    Raises KeyError for a key that is not in the vocabulary (use :func:`taxonomy.matching.suggest` for
    free text).
    """
    found = _data().skills.get(key) or _data().skills.get(skill_key(key))
    if found is None:
        raise KeyError(f"not a skill of the vocabulary: {key!r}")
    return found


def aliases() -> tuple[Alias, ...]:
    """ESCO-derived aliases (alternative labels, labels without their qualifier), then ``aliases.csv``."""
    return _data().aliases


def occupations() -> tuple[Occupation, ...]:
    """The 147 back-office occupations, in the order of the ESCO subset (by ISCO code)."""
    return _data().occupations


def occupation(uri: str) -> Occupation:
    """The occupation with this ESCO URI; raises KeyError for any other URI."""
    found = _data().by_uri.get(uri.strip())
    if found is None:
        raise KeyError(f"not a back-office ESCO occupation: {uri!r}")
    return found


@lru_cache(maxsize=4096)
def occupations_with_skill(
    key: str, relation: Literal["essential", "optional", "any"] = "any"
) -> tuple[Occupation, ...]:
    """The occupations that list the skill as essential, as optional, or either."""
    found = []
    for item in _data().occupations:
        keys = {"essential": item.essential_keys, "optional": item.optional_keys, "any": item.skill_keys}[relation]
        if key in keys:
            found.append(item)
    return tuple(found)


@lru_cache(maxsize=1)
def _occupation_index() -> tuple[tuple[Occupation, str, frozenset[str], frozenset[str]], ...]:
    return tuple(
        (
            item,
            normalise(item.label),
            frozenset(content_tokens(item.label)),
            frozenset(content_tokens(item.description)),
        )
        for item in _data().occupations
    )


def search_occupations(text: str, limit: int = 10) -> list[Occupation]:
    """Occupations matching a search box entry, best first.

    Order: exact label, label starting with the text, label containing it, every word in the label,
    every word in the label or description. Digits search the ISCO code by prefix ("4311", "43").
    Words match on their stems, so "payroll clerks" finds "payroll clerk".
    """
    query = normalise(text)
    if not query or limit <= 0:
        return []
    if query.replace(" ", "").isdigit():
        code = query.replace(" ", "")
        return [item for item in _data().occupations if item.isco_code.startswith(code)][:limit]
    words = frozenset(content_tokens(query))
    ranked: list[tuple[int, str, Occupation]] = []
    for item, label, label_words, description_words in _occupation_index():
        if label == query:
            rank = 0
        elif label.startswith(query):
            rank = 1
        elif f" {query} " in f" {label} ":
            rank = 2
        elif words and words <= label_words:
            rank = 3
        elif words and words <= label_words | description_words:
            rank = 4
        else:
            continue
        ranked.append((rank, label, item))
    ranked.sort(key=lambda entry: (entry[0], entry[1]))
    return [item for _, _, item in ranked[:limit]]
