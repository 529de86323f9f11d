"""Text normalisation shared by the vocabulary, the matcher and the reference lookups.

``normalise`` folds case, Unicode forms, apostrophes, punctuation and whitespace so that "Use
Spreadsheets-Software!" and "use spreadsheets software" compare equal. ``stem`` is a deliberately
crude suffix stripper (no dictionary, no randomness): it only has to make "invoices", "invoicing" and
"invoice" meet, and it is applied to both sides of a comparison, so its odd stems never show.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["STOPWORDS", "clean_label", "content_tokens", "normalise", "stem"]

STOPWORDS: Final = frozenset(
    {"a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to", "with"}
)

_APOSTROPHES: Final = re.compile(r"['\u2018\u2019`\u00b4]")
_NOT_WORD: Final = re.compile(r"[^\w+#]+")
_E_PREFIX: Final = re.compile(r"\be-(?=\w)")  # "e-mail", "e-commerce" -> "email", "ecommerce"
# Longest first; "ies" becomes "y" so that "entries" meets "entry".
_SUFFIXES: Final = ("ations", "ation", "ments", "ment", "ings", "ing", "ers", "er", "ies", "es", "ed", "s")


def clean_label(text: str) -> str:
    """Collapse runs of whitespace (including no-break spaces) and trim, keeping case and punctuation."""
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Lower-case, NFKC-folded text with apostrophes dropped and other punctuation turned into spaces.

    "+" and "#" survive, so "C++" and "C#" stay distinct from "C".
    """
    text = unicodedata.normalize("NFKC", text).casefold().replace("&", " and ")
    text = _E_PREFIX.sub("e", _APOSTROPHES.sub("", text))
    return " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())


def stem(token: str) -> str:
    """Strip up to two common English suffixes, then any final "e" (see the module docstring)."""
    for _ in range(2):
        stripped = _strip_suffix(token)
        if stripped == token:
            break
        token = stripped
    while len(token) > 3 and token.endswith("e"):
        token = token[:-1]
    return token


def _strip_suffix(token: str) -> str:
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith(("ss", "us", "is")):
                return token
            return token[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return token


def content_tokens(text: str) -> tuple[str, ...]:
    """The stems of a text's normalised words, stopwords left out, in order of first appearance."""
    seen: dict[str, None] = {}
    for word in normalise(text).split():
        if word not in STOPWORDS:
            seen.setdefault(stem(word), None)
    return tuple(seen)
