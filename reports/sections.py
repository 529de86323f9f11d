"""The sections of a client's candidate report that an agency may disclose or withhold, per client.

The cover and the methodology appendix always appear: a report never hides how its numbers were made.
"""

from __future__ import annotations

from typing import Final

SECTIONS: Final[dict[str, str]] = {
    "summary": "Summary: overall result, strengths and development areas",
    "competencies": "Competency profile with intervals and the norm group",
    "evidence": "Evidence: which kinds of situation fed each competency",
    "fit": "Skills, education and experience against the position (fit, gaps and gates)",
    "interview": "Interview guide for the two weakest competencies",
    "integrity": "Integrity signals during the test, as context",
    "notes": "The recruiter's notes",
}
"""Section key -> what the agency admin reads beside its tick box."""


def disclosed(chosen: list[str] | None) -> frozenset[str]:
    """The sections a client receives: all of them when the agency never chose, else the known keys chosen."""
    if chosen is None:
        return frozenset(SECTIONS)
    return frozenset(key for key in chosen if key in SECTIONS)
