"""Scenario bank pages: the bank, authoring with a live preview, keying, publishing, versions,
competencies, import and export."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as WerkzeugResponse

from accounts.access import access, current_scope, get_scoped_or_404
from accounts.models import ADMIN_ONLY, STAFF_ROLES
from database import unit_of_work, utcnow
from scenarios import queries, services, transfer
from scenarios.forms import (
    ActionForm,
    CompetencyForm,
    ImportForm,
    KeyForm,
    PublishForm,
    ScenarioForm,
    StatusForm,
    scenario_form_class,
)
from scenarios.models import (
    OPTION_LABELS,
    ROLES,
    SITUATION_TYPES,
    Competency,
    Instruction,
    KeyType,
    ResponseFormat,
    Scenario,
    ScenarioVersion,
    Status,
)
from scenarios.rendering import candidate_item

bp = Blueprint("scenarios", __name__)
IMPORT_LIMIT = 8 * 1024 * 1024

Page = WerkzeugResponse | tuple[str, int] | str


# --- The bank ----------------------------------------------------------------------------------


@bp.get("/scenarios")
@access(roles=STAFF_ROLES)
def index() -> str:
    args = request.args
    wanted = queries.BankFilter(
        q=args.get("q", "")[:100],
        competency=args.get("competency", ""),
        role=args.get("role", "") if args.get("role", "") in ROLES else "",
        response_format=args.get("format", "") if args.get("format", "") in {f.value for f in ResponseFormat} else "",
        status=args.get("status", "") if args.get("status", "") in {s.value for s in Status} else "",
        warnings=args.get("warnings") == "1",
    )
    scope = current_scope()
    return render_template(
        "scenarios/index.html",
        rows=queries.bank(scope, wanted),
        wanted=wanted,
        competencies=queries.competencies(scope),
        roles=ROLES,
        formats=list(ResponseFormat),
        statuses=list(Status),
        export_form=ActionForm(),
    )


def _form_for(scenario: Scenario | None) -> ScenarioForm:
    competencies = queries.competencies(current_scope())
    form_class = scenario_form_class(competencies, with_code=scenario is None)
    form = form_class()
    if request.method == "GET":
        if scenario is not None:
            _fill(form, scenario.latest)
        else:
            form.provenance_date.data = utcnow().date()
            form.provenance_author.data = current_user.name
    return form


def _fill(form: ScenarioForm, version: ScenarioVersion) -> None:
    form.role.data = version.role
    form.role_context.data = version.role_context
    form.situation_type.data = version.situation_type
    form.stem.data = version.stem
    form.instruction.data = version.instruction.value
    form.response_format.data = version.response_format.value
    form.scoring_rule.data = version.scoring_rule or ""
    form.item_weight.data = Decimal(str(version.item_weight))
    form.key_type.data = version.key_type.value
    form.provenance_author.data = version.provenance_author
    form.provenance_source.data = version.provenance_source
    form.provenance_date.data = version.provenance_date
    for option in version.options:
        form[f"option_{option.label}"].data = option.text
        form[f"rationale_{option.label}"].data = option.rationale
    for weight in version.weights:
        form[f"weight_{weight.competency.code}"].data = Decimal(str(weight.weight))


def _input(form: ScenarioForm) -> services.ScenarioInput:
    options = []
    for label in OPTION_LABELS:
        text = form[f"option_{label}"].data or ""
        if text.strip():
            options.append(services.OptionInput(label, text, form[f"rationale_{label}"].data or ""))
    weights = {
        c.code: float(form[f"weight_{c.code}"].data)
        for c in form.competencies
        if form[f"weight_{c.code}"].data not in (None, Decimal(0))
    }
    return services.ScenarioInput(
        role=form.role.data,
        role_context=form.role_context.data or "",
        situation_type=form.situation_type.data,
        stem=form.stem.data or "",
        instruction=Instruction(form.instruction.data),
        response_format=ResponseFormat(form.response_format.data),
        options=tuple(options),
        weights=weights,
        item_weight=float(form.item_weight.data or 1),
        scoring_rule=form.scoring_rule.data or None,
        provenance_author=form.provenance_author.data or "",
        provenance_source=form.provenance_source.data or "",
        provenance_date=form.provenance_date.data,
        key_type=KeyType(form.key_type.data),
    )


def _show_problems(form: ScenarioForm, problems: services.Problems) -> None:
    targets = {"options": "option_A", "weights": None, "code": "code"}
    for name, messages in problems.errors.items():
        field_name = targets.get(name, name)
        if field_name and field_name in form:
            form[field_name].errors = [*form[field_name].errors, *messages]
        else:
            form.form_errors.extend(messages)


@bp.route("/scenarios/new", methods=["GET", "POST"])
@access(roles=STAFF_ROLES)
def new() -> Page:
    form = _form_for(None)
    template = "scenarios/form.html"
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return render_template(template, form=form, scenario=None, preview=_preview_of(form)), status
    try:
        with unit_of_work():
            scenario = services.create_scenario(
                current_user.agency, form.code.data or "", _input(form), by=current_user, now=utcnow()
            )
    except services.InvalidScenario as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, scenario=None, preview=_preview_of(form)), 422
    flash("Scenario saved as a draft. Key it next.", "success")
    return redirect(url_for("scenarios.key", public_id=scenario.public_id))


@bp.route("/scenarios/<public_id>/edit", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Scenario)
def edit(public_id: str) -> Page:
    scenario = get_scoped_or_404(Scenario, public_id)
    form = _form_for(scenario)
    template = "scenarios/form.html"
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return render_template(template, form=form, scenario=scenario, preview=_preview_of(form)), status
    try:
        with unit_of_work():
            draft = services.update_scenario(scenario, _input(form), by=current_user, now=utcnow())
    except services.InvalidScenario as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, scenario=scenario, preview=_preview_of(form)), 422
    flash(f"Draft version {draft.version} saved.", "success")
    return redirect(url_for("scenarios.detail", public_id=scenario.public_id))


class _PreviewVersion:
    """Enough of a version, built from the form, for the candidate partial."""

    def __init__(self, data: services.ScenarioInput) -> None:
        self.public_id = "preview"
        self.stem = data.stem
        self.instruction = data.instruction
        self.response_format = data.response_format
        self.options = [type("O", (), {"label": o.label, "text": o.text})() for o in data.options]


def _preview_of(form: ScenarioForm) -> Any:
    try:
        data = _input(form)
    except (TypeError, ValueError, KeyError):
        return None
    if not data.stem.strip() and not data.options:
        return None
    return candidate_item(_PreviewVersion(data), ref="draft")  # type: ignore[arg-type]


@bp.post("/scenarios/preview")
@access(roles=STAFF_ROLES)
def preview() -> Response:
    """The candidate's view of the form as it stands (for the live preview); changes nothing."""
    form = _form_for(None)
    form.validate()
    item = _preview_of(form)
    if item is None:
        return Response(
            "<p class='muted'>Write the situation and options to see the preview.</p>", mimetype="text/html"
        )
    return Response(render_template("scenarios/_item.html", item=item, disabled=False), mimetype="text/html")


@bp.get("/scenarios/<public_id>")
@access(roles=STAFF_ROLES, owns=Scenario)
def detail(public_id: str) -> str:
    scenario = get_scoped_or_404(Scenario, public_id)
    wanted = request.args.get("version", type=int)
    version = next((v for v in scenario.versions if v.version == wanted), scenario.latest)
    return render_template(
        "scenarios/detail.html",
        scenario=scenario,
        version=version,
        item=candidate_item(version),
        checks=services.review(version),
        keys=services.key_table(version),
        uncertain=set(services.uncertain(version)),
        publish_form=PublishForm(),
        status_form=StatusForm(status=version.status.value),
        action_form=ActionForm(),
        situation_types=SITUATION_TYPES,
        roles=ROLES,
    )


@bp.route("/scenarios/<public_id>/key", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Scenario)
def key(public_id: str) -> Page:
    scenario = get_scoped_or_404(Scenario, public_id)
    version = scenario.latest
    form = KeyForm()
    if request.method == "GET":
        form.ratings.data = services.ratings_text(version)
        form.key_type.data = version.key_type.value
    template = "scenarios/key.html"
    context = {"scenario": scenario, "version": version, "keys": services.key_table(version)}
    if request.method == "GET":
        return render_template(template, form=form, **context)
    if not form.validate_on_submit():
        return render_template(template, form=form, **context), 422
    labels = [o.label for o in version.options]
    try:
        ratings = services.parse_ratings(form.ratings.data or "", labels)
        with unit_of_work():
            draft = services.draft_for_editing(scenario, by=current_user, now=utcnow())
            services.set_ratings(draft, ratings, KeyType(form.key_type.data), by=current_user, now=utcnow())
    except services.ScenarioError as exc:
        form.ratings.errors = [str(exc)]
        return render_template(template, form=form, **context), 422
    flash(f"Key saved for version {draft.version}.", "success")
    return redirect(url_for("scenarios.detail", public_id=scenario.public_id))


@bp.post("/scenarios/<public_id>/publish")
@access(roles=STAFF_ROLES, owns=Scenario)
def publish(public_id: str) -> WerkzeugResponse:
    scenario = get_scoped_or_404(Scenario, public_id)
    form = PublishForm()
    if not form.validate_on_submit():
        abort(400)
    draft = scenario.draft
    if draft is None:
        flash("There is no draft to publish.", "error")
        return redirect(url_for("scenarios.detail", public_id=public_id))
    try:
        with unit_of_work():
            services.publish(draft, Status(form.status.data), by=current_user, now=utcnow())
    except services.ScenarioError as exc:
        flash(str(exc), "error")
        return redirect(url_for("scenarios.detail", public_id=public_id))
    flash(f"Version {draft.version} published as {draft.status.value}. It can no longer change.", "success")
    return redirect(url_for("scenarios.detail", public_id=public_id))


@bp.post("/scenarios/<public_id>/status")
@access(roles=STAFF_ROLES, owns=Scenario)
def change_status(public_id: str) -> WerkzeugResponse:
    scenario = get_scoped_or_404(Scenario, public_id)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    version = scenario.latest_published
    if version is None:
        flash("Publish the scenario first.", "error")
        return redirect(url_for("scenarios.detail", public_id=public_id))
    with unit_of_work():
        services.set_status(version, Status(form.status.data), by=current_user, now=utcnow())
    flash(f"Version {version.version} is now {version.status.value}.", "success")
    return redirect(url_for("scenarios.detail", public_id=public_id))


@bp.post("/scenarios/<public_id>/duplicate")
@access(roles=STAFF_ROLES, owns=Scenario)
def duplicate(public_id: str) -> WerkzeugResponse:
    scenario = get_scoped_or_404(Scenario, public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        copy = services.duplicate(scenario, services.suggest_copy_code(scenario), by=current_user, now=utcnow())
    flash(f"Copied to {copy.code}, a new draft. Its key starts empty.", "success")
    return redirect(url_for("scenarios.edit", public_id=copy.public_id))


# --- Import and export --------------------------------------------------------------------------


@bp.url_value_preprocessor
def _allow_large_imports(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the CSRF check reads the form, so the larger limit applies to the upload itself.
    if endpoint == "scenarios.import_bank" and request.method == "POST":
        request.max_content_length = IMPORT_LIMIT
        request.max_form_memory_size = IMPORT_LIMIT


@bp.route("/scenarios/import", methods=["GET", "POST"])
@access(roles=STAFF_ROLES)
def import_bank() -> Page:
    form = ImportForm()
    template = "scenarios/import.html"
    if request.method == "GET":
        return render_template(template, form=form, report=None)
    if not form.validate_on_submit():
        return render_template(template, form=form, report=None), 422
    upload = form.file.data
    raw = upload.read(IMPORT_LIMIT + 1)
    report = transfer.check_file(raw, upload.filename or "", current_user.agency_id)
    if not report.ok:
        return render_template(template, form=form, report=report), 422
    with unit_of_work():
        created = transfer.import_bank(report, current_user.agency, by=current_user, now=utcnow())
    flash(f"Imported {len(created)} scenario{'s' if len(created) != 1 else ''}.", "success")
    return redirect(url_for("scenarios.index"))


@bp.get("/scenarios/export")
@access(roles=STAFF_ROLES)
def export_bank() -> Response:
    kind = request.args.get("format", "yaml")
    if kind not in ("yaml", "json"):
        abort(400, "Choose yaml or json.")
    wanted = request.args.getlist("ids")
    rows = queries.bank(current_scope(), queries.BankFilter())
    scenarios = [r.scenario for r in rows if not wanted or r.scenario.public_id in wanted]
    body = transfer.export_bank(scenarios, kind, now=utcnow())
    filename = f"rapport-scenarios-{utcnow():%Y%m%d}.{kind}"
    return Response(
        body,
        mimetype="application/json" if kind == "json" else "application/yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- Competencies -----------------------------------------------------------------------------


@bp.get("/competencies")
@access(roles=STAFF_ROLES)
def competencies() -> str:
    return render_template("scenarios/competencies.html", competencies=queries.competencies(current_scope()))


@bp.route("/competencies/new", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def new_competency() -> Page:
    return _competency_form(None)


@bp.route("/competencies/<public_id>", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY, owns=Competency)
def edit_competency(public_id: str) -> Page:
    return _competency_form(get_scoped_or_404(Competency, public_id))


def _competency_form(competency: Competency | None) -> Page:
    form = CompetencyForm(obj=None if request.method == "POST" else competency)
    if competency is not None:
        form.code.data = competency.code  # fixed once created
    template = "scenarios/competency_form.html"
    if request.method == "GET":
        return render_template(template, form=form, competency=competency)
    if not form.validate_on_submit():
        return render_template(template, form=form, competency=competency), 422
    data = services.CompetencyInput(
        code=form.code.data or "",
        name=form.name.data or "",
        definition=form.definition.data or "",
        indicators=form.indicators.data or "",
    )
    try:
        with unit_of_work():
            services.save_competency(current_user.agency, data, competency=competency, by=current_user, now=utcnow())
    except services.ScenarioError as exc:
        form.code.errors = [str(exc)]
        return render_template(template, form=form, competency=competency), 422
    flash("Competency saved.", "success")
    return redirect(url_for("scenarios.competencies"))
