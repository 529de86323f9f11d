"""Suggest vocabulary skills for a free-text skill, for a recruiter to confirm.

:func:`suggest` never decides: it returns ranked :class:`Suggestion` objects, each with a score in
[0, 1] and a reason in plain words, and the caller shows them for confirmation. Methods, best first:

===========  =====================================================================  ===========
method       rule                                                                   score
===========  =====================================================================  ===========
``label``    the text, normalised, is a skill's ESCO label                          1.0
``alias``    it is an ESCO alternative label or a curated alias                     0.95
``contains`` a run of its words is a label or alias (e.g. "advanced Excel")         0.6 to 0.9
``words``    word stems overlap (Dice coefficient over stems; close spellings       0.6 to 0.9
             of a word count by their similarity)
``spelling`` character similarity (difflib ratio) of the whole text, at least 0.8   0.8 to 0.9
===========  =====================================================================  ===========

Normalisation folds case, punctuation and whitespace (:func:`taxonomy.text.normalise`). Fuzzy scores
are capped at 0.9, so they never outrank an exact label or alias, and nothing under
:data:`SCORE_FLOOR` is returned: gibberish gets no suggestion. Candidates come from an inverted index
on word stems built once, so a call costs a few milliseconds over the ~2,000 skills.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from taxonomy.text import STOPWORDS, content_tokens, normalise, stem
from taxonomy.vocabulary import AliasSource, aliases, skills

__all__ = ["SCORE_FLOOR", "SPELLING_FLOOR", "MatchMethod", "Suggestion", "suggest"]

SCORE_FLOOR: Final = 0.6
SPELLING_FLOOR: Final = 0.8  # whole-text character similarity below this is noise ("focus on service")
LABEL_SCORE: Final = 1.0
ALIAS_SCORE: Final = 0.95
FUZZY_CAP: Final = 0.9
MAX_INPUT_CHARS: Final = 200
_CLOSE_WORD_CUTOFF: Final = 0.8
_RATIO_CANDIDATES: Final = 40
# Words that say how well, not what: dropped from the text before matching ("Excel skills" -> "excel").
_FILLER: Final = frozenset(
    {"skill", "skills", "experience", "experienced", "proficient", "proficiency", "good", "strong", "excellent"}
)

MatchMethod = Literal["label", "alias", "contains", "words", "spelling"]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A vocabulary skill proposed for a free-text skill, with why."""

    skill_key: str
    label: str
    score: float
    reason: str
    method: MatchMethod


@dataclass(frozen=True, slots=True)
class _Surface:
    """One way of writing a skill: its label or one of its aliases."""

    key: str
    label: str
    text: str
    normalised: str
    stems: frozenset[str]
    alias_source: AliasSource | None  # None for the label itself
    origin: str  # for an alias: "ESCO alternative label", "ESCO label without its qualifier", "Rapport alias list"


@dataclass(frozen=True, slots=True)
class _Index:
    surfaces: tuple[_Surface, ...]
    exact: dict[str, tuple[int, ...]]
    by_stem: dict[str, tuple[int, ...]]
    by_length: dict[int, tuple[str, ...]]


_Offer = Callable[[_Surface, float, str, MatchMethod], None]


@lru_cache(maxsize=1)
def _index() -> _Index:
    labels = {item.key: item.label for item in skills()}
    surfaces = [_surface(item.key, item.label, item.label, None, "") for item in skills()]
    seen = {(surface.key, surface.normalised) for surface in surfaces}
    for entry in aliases():
        origin = entry.note if entry.source == "esco" else "Rapport alias list"
        surface = _surface(entry.skill_key, labels[entry.skill_key], entry.alias, entry.source, origin)
        if surface.normalised and (surface.key, surface.normalised) not in seen:
            seen.add((surface.key, surface.normalised))
            surfaces.append(surface)
    exact: defaultdict[str, list[int]] = defaultdict(list)
    by_stem: defaultdict[str, list[int]] = defaultdict(list)
    for number, surface in enumerate(surfaces):
        exact[surface.normalised].append(number)
        for word in surface.stems:
            by_stem[word].append(number)
    return _Index(
        surfaces=tuple(surfaces),
        exact={text: tuple(numbers) for text, numbers in exact.items()},
        by_stem={word: tuple(numbers) for word, numbers in by_stem.items()},
        by_length={
            size: tuple(sorted(word for word in by_stem if len(word) == size)) for size in {len(w) for w in by_stem}
        },
    )


def _surface(key: str, label: str, text: str, source: AliasSource | None, origin: str) -> _Surface:
    return _Surface(key, label, text, normalise(text), frozenset(content_tokens(text)), source, origin)


def _without_filler(normalised: str) -> str:
    return " ".join(word for word in normalised.split() if word not in _FILLER)


def _alias_phrase(surface: _Surface) -> str:
    return f"known alias of '{surface.label}' ({surface.origin})"


def suggest(free_text: str, limit: int = 5) -> list[Suggestion]:
    """Up to ``limit`` vocabulary skills for ``free_text``, best first, each skill at most once."""
    if limit <= 0:
        return []
    query = normalise(free_text[:MAX_INPUT_CHARS])
    if not query:
        return []
    core = _without_filler(query) or query
    index = _index()
    best: dict[str, Suggestion] = {}

    def offer(surface: _Surface, score: float, reason: str, method: MatchMethod) -> None:
        current = best.get(surface.key)
        if score >= SCORE_FLOOR and (current is None or score > current.score):
            best[surface.key] = Suggestion(surface.key, surface.label, round(score, 3), reason, method)

    for text in dict.fromkeys((query, core)):
        left_out = " ".join(word for word in query.split() if word not in text.split())
        aside = f", leaving out '{left_out}'" if left_out else ""
        for number in index.exact.get(text, ()):
            surface = index.surfaces[number]
            if surface.alias_source is None:
                offer(surface, LABEL_SCORE, f"same as the ESCO label{aside}", "label")
            else:
                offer(surface, ALIAS_SCORE, f"{_alias_phrase(surface)}{aside}", "alias")

    _contained_phrases(core, index, offer)
    _fuzzy(core, index, offer)
    ranked = sorted(best.values(), key=lambda item: (-item.score, item.label))
    return ranked[:limit]


def _contained_phrases(core: str, index: _Index, offer: _Offer) -> None:
    """Runs of the text's words that are a label or alias, scored by how much of the text they cover."""
    words = core.split()[:12]
    content = [word for word in words if word not in STOPWORDS]
    if len(words) < 2 or not content:
        return
    for size in range(len(words) - 1, 0, -1):
        for start in range(len(words) - size + 1):
            run = words[start : start + size]
            covered = [word for word in run if word not in STOPWORDS]
            if not covered or len(" ".join(run)) < 2:
                continue
            coverage = len(covered) / len(content)
            if coverage < 0.25:
                continue
            phrase = " ".join(run)
            for number in index.exact.get(phrase, ()):
                surface = index.surfaces[number]
                what = "the ESCO label" if surface.alias_source is None else f"a {_alias_phrase(surface)}"
                score = min(FUZZY_CAP, 0.6 + 0.3 * coverage)
                offer(surface, score, f"contains '{phrase}', {what}", "contains")


def _fuzzy(core: str, index: _Index, offer: _Offer) -> None:
    """Word-stem overlap (with close spellings of words), then character similarity on the best few."""
    query_stems = content_tokens(core)
    if not query_stems:
        return
    # For every query stem: the index stems it matches, with a weight (1 for the same stem).
    matches: list[dict[str, float]] = []
    for word in query_stems:
        found = {word: 1.0} if word in index.by_stem else {}
        if not found and len(word) >= 4:
            # A ratio of 0.8 needs the longer word at most 1.5 times the shorter: compare with those stems only.
            near = [
                other
                for size in range(len(word) * 2 // 3, len(word) * 3 // 2 + 1)
                for other in index.by_length.get(size, ())
            ]
            for close in difflib.get_close_matches(word, near, n=3, cutoff=_CLOSE_WORD_CUTOFF):
                found[close] = difflib.SequenceMatcher(None, word, close).ratio()
        matches.append(found)
    candidates: set[int] = set()
    for found in matches:
        for word in found:
            candidates.update(index.by_stem[word])
    if not candidates:
        return

    scored: list[tuple[float, int, list[tuple[str, str]]]] = []
    for number in candidates:
        surface = index.surfaces[number]
        shared: list[tuple[str, str]] = []  # (query stem, the surface stem it matched)
        weight = 0.0
        for word, found in zip(query_stems, matches, strict=True):
            hits = [(found[other], other) for other in found if other in surface.stems]
            if hits:
                best_weight, best_stem = max(hits)
                weight += best_weight
                shared.append((word, best_stem))
        dice = 2 * weight / (len(query_stems) + len(surface.stems))
        scored.append((dice, number, shared))
    scored.sort(key=lambda entry: (-entry[0], entry[1]))

    for dice, number, shared in scored[:_RATIO_CANDIDATES]:
        surface = index.surfaces[number]
        matcher = difflib.SequenceMatcher(None, core, surface.normalised)
        ratio = matcher.ratio() if matcher.real_quick_ratio() >= max(dice, SPELLING_FLOOR) else 0.0
        target = (
            f"'{surface.text}'" if surface.alias_source is None else f"'{surface.text}', a {_alias_phrase(surface)}"
        )
        if ratio >= SPELLING_FLOOR and ratio > dice:
            reason = f"spelled like {target} (character similarity {ratio:.2f})"
            offer(surface, min(FUZZY_CAP, ratio), reason, "spelling")
        elif dice >= 1.0 - 1e-9:
            offer(surface, FUZZY_CAP, f"same words as {target}, apart from word endings or order", "words")
        else:
            listed = ", ".join(_shared_word(core, surface, pair) for pair in shared)
            noun = "word" if len(shared) == 1 else "words"
            reason = f"shares the {noun} {listed} with {target} (word overlap {dice:.2f})"
            offer(surface, min(FUZZY_CAP, dice), reason, "words")


def _word_for(text: str, stem_: str) -> str:
    """The first word of a normalised text with this stem (the stem itself if none)."""
    return next((word for word in text.split() if word not in STOPWORDS and stem(word) == stem_), stem_)


def _shared_word(core: str, surface: _Surface, pair: tuple[str, str]) -> str:
    """A shared word as the user wrote it, with the word it was taken for when it was misspelled."""
    mine, theirs = _word_for(core, pair[0]), _word_for(surface.normalised, pair[1])
    return f"'{mine}'" if pair[0] == pair[1] else f"'{mine}' (close to '{theirs}')"
