"""Rapport's reference data: the skills vocabulary, ESCO occupations, transfer table and small scales.

Pure reference data plus loaders: no Flask, no database, no clock, no randomness, and no import of
the app's other modules. Files are read from ``taxonomy/data`` on first use and cached
(functools.lru_cache); everything returned is a frozen dataclass, a tuple or a read-only mapping.

- :mod:`taxonomy.vocabulary`: ``Skill``, ``Occupation``, ``Alias``; ``skills()``, ``skill(key)``,
  ``is_skill_key(key)``, ``skill_key(label)``, ``aliases()``, ``occupations()``, ``occupation(uri)``,
  ``occupations_with_skill(key, relation)``, ``search_occupations(text, limit)``. About 2,085 skills:
  every skill label of the 147 ESCO back-office occupations plus the ESCO transversal skills.
- :mod:`taxonomy.matching`: ``suggest(free_text, limit=5) -> list[Suggestion]``, suggestions for a
  recruiter to confirm, each with a score and a reason.
- :mod:`taxonomy.transfer`: ``TransferRow``, ``transfer_rows()``, ``transfer(from, to)``,
  ``transfers_from(key)``, ``transfers_to(key)``, ``transfer_table_version()``.
- :mod:`taxonomy.reference`: ISCED 2011 levels and ``isced_level(study_type)``, NACE Rev. 2 sections
  and ``nace_section(code)``, ``skill_level(word)`` (1-5), CEFR ``fluency_level(text)``.

Data files (``taxonomy/data``): ``esco/`` (the ESCO subset, unchanged, with its ``ATTRIBUTION.md``),
``aliases.csv`` (curated back-office phrasings -> skill keys) and ``skill_transfer.csv``.

ESCO labels are © European Union and reusable with attribution: show :data:`ESCO_ATTRIBUTION` wherever
ESCO skill or occupation labels appear (pages, reports, exports).
"""

from __future__ import annotations

from typing import Final

from taxonomy.matching import Suggestion, suggest
from taxonomy.transfer import TransferRow, transfer, transfer_rows, transfers_from, transfers_to
from taxonomy.vocabulary import ESCO_VERSION, Occupation, Skill, occupation, occupations, skill, skills

__all__ = [
    "ESCO_ATTRIBUTION",
    "ESCO_VERSION",
    "Occupation",
    "Skill",
    "Suggestion",
    "TransferRow",
    "occupation",
    "occupations",
    "skill",
    "skills",
    "suggest",
    "transfer",
    "transfer_rows",
    "transfers_from",
    "transfers_to",
]

ESCO_ATTRIBUTION: Final = (
    f"Skill and occupation labels: ESCO classification v{ESCO_VERSION}, © European Union, "
    "https://esco.ec.europa.eu (subset, modified)."
)
