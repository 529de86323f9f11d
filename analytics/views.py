"""Analytics pages for recruiters: an assessment's score distributions, reliability and item analysis, and
its norm groups (list and freeze). Reads only, except freezing a norm group."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

import scoring
from accounts.access import access, get_scoped_or_404
from accounts.models import STAFF_ROLES
from assessments.models import NORM_LABEL_MAX, Assessment
from database import unit_of_work, utcnow

bp = Blueprint("analytics", __name__, url_prefix="/analytics")


class NormGroupForm(FlaskForm):
    """The shape of a freeze request: a label, and either "all" or the chosen attempts' public ids."""

    label = StringField(
        "Label for the norm group",
        validators=[DataRequired("Give the norm group a label."), Length(max=NORM_LABEL_MAX)],
        description="For example: Applicants, spring 2026.",
    )
    everyone = BooleanField("Use all completed attempts")
    attempts = SelectMultipleField("Attempts", choices=[], validate_choice=False)


@bp.app_template_filter("decimals")
def decimals(value: float | None, places: int = 2) -> str:
    """A statistic rounded half up for display ("-" when there is none)."""
    if value is None or value != value:
        return "-"
    return f"{scoring.round_half_up(value, places):.{places}f}"


@bp.app_template_filter("percent")
def percent(value: float | None) -> str:
    """A share in [0, 1] as a percentage to 1 dp ("-" when there is none)."""
    if value is None:
        return "-"
    return f"{scoring.round_half_up(100 * value, 1):.1f}%"


@bp.get("/assessments/<public_id>")
@access(roles=STAFF_ROLES, owns=Assessment)
def assessment(public_id: str) -> str:
    from analytics import item_stats  # here: its statistics need numpy and scipy, which most requests never do

    found = get_scoped_or_404(Assessment, public_id)
    page = item_stats.analytics_page(found, request.args.get("scope", "")[:64] or None)
    return render_template("analytics/assessment.html", page=page, flag_words=item_stats.FLAG_WORDS)


@bp.get("/assessments/<public_id>/norms")
@access(roles=STAFF_ROLES, owns=Assessment)
def norm_groups(public_id: str) -> str:
    found = get_scoped_or_404(Assessment, public_id)
    return _norms_page(found, NormGroupForm())[0]


@bp.post("/assessments/<public_id>/norms")
@access(roles=STAFF_ROLES, owns=Assessment)
def freeze(public_id: str) -> Response | tuple[str, int]:
    found = get_scoped_or_404(Assessment, public_id)
    form = NormGroupForm()
    if not form.validate_on_submit():
        return _norms_page(found, form, status=422)
    from analytics import norms

    chosen = None if form.everyone.data else list(form.attempts.data or [])
    try:
        with unit_of_work():
            table = norms.freeze_norm_table(found, chosen, form.label.data or "", by=current_user, now=utcnow())
            version, n = table.version, table.n
    except norms.NormGroupError as error:
        return _norms_page(found, form, error=str(error), status=error.status)
    flash(f"Norm group version {version} frozen from {n} completed attempts.", "success")
    return redirect(url_for("analytics.norm_groups", public_id=public_id))


def _norms_page(
    assessment: Assessment, form: NormGroupForm, *, error: str | None = None, status: int = 200
) -> tuple[str, int]:
    from analytics import item_stats, norms

    score_version = item_stats.current_score_version(assessment)
    chosen = set(form.attempts.data or []) if request.method == "POST" else set()
    return (
        render_template(
            "analytics/norms.html",
            assessment=assessment,
            form=form,
            error=error,
            score_version=score_version,
            as_scored_at_submission=assessment.score_version is None,
            attempts=item_stats.completed_attempts(assessment, score_version),
            chosen=chosen,
            tables=item_stats.norm_table_rows(assessment),
            minimum=norms.NORM_MIN_N,
        ),
        status,
    )
