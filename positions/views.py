"""Position pages: the list, the job profile editor (optionally started from an ESCO occupation), and the
agency's skill-transfer table (admins edit, recruiters read)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

import taxonomy
from accounts import queries as account_queries
from accounts.access import access, current_scope, get_scoped_or_404
from accounts.models import ADMIN_ONLY, STAFF_ROLES, Client
from database import unit_of_work, utcnow
from positions import queries, services
from positions.forms import COMPONENT_LABELS, ActionForm, ProfileForm, TransferForm
from positions.models import DEFAULT_FIT_WEIGHTS, FIT_COMPONENTS, Position, SkillTransfer
from scenarios import queries as bank_queries
from scenarios.models import Competency
from taxonomy.reference import ISCED_LEVELS, NACE_SECTIONS

bp = Blueprint("positions", __name__, url_prefix="/positions")

Page = Response | tuple[str, int] | str
BLANK_ROWS = 3


@bp.get("")
@access(roles=STAFF_ROLES)
def index() -> str:
    return render_template("positions/index.html", positions=queries.positions(current_scope()))


# --- The job profile editor ----------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@access(roles=STAFF_ROLES)
def new() -> Page:
    return _editor(None)


@bp.route("/<public_id>", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Position)
def edit(public_id: str) -> Page:
    position = queries.position(current_scope(), public_id) or get_scoped_or_404(Position, public_id)
    return _editor(position)


def _editor(position: Position | None) -> Page:
    scope = current_scope()
    clients = {c.public_id: c for c in account_queries.list_clients(scope)}
    competencies = bank_queries.competencies(scope)
    may_start_from_occupation = position is None or not position.skills
    proposal = None
    if request.method == "GET":
        if may_start_from_occupation and request.args.get("occupation"):
            proposal = queries.occupation_of(request.args["occupation"])
            if proposal is None:
                flash("That ESCO occupation is not in the list. Search again.", "error")
        form = ProfileForm(data=_initial(position, competencies, clients, proposal))
    else:
        form = ProfileForm()
    form.client.choices = [SelectChoice(c.public_id, c.name) for c in clients.values()]
    context: dict[str, Any] = {"proposal": proposal, "competencies": competencies}
    if request.method == "GET":
        return _render_editor(form, position, **context)

    action = request.form.get("action", "save")
    if action == "find":
        found = queries.skill_matches(form.skill_search.data or "")
        return _render_editor(form, position, found=found, searched=True, **context)
    if action in ("more-required", "more-desired"):
        rows = form.required if action == "more-required" else form.desired
        for _ in range(BLANK_ROWS):
            if len(rows) < rows.max_entries:
                rows.append_entry()
        return _render_editor(form, position, **context)

    if not form.validate_on_submit():
        # Show the rules' problems too (an unknown skill, a cap below the minimum), not only the form's.
        return _render_editor(form, position, service_errors=_rule_problems(form), **context), 422
    try:
        with unit_of_work():
            saved = services.save_profile(
                position=position,
                client=clients[form.client.data],
                data=_profile_input(form),
                by=current_user,
                now=utcnow(),
            )
            version = saved.position.profile_version
            public_id = saved.position.public_id
    except services.InvalidProfile as exc:
        row_errors = _show_problems(form, exc.errors)
        return _render_editor(form, position, service_errors=row_errors, **context), 422
    if saved.created:
        flash("Position added. Its profile is version 1.", "success")
    elif saved.changes:
        flash(f"Profile saved as version {version}.", "success")
    else:
        flash(f"Nothing had changed, so the profile stays at version {version}.", "info")
    return redirect(url_for("positions.edit", public_id=public_id))


def _initial(
    position: Position | None,
    competencies: list[Competency],
    clients: dict[str, Client],
    proposal: Any,
) -> dict[str, Any]:
    """The editor's starting values: the saved profile, or defaults, with an occupation's skills proposed."""
    data: dict[str, Any] = {"required": [], "desired": [], "people": []}
    if position is None:
        wanted_client = request.args.get("client", "")
        data["client"] = wanted_client if wanted_client in clients else None
        data |= {f"weight_{name}": round(weight * 100) for name, weight in DEFAULT_FIT_WEIGHTS.items()}
        asked: dict[int, Any] = {}
    else:
        data |= {
            "client": position.client.public_id,
            "title": position.title,
            "responsibilities": position.responsibilities,
            "occupation_uri": position.occupation_uri or "",
            "education_min_level": "" if position.education_min_level is None else str(position.education_min_level),
            "education_substitution_years": _decimal(position.education_substitution_years),
            "education_knockout": position.education_knockout,
            "experience_min_years": _decimal(position.experience_min_years),
            "experience_cap_years": _decimal(position.experience_cap_years),
            "experience_knockout": position.experience_knockout,
            "industry_mode": position.industry_mode,
            "industry_codes": position.industry_code_list,
        }
        data |= {f"weight_{name}": round(position.fit_weights.get(name, 0) * 100) for name in FIT_COMPONENTS}
        for skill in position.skills:
            data[skill.kind].append(
                {
                    "include": True,
                    "skill": queries.skill_label(skill.skill_key),
                    "min_level": skill.min_level,
                    "weight": round(skill.weight),
                    "knockout": skill.knockout,
                }
            )
        asked = {c.competency_id: c for c in position.competencies}
    if proposal is not None:
        data["occupation_uri"] = proposal.uri
        if not data.get("title"):
            data["title"] = proposal.label[:1].upper() + proposal.label[1:]
        for requirement in services.proposed_skills(proposal.uri):
            data[requirement.kind].append(
                {
                    # Essential skills come ticked; optional ones are offered for the recruiter to tick.
                    "include": requirement.kind == "required",
                    "skill": queries.skill_label(requirement.skill),
                    "min_level": requirement.min_level,
                    "weight": round(requirement.weight),
                    "knockout": False,
                }
            )
    for kind in ("required", "desired"):
        data[kind] += [{"include": True, "min_level": 3, "weight": 1}] * BLANK_ROWS
    for competency in competencies:
        row = asked.get(competency.id)
        data["people"].append(
            {
                "competency": competency.public_id,
                "include": row is not None,
                "min_score": round(row.min_score * 100) if row else 60,
                "weight": round(row.weight) if row else 1,
                "knockout": row.knockout if row else False,
            }
        )
    return data


def _decimal(value: float | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _profile_input(form: ProfileForm) -> services.ProfileInput:
    skills = []
    for kind, rows in (("required", form.required), ("desired", form.desired)):
        for entry in rows:
            row = entry.form
            if row.in_use:
                skills.append(
                    services.SkillRequirement(
                        skill=row.skill.data or "",
                        kind=kind,
                        min_level=row.min_level.data,
                        weight=float(row.weight.data),
                        knockout=bool(row.knockout.data),
                        ref=entry.id,
                    )
                )
    people = [
        services.PeopleRequirement(
            competency_public_id=entry.form.competency.data or "",
            min_score=(entry.form.min_score.data or 0) / 100,
            weight=float(entry.form.weight.data),
            knockout=bool(entry.form.knockout.data),
            ref=entry.id,
        )
        for entry in form.people
        if entry.form.include.data
    ]
    level = form.education_min_level.data
    substitution = form.education_substitution_years.data
    cap = form.experience_cap_years.data
    return services.ProfileInput(
        title=form.title.data or "",
        responsibilities=form.responsibilities.data or "",
        occupation_uri=form.occupation_uri.data or None,
        skills=tuple(skills),
        people=tuple(people),
        education_min_level=int(level) if level else None,
        education_substitution_years=None if substitution is None else float(substitution),
        education_knockout=bool(form.education_knockout.data),
        experience_min_years=float(form.experience_min_years.data or 0),
        experience_cap_years=None if cap is None else float(cap),
        experience_knockout=bool(form.experience_knockout.data),
        industry_mode=form.industry_mode.data or "none",
        industry_codes=tuple(form.industry_codes.data or ()),
        fit_weights={name: (field.data or 0) / 100 for name, field in form.weight_fields()},
    )


def _show_problems(form: ProfileForm, errors: dict[str, list[str]], *, beside: bool = False) -> dict[str, list[str]]:
    """Put the service's messages on their fields; returns the messages for skill and people rows.

    With ``beside``, a field or row that already shows a message of the form's keeps only that one.
    """
    rows: dict[str, list[str]] = {}
    flagged = {entry.id for entry in (*form.required, *form.desired, *form.people) if entry.form.errors}
    weights_flagged = bool(form.weight_errors) or any(field.errors for _, field in form.weight_fields())
    for where, messages in errors.items():
        if where == "fit_weights":
            if not (beside and weights_flagged):
                form.weight_errors = [*form.weight_errors, *messages]
        elif where.startswith(("required-", "desired-", "people-")):
            if not (beside and where in flagged):
                rows[where] = messages
        elif where in form and where not in ("required", "desired", "people", "occupation_uri"):
            if not (beside and form[where].errors):
                form[where].errors = [*form[where].errors, *messages]
        else:
            form.form_errors.extend(messages)
    return rows


def _rule_problems(form: ProfileForm) -> dict[str, list[str]]:
    """The service's problems with a form that failed its own checks, beside the form's messages."""
    try:
        data = _profile_input(form)
    except (TypeError, ValueError, ArithmeticError):
        return {}
    try:
        services.check_profile(current_user.agency_id, data)
    except services.InvalidProfile as exc:
        return _show_problems(form, exc.errors, beside=True)
    return {}


def _row_errors(form: ProfileForm, service_errors: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every message for each skill and people row, the form's and the service's, by row id."""
    found: dict[str, list[str]] = {}
    for entry in (*form.required, *form.desired, *form.people):
        messages = [m for field in entry.form for m in field.errors] + service_errors.get(entry.id, [])
        if messages:
            found[entry.id] = list(dict.fromkeys(messages))
    return found


def _render_editor(
    form: ProfileForm,
    position: Position | None,
    *,
    competencies: list[Competency],
    proposal: Any = None,
    found: list[queries.SkillOption] | None = None,
    searched: bool = False,
    service_errors: dict[str, list[str]] | None = None,
) -> str:
    occupation_query = request.args.get("occupation_q", "")[:200] if request.method == "GET" else ""
    entered = [services.vocabulary_key(entry.form.skill.data or "") or "" for entry in (*form.required, *form.desired)]
    occupation_uri = form.occupation_uri.data or None
    return render_template(
        "positions/form.html",
        form=form,
        position=position,
        competencies={c.public_id: c for c in competencies},
        row_errors=_row_errors(form, service_errors or {}),
        proposal=proposal,
        occupation=queries.occupation_of(occupation_uri),
        may_start_from_occupation=position is None or not position.skills,
        occupation_query=occupation_query,
        occupations=queries.occupation_matches(occupation_query),
        found=found or [],
        searched=searched,
        skill_options=queries.skill_options(
            [k for k in entered if k], occupation_uri=occupation_uri, found=found or []
        ),
        component_labels=COMPONENT_LABELS,
        isced_levels=ISCED_LEVELS,
        nace_sections=NACE_SECTIONS,
        esco_attribution=taxonomy.ESCO_ATTRIBUTION,
    )


# --- The skill-transfer table --------------------------------------------------------------------


@bp.get("/transfers")
@access(roles=STAFF_ROLES)
def transfers() -> str:
    wanted = queries.TransferFilter(q=request.args.get("q", "")[:100])
    return render_template(
        "positions/transfers.html",
        rows=queries.transfers(current_scope(), wanted),
        wanted=wanted,
        label=queries.skill_label,
        sources=services.TRANSFER_SOURCES,
        action_form=ActionForm(),
        esco_attribution=taxonomy.ESCO_ATTRIBUTION,
    )


@bp.route("/transfers/new", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY)
def new_transfer() -> Page:
    return _transfer_form(None)


@bp.route("/transfers/<public_id>", methods=["GET", "POST"])
@access(roles=ADMIN_ONLY, owns=SkillTransfer)
def edit_transfer(public_id: str) -> Page:
    return _transfer_form(get_scoped_or_404(SkillTransfer, public_id))


def _transfer_form(transfer: SkillTransfer | None) -> Page:
    form = TransferForm()
    if request.method == "GET":
        if transfer is not None:
            form.from_skill.data = queries.skill_label(transfer.from_skill)
            form.to_skill.data = queries.skill_label(transfer.to_skill)
            form.credit.data = Decimal(str(transfer.credit))
            form.rationale.data = transfer.rationale
            form.source.data = transfer.source if transfer.source in services.TRANSFER_SOURCES else "expert"
        # Whoever saves the row has reviewed it: the reviewer and date default to them and today.
        form.reviewer.data = current_user.name
        form.reviewed_on.data = utcnow().date()
        return _render_transfer(form, transfer)
    if request.form.get("action") == "find":
        return _render_transfer(
            form, transfer, found=queries.skill_matches(form.skill_search.data or ""), searched=True
        )
    if not form.validate_on_submit():
        return _render_transfer(form, transfer), 422
    data = services.TransferInput(
        from_skill=form.from_skill.data or "",
        to_skill=form.to_skill.data or "",
        credit=float(form.credit.data or 0),
        rationale=form.rationale.data or "",
        source=form.source.data or "",
        reviewer=form.reviewer.data or "",
        reviewed_on=form.reviewed_on.data or utcnow().date(),
    )
    try:
        with unit_of_work():
            services.save_transfer(current_user.agency, data, transfer=transfer, by=current_user, now=utcnow())
    except services.InvalidTransfer as exc:
        for where, messages in exc.errors.items():
            if where in form:
                form[where].errors = [*form[where].errors, *messages]
            else:
                form.form_errors.extend(messages)
        return _render_transfer(form, transfer), 422
    flash("Transfer row saved.", "success")
    return redirect(url_for("positions.transfers"))


def _render_transfer(
    form: TransferForm,
    transfer: SkillTransfer | None,
    *,
    found: list[queries.SkillOption] | None = None,
    searched: bool = False,
) -> str:
    entered = [services.vocabulary_key(form.from_skill.data or ""), services.vocabulary_key(form.to_skill.data or "")]
    return render_template(
        "positions/transfer_form.html",
        form=form,
        transfer=transfer,
        delete_form=ActionForm(),
        found=found or [],
        searched=searched,
        skill_options=queries.skill_options([k for k in entered if k], occupation_uri=None, found=found or []),
        esco_attribution=taxonomy.ESCO_ATTRIBUTION,
    )


@bp.post("/transfers/<public_id>/delete")
@access(roles=ADMIN_ONLY, owns=SkillTransfer)
def delete_transfer(public_id: str) -> Response:
    transfer = get_scoped_or_404(SkillTransfer, public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.delete_transfer(transfer, by=current_user, now=utcnow())
    flash("Transfer row deleted.", "success")
    return redirect(url_for("positions.transfers"))


@bp.post("/transfers/seed")
@access(roles=ADMIN_ONLY)
def seed_transfers() -> Response:
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        added = services.seed_transfer_table(current_user.agency, utcnow())
    if added:
        flash(f"Added {added} reviewed row{'' if added == 1 else 's'} that the table did not have yet.", "success")
    else:
        flash("The table already has every reviewed row that ships with Rapport.", "info")
    return redirect(url_for("positions.transfers"))
