"""Assessment pages: list, build for a position, settings and coverage, publish, preview."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import defer, selectinload
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from accounts.access import access, current_scope, get_scoped_or_404, scoped_select
from accounts.models import ADMIN_ONLY, STAFF_ROLES, Agency
from assessments import batches, delivery, invitations, services
from assessments.forms import (
    BatchUploadForm,
    InvitationActionForm,
    InvitationEmailForm,
    InviteForm,
    ItemActionForm,
    NewAssessmentForm,
    PilotForm,
    PublishAssessmentForm,
    SettingsForm,
)
from assessments.models import Assessment, Invitation, InviteBatch
from database import db, unit_of_work, utcnow
from positions.models import Position
from scenarios import queries as bank_queries
from scenarios.models import ROLES, ResponseFormat, ScenarioVersion
from scenarios.rendering import candidate_item

bp = Blueprint("assessments", __name__, url_prefix="/assessments")
RULE_FIELDS = {
    ResponseFormat.RATE.value: "rule_rate",
    ResponseFormat.MOST_LEAST.value: "rule_most_least",
    ResponseFormat.RANK.value: "rule_rank",
    ResponseFormat.SINGLE_BEST.value: "rule_single_best",
}


@bp.get("")
@access(roles=STAFF_ROLES)
def index() -> str:
    assessments = db.session.scalars(
        scoped_select(Assessment, current_scope())
        .options(selectinload(Assessment.position).joinedload(Position.client), selectinload(Assessment.items))
        .order_by(Assessment.created_at.desc())
    ).all()
    return render_template("assessments/index.html", assessments=assessments)


@bp.route("/new", methods=["GET", "POST"])
@access(roles=STAFF_ROLES)
def new() -> Response | tuple[str, int] | str:
    form = NewAssessmentForm()
    positions = {
        p.public_id: p for p in db.session.scalars(scoped_select(Position, current_scope()).order_by(Position.title))
    }
    form.position.choices = [SelectChoice(p.public_id, f"{p.title} ({p.client.name})") for p in positions.values()]
    if request.method == "GET":
        form.position.data = request.args.get("position")
        return render_template("assessments/new.html", form=form, has_positions=bool(positions))
    if not form.validate_on_submit():
        return render_template("assessments/new.html", form=form, has_positions=bool(positions)), 422
    with unit_of_work():
        assessment = services.create_assessment(
            positions[form.position.data], form.title.data or "", by=current_user, now=utcnow()
        )
    flash("Assessment created. Add scenarios from the bank.", "success")
    return redirect(url_for("assessments.detail", public_id=assessment.public_id))


def _settings_form(assessment: Assessment, usable: list[ScenarioVersion]) -> SettingsForm:
    form = SettingsForm(obj=None if request.method == "POST" else assessment)
    form.practice.choices = [SelectChoice("", "No practice item")] + [
        SelectChoice(v.public_id, f"{v.scenario.code}: {v.role_context[:60]}") for v in usable
    ]
    competencies = bank_queries.competencies(current_scope())
    form.reported.choices = [SelectChoice(c.public_id, c.name) for c in competencies]
    if request.method != "POST":
        form.reminder_days.data = ", ".join(str(d) for d in assessment.reminder_days or [])
        form.practice.data = assessment.practice_version.public_id if assessment.practice_version else ""
        form.reported.data = [c.public_id for c in assessment.reported]
        for fmt, name in RULE_FIELDS.items():
            form[name].data = assessment.rule_overrides.get(fmt, "")
    return form


@bp.app_template_filter("duration")
def duration(seconds: int) -> str:
    """Seconds in plain words: "45 s", "3 min 05 s", "1 h 02 min"."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _page(
    assessment: Assessment,
    settings_form: SettingsForm | None = None,
    status: int = 200,
    invite_form: InviteForm | None = None,
    batch_form: BatchUploadForm | None = None,
    batch_error: batches.BatchError | None = None,
) -> tuple[str, int]:
    usable = services.usable_versions(assessment.agency_id)
    in_use = {i.version.scenario_id for i in assessment.items}
    if assessment.practice_version:
        in_use.add(assessment.practice_version.scenario_id)
    role = request.args.get("role", "")
    competency = request.args.get("competency", "")
    q = request.args.get("q", "").strip().lower()[:100]
    invited = _invitations(assessment)
    attempt_ids = [i.attempt.id for i in invited if i.attempt is not None]
    candidates = [
        v
        for v in usable
        if v.scenario_id not in in_use
        and (not role or v.role == role)
        and (not competency or competency in {w.competency.code for w in v.weights})
        and (not q or q in v.stem.lower() or q in v.scenario.code.lower())
    ]
    return render_template(
        "assessments/detail.html",
        batch_form=batch_form or BatchUploadForm(),
        batch_error=batch_error,
        recent_batches=_recent_batches(assessment),
        assessment=assessment,
        coverage=services.coverage(assessment),
        settings_form=settings_form or _settings_form(assessment, usable),
        action_form=ItemActionForm(),
        publish_form=PublishAssessmentForm(),
        pilot_form=PilotForm(obj=assessment),
        candidates=candidates,
        roles=ROLES,
        competencies=bank_queries.competencies(current_scope()),
        filters={"role": role, "competency": competency, "q": q},
        rule_for=services.rule_for,
        invite_form=invite_form or InviteForm(),
        invitation_form=InvitationActionForm(),
        invitations=invited,
        signals=delivery.signal_counts(attempt_ids),
        times=delivery.item_times(attempt_ids),
        counts=invitations.counts(invited, utcnow()),
        now=utcnow(),
    ), status


def _invitations(assessment: Assessment) -> list[Invitation]:
    return list(
        db.session.scalars(
            scoped_select(Invitation, current_scope())
            .where(Invitation.assessment_id == assessment.id)
            .order_by(Invitation.created_at.desc())
        )
    )


@bp.get("/<public_id>")
@access(roles=STAFF_ROLES, owns=Assessment)
def detail(public_id: str) -> tuple[str, int]:
    return _page(get_scoped_or_404(Assessment, public_id))


@bp.post("/<public_id>/items")
@access(roles=STAFF_ROLES, owns=Assessment)
def items(public_id: str) -> Response | tuple[str, int]:
    assessment = get_scoped_or_404(Assessment, public_id)
    form = ItemActionForm()
    if not form.validate_on_submit():
        abort(400, "Choose a scenario and an action.")
    action, target = form.action.data, form.target.data
    try:
        with unit_of_work():
            if action == "add":
                version = next(
                    (v for v in services.usable_versions(assessment.agency_id) if v.public_id == target), None
                )
                if version is None:
                    abort(404)
                services.add_item(assessment, version, by=current_user, now=utcnow())
            else:
                item = next((i for i in assessment.items if i.public_id == target), None)
                if item is None:
                    abort(404)
                if action == "remove":
                    services.remove_item(assessment, item, by=current_user, now=utcnow())
                else:
                    services.move_item(assessment, item, -1 if action == "up" else 1, by=current_user, now=utcnow())
    except services.AssessmentError as exc:
        flash(str(exc), "error")
    return redirect(url_for("assessments.detail", public_id=public_id, _anchor="items"))


@bp.post("/<public_id>/settings")
@access(roles=STAFF_ROLES, owns=Assessment)
def settings(public_id: str) -> Response | tuple[str, int]:
    assessment = get_scoped_or_404(Assessment, public_id)
    if assessment.is_published:
        return _pilot_setting(assessment)
    usable = services.usable_versions(assessment.agency_id)
    form = _settings_form(assessment, usable)
    if not form.validate_on_submit():
        return _page(assessment, form, 422)
    by_id = {v.public_id: v for v in usable}
    competencies = {c.public_id: c for c in bank_queries.competencies(current_scope())}
    overrides = {fmt: form[name].data for fmt, name in RULE_FIELDS.items() if form[name].data}
    try:
        reminder_days = services.parse_reminder_days(form.reminder_days.data or "")
    except services.AssessmentError as exc:
        form.reminder_days.errors = [str(exc)]
        return _page(assessment, form, 422)
    try:
        with unit_of_work():
            services.update_settings(
                assessment,
                services.Settings(
                    title=form.title.data or "",
                    instructions=form.instructions.data or "",
                    time_limit_minutes=form.time_limit_minutes.data,
                    randomize_order=bool(form.randomize_order.data),
                    practice_version=by_id.get(form.practice.data or ""),
                    rule_overrides=overrides,
                    reported=[competencies[c] for c in form.reported.data or [] if c in competencies],
                    invitation_days=form.invitation_days.data or 7,
                    reminder_days=reminder_days,
                    pilot=bool(form.pilot.data),
                ),
                by=current_user,
                now=utcnow(),
            )
    except services.AssessmentError as exc:
        form.practice.errors = [str(exc)]
        return _page(assessment, form, 422)
    flash("Settings saved.", "success")
    return redirect(url_for("assessments.detail", public_id=public_id))


def _pilot_setting(assessment: Assessment) -> Response:
    """A published assessment's settings are fixed except the pilot switch."""
    form = PilotForm()
    if not form.validate_on_submit():
        abort(400)
    pilot = bool(form.pilot.data)
    with unit_of_work():
        changed = services.set_pilot(assessment, pilot, by=current_user, now=utcnow())
    if changed:
        flash("Pilot mode on: its scores are labelled Pilot." if pilot else "Pilot mode off.", "success")
    return redirect(url_for("assessments.detail", public_id=assessment.public_id))


@bp.post("/<public_id>/publish")
@access(roles=STAFF_ROLES, owns=Assessment)
def publish(public_id: str) -> Response:
    assessment = get_scoped_or_404(Assessment, public_id)
    if not PublishAssessmentForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            services.publish(assessment, by=current_user, now=utcnow())
    except services.AssessmentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("assessments.detail", public_id=public_id))
    flash("Assessment published. Its scenarios and settings are now fixed.", "success")
    return redirect(url_for("assessments.detail", public_id=public_id))


@bp.get("/<public_id>/preview")
@access(roles=STAFF_ROLES, owns=Assessment)
def preview(public_id: str) -> str:
    """The items in order, as a candidate will see them (no keys)."""
    assessment = get_scoped_or_404(Assessment, public_id)
    practice = candidate_item(assessment.practice_version, ref="practice") if assessment.practice_version else None
    items = [candidate_item(i.version, ref=f"item{n}") for n, i in enumerate(assessment.items, start=1)]
    return render_template("assessments/preview.html", assessment=assessment, practice=practice, items=items)


@bp.post("/<public_id>/invitations")
@access(roles=STAFF_ROLES, owns=Assessment)
def invite(public_id: str) -> Response | tuple[str, int]:
    assessment = get_scoped_or_404(Assessment, public_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(assessment, status=422, invite_form=form)
    try:
        with unit_of_work():
            invitations.invite(
                assessment, name=form.name.data or "", email=form.email.data or "", by=current_user, now=utcnow()
            )
    except invitations.InvitationError as exc:
        form.email.errors = [str(exc)]
        return _page(assessment, status=422, invite_form=form)
    flash("Invitation queued. The email goes out in a moment.", "success")
    return redirect(url_for("assessments.detail", public_id=public_id, _anchor="invitations"))


# Room around the file for the multipart headers and the CSRF field.
UPLOAD_OVERHEAD = 64 * 1024


@bp.url_value_preprocessor
def _allow_batch_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Before any before_request hook reads the form (CSRF does): a CSV may be up to 2 MB.
    if endpoint == "assessments.upload_batch" and request.method == "POST":
        request.max_content_length = batches.MAX_FILE_BYTES + UPLOAD_OVERHEAD


def _recent_batches(assessment: Assessment) -> list[InviteBatch]:
    return list(
        db.session.scalars(
            scoped_select(InviteBatch, current_scope())
            .where(InviteBatch.assessment_id == assessment.id)
            .options(defer(InviteBatch.rows))
            .order_by(InviteBatch.created_at.desc())
            .limit(5)
        )
    )


@bp.post("/<public_id>/batches")
@access(roles=STAFF_ROLES, owns=Assessment)
def upload_batch(public_id: str) -> Response | tuple[str, int]:
    assessment = get_scoped_or_404(Assessment, public_id)
    form = BatchUploadForm()
    if not form.validate_on_submit():
        return _page(assessment, status=422, batch_form=form)
    raw = form.file.data.read(batches.MAX_FILE_BYTES + 1)
    try:
        with unit_of_work():
            batch = batches.create_batch(assessment, raw, by=current_user, now=utcnow())
    except batches.BatchError as exc:
        form.file.errors = [str(exc)]
        if not assessment.is_published:  # the Candidates section, and its form, show only once published
            flash(str(exc), "error")
        return _page(assessment, status=422, batch_form=form, batch_error=exc)
    flash("File checked. The invitations are being sent; this page shows how far it has got.", "success")
    return redirect(url_for("assessments.batch", public_id=batch.public_id))


@bp.get("/batches/<public_id>")
@access(roles=STAFF_ROLES, owns=InviteBatch)
def batch(public_id: str) -> str:
    """A bulk invitation's progress; the page refreshes itself until the batch is finished."""
    invite_batch = get_scoped_or_404(InviteBatch, public_id)
    return render_template("assessments/batch.html", batch=invite_batch, progress=batches.progress(invite_batch))


@bp.get("/batches/<public_id>/errors.csv")
@access(roles=STAFF_ROLES, owns=InviteBatch)
def batch_errors(public_id: str) -> Response:
    """The rows of a bulk invitation that were refused or merged, as a CSV download."""
    invite_batch = get_scoped_or_404(InviteBatch, public_id)
    filename = f"invitation-problems-{invite_batch.created_at:%Y%m%d-%H%M}.csv"
    return Response(
        batches.error_report_csv(invite_batch).encode("utf-8-sig"),  # the BOM tells Excel it is UTF-8
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/invitations/<public_id>/<action>")
@access(roles=STAFF_ROLES, owns=Invitation)
def invitation_action(public_id: str, action: str) -> Response:
    invitation = get_scoped_or_404(Invitation, public_id)
    if action not in ("resend", "revoke"):
        abort(404)
    if not InvitationActionForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            if action == "resend":
                invitations.resend(invitation, by=current_user, now=utcnow())
            else:
                invitations.revoke(invitation, by=current_user, now=utcnow())
    except invitations.InvitationError as exc:
        flash(str(exc), "error")
    else:
        flash(
            "A new link is on its way; the old one no longer works." if action == "resend" else "Invitation revoked.",
            "success",
        )
    return redirect(url_for("assessments.detail", public_id=invitation.assessment.public_id, _anchor="invitations"))


@bp.route("/invitation-email", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def invitation_email() -> Response | tuple[str, int] | str:
    """The agency's invitation email, with a preview filled with sample values."""
    agency = db.session.execute(scoped_select(Agency, current_scope())).scalar_one()
    form = InvitationEmailForm()
    if request.method == "GET":
        form.subject.data = agency.invitation_subject or ""
        form.body.data = agency.invitation_body or ""
        return render_template(
            "assessments/invitation_email.html", form=form, email_preview=invitations.preview_email(agency)
        )
    if not form.validate_on_submit():
        return render_template("assessments/invitation_email.html", form=form, email_preview=None), 422
    subject, body = form.subject.data or "", form.body.data or ""
    if request.form.get("action") == "preview":
        problems = invitations.template_problems(subject, body) if subject or body else []
        form.body.errors = problems
        preview = None if problems else invitations.preview_email(agency, subject, body)
        return render_template(
            "assessments/invitation_email.html", form=form, email_preview=preview
        ), 422 if problems else 200
    try:
        with unit_of_work():
            invitations.save_template(agency, subject, body, by=current_user, now=utcnow())
    except invitations.InvitationError as exc:
        form.body.errors = [str(exc)]
        return render_template("assessments/invitation_email.html", form=form, email_preview=None), 422
    flash("Invitation email saved.", "success")
    return redirect(url_for("assessments.invitation_email"))


@dataclass(frozen=True)
class WalkPreview:
    """What the candidate templates need to run as a recruiter's preview: GET links, nothing recorded."""

    url: str
    back: str
    title: str

    def item_url(self, number: int) -> str:
        return f"{self.url}?step=item&n={number}"


@bp.get("/<public_id>/walk")
@access(roles=STAFF_ROLES, owns=Assessment)
def walk(public_id: str) -> str:
    """The whole candidate journey, page by page, for a recruiter: the real templates, nothing recorded."""
    assessment = get_scoped_or_404(Assessment, public_id)
    items = [i.version for i in assessment.items]
    total = len(items)
    preview = WalkPreview(
        url=url_for("assessments.walk", public_id=public_id),
        back=url_for("assessments.detail", public_id=public_id),
        title=assessment.title,
    )
    agency = db.session.execute(scoped_select(Agency, current_scope())).scalar_one()
    sample = SimpleNamespace(candidate=SimpleNamespace(name="Sample Candidate"), extra_time_percent=0, attempt=None)
    context = {
        "preview": preview,
        "invitation": sample,
        "assessment": assessment,
        "agency": agency,
        "client": assessment.position.client,
        "item_count": total,
        "token": "preview",
    }
    seconds = assessment.time_limit_minutes * 60 if assessment.time_limit_minutes else None
    step = request.args.get("step", "landing")
    number = request.args.get("n", type=int) or 1
    came_from = request.args.get("from", type=int)
    if step == "item" and came_from is not None:
        go = request.args.get("go", "next")
        step, number = (
            ("review", came_from) if go == "review" else ("item", came_from + (-1 if go == "previous" else 1))
        )
        if number > total:
            step = "review"
    if step == "overview":
        practice = assessment.practice_version
        return render_template(
            "take/overview.html", practice=candidate_item(practice, ref="practice") if practice else None, **context
        )
    if step == "item" and total:
        number = min(max(number, 1), total)
        return render_template(
            "take/item.html",
            item=candidate_item(items[number - 1], ref="answer"),
            number=number,
            total=total,
            answer={},
            revision=0,
            seconds_left=seconds,
            error=None,
            **context,
        )
    if step == "review":
        return render_template(
            "take/review.html", rows=[(n, False) for n in range(1, total + 1)], seconds_left=seconds, **context
        )
    if step == "done":
        return render_template(
            "take/done.html",
            attempt=SimpleNamespace(finalised_by=None),
            answered_about_you=False,
            sexes=delivery.SEX_CHOICES,
            races=delivery.RACE_ETHNICITY_CHOICES,
            **context,
        )
    return render_template("take/landing.html", **context)


import assessments.decision_views  # noqa: E402  (registers the decision form on this blueprint)
import assessments.fit_views  # noqa: E402, F401  (registers the fit pages on this blueprint)
from assessments import results_views  # noqa: E402, F401  (registers the results pages on this blueprint)
