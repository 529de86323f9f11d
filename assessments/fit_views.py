"""Fit pages on the assessments blueprint: a position's candidates ranked by fit, one candidate's fit
in full, and a side-by-side comparison (skills-and-fit.md §4.4-§4.5).

They join attempts, scores, profiles and positions, so they live in ``assessments`` (DECISIONS.md).
Nothing here rejects anyone: gates are flagged, never used to hide or drop a candidate. Reads only.
"""

from __future__ import annotations

from typing import Any, Final, NoReturn

from flask import abort, current_app, render_template, request, url_for
from flask.typing import ResponseReturnValue

import taxonomy
from accounts.access import access, deny, get_scoped_or_404
from accounts.models import STAFF_ROLES
from assessments import fit_queries, scoring_adapter
from assessments.views import bp
from database import utcnow
from positions.models import Position
from taxonomy import reference

# The components in report order, in plain English.
COMPONENT_NAMES: Final = scoring_adapter.FIT_COMPONENT_NAMES
# How a line's credit came about (scoring's FitPath values), in plain English.
PATH_WORDS: Final = {
    "direct": "direct evidence",
    "transfer": "transfer",
    "none": "no evidence",
    "measured": "measured by the assessment",
    "not_assessed": "not yet assessed",
    "met": "met",
    "substitution": "substitution by experience",
    "shortfall": "below the minimum",
    "same_occupation": "same ESCO occupation",
    "same_isco_group": "same ISCO unit group",
    "skill_overlap": "shared essential skills (ESCO)",
    "unknown_occupation": "occupation not known",
    "any_work": "any work (the position names no occupation)",
    "match": "preferred industry",
    "no_match": "no preferred industry",
}
SOURCE_WORDS: Final = {
    "assessment": "Assessment",
    "certificate": "Certificate",
    "interview": "Interview",
    "cv": "CV",
    "self": "Self-declared",
}
MAX_ID_LENGTH: Final = 64


def _points(value: float | None) -> int | None:
    """A value in [0, 1] as a whole number of points 0-100, half up."""
    return scoring_adapter.provisional_percent(value)


def _capital(text: str) -> str:
    """The text with its first letter in upper case (Jinja's ``capitalize`` also lowers the rest)."""
    return text[:1].upper() + text[1:]


def _candidate_url(public_id: str) -> str | None:
    """The candidate's profile page, where skills are confirmed; None while no such page is registered."""
    if "candidates.detail" not in current_app.view_functions:
        return None
    return url_for("candidates.detail", public_id=public_id)


def _render(template: str, status: int = 200, **values: Any) -> tuple[str, int]:
    return render_template(
        template,
        names=COMPONENT_NAMES,
        paths=PATH_WORDS,
        sources=SOURCE_WORDS,
        points=_points,
        capital=_capital,
        skill_label=scoring_adapter.skill_label,
        candidate_url=_candidate_url,
        attribution=taxonomy.ESCO_ATTRIBUTION,
        no_norm_group=scoring_adapter.NO_NORM_GROUP,
        isced=reference.ISCED_LEVELS,
        nace=reference.NACE_SECTIONS,
        compare_min=fit_queries.COMPARE_MIN,
        compare_max=fit_queries.COMPARE_MAX,
        **values,
    ), status


def _not_a_candidate(public_id: str) -> NoReturn:
    """404 for a candidate id that is not one of the position's candidates (another agency's included)."""
    deny(reason="scope", object_type="candidate", object_public_id=public_id[:MAX_ID_LENGTH])
    abort(404)


@bp.get("/positions/<public_id>/fit")
@access(roles=STAFF_ROLES, owns=Position)
def position_fit(public_id: str) -> ResponseReturnValue:
    position = get_scoped_or_404(Position, public_id)
    filters = fit_queries.RankingFilters.from_args(request.args)
    ranking = fit_queries.ranking(position, filters, utcnow().date())
    return _render("assessments/fit_ranking.html", position=position, ranking=ranking, context=ranking.context)


@bp.get("/positions/<public_id>/fit/candidate")
@access(roles=STAFF_ROLES, owns=Position)
def candidate_fit(public_id: str) -> ResponseReturnValue:
    position = get_scoped_or_404(Position, public_id)
    wanted = request.args.get("c", "").strip()
    if not wanted:
        return _choose(position, mode="one")
    found = fit_queries.candidate_fit(position, wanted[:MAX_ID_LENGTH], utcnow().date())
    if found is None:
        _not_a_candidate(wanted)
    context, row = found
    return _render("assessments/fit_candidate.html", position=position, context=context, row=row)


@bp.get("/positions/<public_id>/fit/compare")
@access(roles=STAFF_ROLES, owns=Position)
def compare_fit(public_id: str) -> ResponseReturnValue:
    position = get_scoped_or_404(Position, public_id)
    chosen = list(dict.fromkeys(c.strip()[:MAX_ID_LENGTH] for c in request.args.getlist("c") if c.strip()))
    if not chosen:
        return _choose(position, mode="compare")
    if not fit_queries.COMPARE_MIN <= len(chosen) <= fit_queries.COMPARE_MAX:
        error = (
            f"Choose {fit_queries.COMPARE_MIN} to {fit_queries.COMPARE_MAX} candidates to compare; "
            f"you chose {len(chosen)}."
        )
        return _choose(position, mode="compare", chosen=chosen, error=error, status=422)
    found = fit_queries.comparison(position, chosen, utcnow().date())
    if found is None:
        _not_a_candidate(",".join(chosen))
    context, rows = found
    return _render("assessments/fit_compare.html", position=position, context=context, rows=rows)


def _choose(
    position: Position, *, mode: str, chosen: list[str] | None = None, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    """The page that asks which candidate (``mode="one"``) or which 2-4 candidates to compare."""
    return _render(
        "assessments/fit_choose.html",
        status,
        position=position,
        candidates=fit_queries.position_candidates(position),
        mode=mode,
        chosen=set(chosen or ()),
        error=error,
    )
