"""The fairness page of a position and its CSV export (scoring.md A7), on the blueprint "fairness".

Counts only: no page or file shows any one person's self-identification. The checks are for people to
act on; nothing here changes a score, a fit or a decision.
"""

from __future__ import annotations

from flask import Blueprint, Response, render_template
from flask_login import current_user

from accounts import audit
from accounts.access import access, get_scoped_or_404
from accounts.models import STAFF_ROLES
from database import utcnow
from positions.models import Position

bp = Blueprint("fairness", __name__, url_prefix="/analytics/fairness")


@bp.get("/positions/<public_id>")
@access(roles=STAFF_ROLES, owns=Position)
def position(public_id: str) -> str:
    """The four-fifths tables on the position's decisions and the Local Law 144 tables on its scores."""
    from analytics import fairness  # here: it needs scoring's statistics (numpy, scipy), which most requests never do

    found = get_scoped_or_404(Position, public_id)
    report = fairness.position_report(found, utcnow().date())
    return render_template(
        "analytics/fairness_position.html",
        position=found,
        report=report,
        meaning=fairness.MEANING,
        percent=fairness.percent,
        ratio=fairness.ratio,
        z_value=fairness.z_value,
        p_value=fairness.p_value,
        points=fairness.points,
        scoring_columns=fairness.SCORING_COLUMNS,
        selection_columns=fairness.SELECTION_COLUMNS,
        category_types=fairness.CATEGORY_TYPES,
        unknown_row=fairness.UNKNOWN_ROW,
    )


@bp.get("/positions/<public_id>/export.csv")
@access(roles=STAFF_ROLES, owns=Position)
def export(public_id: str) -> Response:
    """The same tables as a CSV download (attachment, never cached, formulas neutralised); the export is audited."""
    from analytics import fairness

    found = get_scoped_or_404(Position, public_id)
    now = utcnow()
    body = fairness.report_csv(fairness.position_report(found, now.date()), position_title=found.title, now=now)
    audit.record_now(
        "fairness.exported",
        now=now,
        agency_public_id=current_user.agency.public_id,
        actor_public_id=current_user.public_id,
        object_type="position",
        object_public_id=found.public_id,
        outcome="ok",
    )
    filename = f"fairness-{found.public_id}-{now:%Y%m%d}.csv"
    return Response(
        body.encode("utf-8-sig"),  # the BOM tells Excel it is UTF-8
        content_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store, private",
        },
    )
