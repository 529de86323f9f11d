"""Recording a recruiter's decision (advance, hold, decline) from the fit ranking and the candidate's fit page.

The candidate travels in the form (``c``), not in the path, so the route names one object: the position.
The fit pages read the current decisions, the evidence and the history through the template helpers
registered here; nothing on them decides for the recruiter (no default outcome, no automatic decline).
"""

from __future__ import annotations

from typing import Any, Final

from flask import abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from accounts.access import access, deny, get_scoped_or_404
from accounts.forms import strip
from accounts.models import STAFF_ROLES
from assessments import decisions, fit_queries
from assessments.decisions import Board, Entry
from assessments.fit_queries import Ranking
from assessments.fit_views import MAX_ID_LENGTH, _render
from assessments.views import bp
from candidates.models import Candidate
from database import unit_of_work, utcnow
from positions.models import Position

BACK_TO: Final = ("ranking", "candidate")


class DecisionForm(FlaskForm):
    """The shape of a decision: an outcome chosen by the recruiter (no default) and an optional reason."""

    c = HiddenField("Candidate")
    outcome = RadioField(
        "Decision",
        choices=[SelectChoice(value, decisions.OUTCOME_WORDS[value]) for value in decisions.OUTCOMES],
        validators=[InputRequired("Choose advance, hold or decline.")],
    )
    reason = TextAreaField(
        "Reason",
        filters=[strip],
        validators=[
            Optional(),
            Length(max=decisions.MAX_REASON_LENGTH, message=f"Keep it to {decisions.MAX_REASON_LENGTH} characters."),
        ],
    )
    back = HiddenField("Back to", validators=[Optional(), AnyOf(BACK_TO)])


def _decision_board(position: Position, ranking: Ranking | None = None) -> Board:
    """The board for a fit page; an unfiltered ranking lends its fits, so they are not computed twice."""
    if ranking is not None and not ranking.hidden:
        return decisions.board(position, utcnow().date(), context=ranking.context, fits=ranking.rows)
    return decisions.board(position, utcnow().date())


def _decision_history(position: Position, candidate: Candidate) -> list[Entry]:
    return decisions.history(position, candidate)


@bp.context_processor
def _decision_helpers() -> dict[str, Any]:
    """Template helpers for the fit pages: the decision board, a candidate's history, the outcome words."""
    return {
        "decision_board": _decision_board,
        "decision_history": _decision_history,
        "decision_outcomes": decisions.OUTCOME_WORDS,
        "decision_points": decisions.format_points,
    }


@bp.post("/positions/<public_id>/decisions")
@access(roles=STAFF_ROLES, owns=Position)
def record_decision(public_id: str) -> ResponseReturnValue:
    """Record a decision on one candidate (``c`` in the form); 404 for anyone not a candidate of the position."""
    position = get_scoped_or_404(Position, public_id)
    wanted = request.form.get("c", "").strip()[:MAX_ID_LENGTH]
    if not wanted or decisions.candidate_of(position, wanted) is None:
        deny(reason="scope", object_type="candidate", object_public_id=wanted or None)
        abort(404)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _again(position, wanted, form)
    try:
        with unit_of_work():
            decisions.record_decision(
                position, wanted, form.outcome.data or "", form.reason.data or "", by=current_user, now=utcnow()
            )
    except decisions.ReasonRequired as error:
        form.reason.errors = [f"A reason is needed because {'; '.join(error.grounds)}."]
        return _again(position, wanted, form)
    except decisions.UnknownOutcome as error:
        form.outcome.errors = [str(error)]
        return _again(position, wanted, form)
    except decisions.NotACandidate:
        abort(404)
    flash(f"Decision recorded: {decisions.OUTCOME_WORDS[form.outcome.data or '']}.", "success")
    if form.back.data == "ranking":
        return redirect(url_for("assessments.position_fit", public_id=position.public_id) + f"#decision-{wanted}")
    return redirect(url_for("assessments.candidate_fit", public_id=position.public_id, c=wanted) + "#decision")


def _again(position: Position, public_id: str, form: DecisionForm) -> ResponseReturnValue:
    """The candidate's fit page with the form's errors and what was entered (422); nothing was written."""
    found = fit_queries.candidate_fit(position, public_id, utcnow().date())
    if found is None:
        abort(404)
    context, row = found
    entered = {"outcome": form.outcome.data or "", "reason": form.reason.data or ""}
    errors = {name: list(field.errors) for name, field in form._fields.items() if field.errors}
    return _render(
        "assessments/fit_candidate.html",
        422,
        position=position,
        context=context,
        row=row,
        decision_entered=entered,
        decision_errors=errors,
    )
