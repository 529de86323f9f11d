"""Candidate pages: the list with a CSV import, a candidate's profile, its rows, skill matches, JSON Resume import."""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

import taxonomy
from accounts.access import access, current_scope, deny, get_scoped_or_404
from accounts.models import ADMIN_ONLY, STAFF_ROLES
from candidates import csv_import, jsonresume, privacy, queries, services
from candidates.forms import (
    ActionForm,
    CandidateForm,
    ConfirmSkillForm,
    CsvUploadForm,
    EducationForm,
    ExperienceForm,
    LanguageForm,
    ResumeConfirmForm,
    ResumeUploadForm,
    SkillForm,
    fluency_choices,
)
from candidates.models import (
    SKILL_EVIDENCE,
    Candidate,
    CandidateEducation,
    CandidateExperience,
    CandidateLanguage,
    CandidateSkill,
)
from database import unit_of_work, utcnow
from taxonomy import vocabulary

bp = Blueprint("candidates", __name__, url_prefix="/candidates")

Page = Response | str | tuple[str, int]
UPLOAD_OVERHEAD = 64 * 1024
SOURCE = "recruiter"
SOURCE_LABELS = {"recruiter": "Recruiter", "candidate": "Candidate", "json_resume": "JSON Resume", "csv": "CSV import"}


@bp.url_value_preprocessor
def _allow_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Before any before_request hook reads the form (CSRF does): room for the file and the multipart wrapping.
    if request.method != "POST":
        return
    if endpoint in ("candidates.resume", "candidates.confirm_resume"):
        request.max_content_length = jsonresume.MAX_BYTES + UPLOAD_OVERHEAD
        request.max_form_memory_size = jsonresume.MAX_BYTES + UPLOAD_OVERHEAD
    elif endpoint == "candidates.import_csv":
        request.max_content_length = csv_import.MAX_FILE_BYTES + UPLOAD_OVERHEAD


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "source_labels": SOURCE_LABELS,
        "evidence_labels": SKILL_EVIDENCE,
        "skill_label": queries.skill_label,
        "occupation_label": queries.occupation_label,
        "isced_label": queries.isced_label,
        "industry_label": queries.industry_label,
        "fluency_label": queries.fluency_label,
        "esco_attribution": taxonomy.ESCO_ATTRIBUTION,
    }


def _show_problems(form: FlaskForm, problems: dict[str, str], aliases: dict[str, str] | None = None) -> None:
    """Put a service's problems next to the fields they name (the rest above the form)."""
    for name, message in problems.items():
        target = (aliases or {}).get(name, name)
        if target in form:
            form[target].errors = [*form[target].errors, message]
        else:
            form.form_errors.append(message)


def _row(rows: list[Any], public_id: str | None) -> Any:
    """The row of a candidate's section named by a public id; 404 (audited) for any other id."""
    if public_id is None:
        return None
    found = next((row for row in rows if row.public_id == public_id), None)
    if found is None:
        deny(reason="scope", object_type="candidate_profile_row", object_public_id=public_id[:64])
        abort(404)
    return found


def _to_profile(candidate: Candidate, anchor: str = "") -> Response:
    return redirect(url_for("candidates.detail", public_id=candidate.public_id) + (f"#{anchor}" if anchor else ""))


# --- The list and the CSV import ---------------------------------------------------------------


@bp.get("")
@access(roles=STAFF_ROLES)
def index() -> str:
    search = request.args.get("q", "")[:100]
    page = request.args.get("page", 1, type=int)
    listing = queries.list_candidates(current_scope(), search, page)
    return render_template("candidates/index.html", listing=listing, search=search, csv_form=CsvUploadForm())


def _csv_page(form: CsvUploadForm, **context: Any) -> tuple[str, int]:
    return render_template("candidates/import_csv.html", form=form, **context), 422


@bp.post("/import")
@access(roles=STAFF_ROLES)
def import_csv() -> Page:
    form = CsvUploadForm()
    if not form.validate_on_submit():
        return _csv_page(form)
    raw = form.file.data.read(csv_import.MAX_FILE_BYTES + 1)
    try:
        report = csv_import.check_csv(raw, agency_id=current_user.agency_id, today=utcnow().date())
    except csv_import.CsvFileError as exc:
        return _csv_page(form, file_error=str(exc))
    if not report.ok:
        body = ("\ufeff" + csv_import.error_report_csv(report.errors)).encode("utf-8")  # the BOM tells Excel
        data_url = "data:text/csv;charset=utf-8;base64," + base64.b64encode(body).decode("ascii")
        return _csv_page(form, report=report, error_csv_url=data_url)
    try:
        with unit_of_work():
            counts = csv_import.import_rows(report, current_user.agency_id, by=current_user, now=utcnow())
    except IntegrityError:
        return _csv_page(
            form,
            file_error="Someone changed these candidates while the file was imported. Nothing was imported; "
            "upload the file again.",
        )
    flash(
        f"Imported {len(report.rows):,} candidate{'s' if len(report.rows) != 1 else ''}: "
        f"{counts.created:,} new, {counts.updated:,} updated.",
        "success",
    )
    return redirect(url_for("candidates.index"))


# --- One candidate ----------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@access(roles=STAFF_ROLES)
def new() -> Page:
    form = CandidateForm()
    template = "candidates/form.html"
    if request.method == "GET":
        return render_template(template, form=form, candidate=None)
    if not form.validate_on_submit():
        return render_template(template, form=form, candidate=None), 422
    try:
        with unit_of_work():
            candidate = services.create_candidate(
                current_user.agency_id,
                name=form.name.data or "",
                email=form.email.data or "",
                headline=form.headline.data or "",
                by=current_user,
                now=utcnow(),
            )
    except services.ProfileError as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, candidate=None), 422
    flash("Candidate added. Add their skills, education and experience below.", "success")
    return _to_profile(candidate)


@bp.get("/<public_id>")
@access(roles=STAFF_ROLES, owns=Candidate)
def detail(public_id: str) -> str:
    candidate = queries.load_profile(get_scoped_or_404(Candidate, public_id))
    search_row = request.args.get("row")
    search_text = request.args.get("q", "")[:200]
    return render_template(
        "candidates/detail.html",
        candidate=candidate,
        suggestions=queries.suggestions_for(candidate.skills, row=search_row, text=search_text),
        search_row=search_row,
        search_text=search_text,
        action_form=ActionForm(),
        consents=privacy.consent_records(candidate),
    )


@bp.route("/<public_id>/edit", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Candidate)
def edit(public_id: str) -> Page:
    candidate = get_scoped_or_404(Candidate, public_id)
    form = CandidateForm(obj=candidate if request.method == "GET" else None)
    template = "candidates/form.html"
    if request.method == "GET":
        return render_template(template, form=form, candidate=candidate)
    if not form.validate_on_submit():
        return render_template(template, form=form, candidate=candidate), 422
    try:
        with unit_of_work():
            services.update_candidate(
                candidate,
                name=form.name.data or "",
                email=form.email.data or "",
                headline=form.headline.data or "",
                by=current_user,
                now=utcnow(),
            )
    except services.ProfileError as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, candidate=candidate), 422
    flash("Candidate saved.", "success")
    return _to_profile(candidate)


# --- Profile rows ----------------------------------------------------------------------------------


@bp.route("/<public_id>/skills/edit", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Candidate)
def skill_form(public_id: str) -> Page:
    candidate = get_scoped_or_404(Candidate, public_id)
    row: CandidateSkill | None = _row(candidate.skills, request.args.get("row"))
    form = SkillForm(obj=row if request.method == "GET" else None)
    template = "candidates/skill_form.html"
    if request.method == "GET":
        return render_template(template, form=form, candidate=candidate, row=row)
    if not form.validate_on_submit():
        return render_template(template, form=form, candidate=candidate, row=row), 422
    values = {
        "given_name": form.given_name.data or "",
        "level": form.level.data,
        "evidence_type": form.evidence_type.data,
        "evidence": form.evidence.data or "",
    }
    try:
        with unit_of_work():
            if row is None:
                row = services.add_skill(candidate, **values, source=SOURCE, now=utcnow(), by=current_user)
            else:
                services.update_skill(row, **values, source=SOURCE, now=utcnow(), by=current_user)
    except services.ProfileError as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, candidate=candidate, row=row), 422
    if row.skill_key is None:
        flash("Skill saved. Confirm one of the suggested matches below, or leave it as given.", "success")
    else:
        flash("Skill saved.", "success")
    return _to_profile(candidate, f"skill-{row.public_id}")


@bp.post("/<public_id>/skills/<row_id>/confirm")
@access(roles=STAFF_ROLES, owns=Candidate)
def confirm_skill(public_id: str, row_id: str) -> Response:
    candidate = get_scoped_or_404(Candidate, public_id)
    row: CandidateSkill = _row(candidate.skills, row_id)
    form = ConfirmSkillForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            services.confirm_skill(row, form.skill_key.data or "", now=utcnow(), by=current_user)
    except services.ProfileError as exc:
        flash(" ".join(exc.problems.values()), "error")
        return _to_profile(candidate, f"skill-{row.public_id}")
    flash(f"“{row.given_name}” is now matched to “{queries.skill_label(row.skill_key or '')}”.", "success")
    return _to_profile(candidate, f"skill-{row.public_id}")


@bp.post("/<public_id>/skills/<row_id>/unmatch")
@access(roles=STAFF_ROLES, owns=Candidate)
def unmatch_skill(public_id: str, row_id: str) -> Response:
    candidate = get_scoped_or_404(Candidate, public_id)
    row: CandidateSkill = _row(candidate.skills, row_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.unmatch_skill(row, now=utcnow(), by=current_user)
    flash(f"“{row.given_name}” is kept as given, without a match.", "success")
    return _to_profile(candidate, f"skill-{row.public_id}")


@bp.route("/<public_id>/education/edit", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Candidate)
def education_form(public_id: str) -> Page:
    candidate = get_scoped_or_404(Candidate, public_id)
    row: CandidateEducation | None = _row(candidate.education, request.args.get("row"))
    form = EducationForm(obj=row if request.method == "GET" else None)
    template = "candidates/education_form.html"
    if request.method == "GET":
        return render_template(template, form=form, candidate=candidate, row=row)
    if not form.validate_on_submit():
        return render_template(template, form=form, candidate=candidate, row=row), 422
    values = {
        "isced_level": form.isced_level.data,
        "field": form.field.data or "",
        "institution": form.institution.data or "",
        "year": form.year.data,
    }
    try:
        with unit_of_work():
            if row is None:
                row = services.add_education(candidate, **values, source=SOURCE, now=utcnow(), by=current_user)
            else:
                services.update_education(row, **values, source=SOURCE, now=utcnow(), by=current_user)
    except services.ProfileError as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, candidate=candidate, row=row), 422
    flash("Education saved.", "success")
    return _to_profile(candidate, "education")


def _occupation_choices(form: ExperienceForm, found: list[vocabulary.Occupation]) -> None:
    choices = [("", "No occupation recorded")]
    current = form.occupation_uri.data
    if current and services.is_occupation(current) and all(o.uri != current for o in found):
        choices.append((current, f"{queries.occupation_label(current)} (current choice)"))
    choices += [(o.uri, f"{o.label} (ISCO {o.isco_code})") for o in found]
    form.occupation_uri.choices = choices
    if not form.occupation_uri.data:
        form.occupation_uri.data = ""


@bp.route("/<public_id>/experience/edit", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Candidate)
def experience_form(public_id: str) -> Page:
    candidate = get_scoped_or_404(Candidate, public_id)
    row: CandidateExperience | None = _row(candidate.experience, request.args.get("row"))
    form = ExperienceForm(obj=row if request.method == "GET" else None)
    template = "candidates/experience_form.html"
    if request.method == "GET":
        if row is not None:
            form.fte.data = round(row.fte * 100)
            form.industry.data = row.industry or ""
        _occupation_choices(form, [])
        return render_template(template, form=form, candidate=candidate, row=row, searched=False)
    if request.form.get("action") == "search":
        # Look up occupations and show the form again, with what was typed; nothing is saved.
        query = (request.form.get("occupation_query") or "").strip()[:200]
        found = vocabulary.search_occupations(query, limit=12) if query else []
        form.validate_on_submit()  # for the CSRF check; errors are not shown on a search
        for f in form:
            f.errors = []
        form.form_errors = []
        _occupation_choices(form, found)
        return render_template(template, form=form, candidate=candidate, row=row, searched=True, found=found)
    _occupation_choices(form, [])
    if not form.validate_on_submit():
        return render_template(template, form=form, candidate=candidate, row=row, searched=False), 422
    values = {
        "role": form.role.data or "",
        "employer": form.employer.data or "",
        "start_date": form.start_date.data,
        "end_date": form.end_date.data,
        "fte": (form.fte.data or 0) / 100,
        "responsibilities": form.responsibilities.data or "",
        "occupation_uri": form.occupation_uri.data or None,
        "industry": form.industry.data or None,
    }
    try:
        with unit_of_work():
            if row is None:
                row = services.add_experience(candidate, **values, source=SOURCE, now=utcnow(), by=current_user)
            else:
                services.update_experience(row, **values, source=SOURCE, now=utcnow(), by=current_user)
    except services.ProfileError as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, candidate=candidate, row=row, searched=False), 422
    flash("Experience saved.", "success")
    return _to_profile(candidate, "experience")


@bp.route("/<public_id>/languages/edit", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Candidate)
def language_form(public_id: str) -> Page:
    candidate = get_scoped_or_404(Candidate, public_id)
    row: CandidateLanguage | None = _row(candidate.languages, request.args.get("row"))
    form = LanguageForm(obj=row if request.method == "GET" else None)
    form.fluency.choices = fluency_choices(row.fluency if row is not None else "")
    template = "candidates/language_form.html"
    if request.method == "GET":
        return render_template(template, form=form, candidate=candidate, row=row)
    if not form.validate_on_submit():
        return render_template(template, form=form, candidate=candidate, row=row), 422
    values = {"language": form.language.data or "", "fluency": form.fluency.data or ""}
    try:
        with unit_of_work():
            if row is None:
                row = services.add_language(candidate, **values, source=SOURCE, now=utcnow(), by=current_user)
            else:
                services.update_language(row, **values, source=SOURCE, now=utcnow(), by=current_user)
    except services.ProfileError as exc:
        _show_problems(form, exc.problems)
        return render_template(template, form=form, candidate=candidate, row=row), 422
    flash("Language saved.", "success")
    return _to_profile(candidate, "languages")


SECTIONS = ("skills", "education", "experience", "languages")


@bp.post("/<public_id>/<kind>/<row_id>/delete")
@access(roles=STAFF_ROLES, owns=Candidate)
def delete_row(public_id: str, kind: str, row_id: str) -> Response:
    candidate = get_scoped_or_404(Candidate, public_id)
    if kind not in SECTIONS:
        abort(404)
    row = _row(getattr(candidate, kind), row_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    with unit_of_work():
        services.delete_row(row, now=utcnow(), by=current_user)
    flash(
        {"skills": "Skill", "education": "Education", "experience": "Job", "languages": "Language"}[kind] + " deleted."
    )
    return _to_profile(candidate, kind)


# --- JSON Resume --------------------------------------------------------------------------------------


def _resume_page(candidate: Candidate, form: FlaskForm, report: jsonresume.ResumeReport | None, status: int) -> Page:
    return render_template("candidates/resume.html", candidate=candidate, form=form, report=report), status


@bp.route("/<public_id>/resume", methods=["GET", "POST"])
@access(roles=STAFF_ROLES, owns=Candidate)
def resume(public_id: str) -> Page:
    """Upload a JSON Resume: checked whole, then a preview to confirm; nothing is written here."""
    candidate = get_scoped_or_404(Candidate, public_id)
    form = ResumeUploadForm()
    if request.method == "GET":
        return _resume_page(candidate, form, None, 200)
    if not form.validate_on_submit():
        return _resume_page(candidate, form, None, 422)
    report = jsonresume.check_resume(form.file.data.read(jsonresume.MAX_BYTES + 1), today=utcnow().date())
    if not report.ok or report.profile is None:
        return _resume_page(candidate, form, report, 422)
    return render_template(
        "candidates/resume_preview.html",
        candidate=candidate,
        form=ResumeConfirmForm(document=report.text),
        report=report,
        profile=report.profile,
        # Not "preview": base.html shows the assessment-preview banner for a variable of that name.
        changes=jsonresume.preview(candidate, report.profile),
    )


@bp.post("/<public_id>/resume/confirm")
@access(roles=STAFF_ROLES, owns=Candidate)
def confirm_resume(public_id: str) -> Page:
    """Import a previewed JSON Resume: checked again, then written all at once."""
    candidate = get_scoped_or_404(Candidate, public_id)
    form = ResumeConfirmForm()
    if not form.validate_on_submit():
        return _resume_page(candidate, ResumeUploadForm(formdata=None), None, 422)
    report = jsonresume.check_resume((form.document.data or "").encode("utf-8"), today=utcnow().date())
    if not report.ok or report.profile is None:
        return _resume_page(candidate, ResumeUploadForm(formdata=None), report, 422)
    with unit_of_work():
        done = jsonresume.import_resume(candidate, report.profile, by=current_user, now=utcnow())
    kept = (
        f" {done.matches_kept} confirmed skill match{'es' if done.matches_kept != 1 else ''} kept."
        if done.matches_kept
        else ""
    )
    flash(
        f"JSON Resume imported: {done.added} row{'s' if done.added != 1 else ''} added, "
        f"{done.removed} from the previous import replaced.{kept}",
        "success",
    )
    return _to_profile(candidate)


# --- Privacy: export, legal hold, erasure ------------------------------------------------------------


@bp.get("/<public_id>/export.json")
@access(roles=STAFF_ROLES, owns=Candidate)
def export(public_id: str) -> Response:
    candidate = get_scoped_or_404(Candidate, public_id)
    now = utcnow()
    with unit_of_work():
        data = privacy.export_candidate(candidate, by=current_user, now=now)
    response = jsonify(data)
    response.headers["Content-Disposition"] = f'attachment; filename="candidate-export-{now:%Y-%m-%d}.json"'
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/<public_id>/legal-hold")
@access(roles=ADMIN_ONLY, owns=Candidate)
def legal_hold(public_id: str) -> Response:
    candidate = get_scoped_or_404(Candidate, public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    hold = request.form.get("hold") == "set"
    try:
        with unit_of_work():
            privacy.set_legal_hold(
                candidate, hold=hold, reason=request.form.get("reason", ""), by=current_user, now=utcnow()
            )
    except privacy.PrivacyError as exc:
        flash(str(exc), "error")
        return _to_profile(candidate, "privacy")
    flash("Legal hold set: this candidate's data cannot be erased." if hold else "Legal hold cleared.", "success")
    return _to_profile(candidate, "privacy")


@bp.post("/<public_id>/consents/<consent_id>/withdraw")
@access(roles=STAFF_ROLES, owns=Candidate)
def withdraw_consent(public_id: str, consent_id: str) -> Response:
    """Record that the candidate withdrew a consent, as they told the agency; their link stops working."""
    candidate = get_scoped_or_404(Candidate, public_id)
    record = next((r for r in privacy.consent_records(candidate) if r.public_id == consent_id), None)
    if record is None:
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        with unit_of_work():
            privacy.withdraw_consent(record, note=request.form.get("note", ""), by=current_user, now=utcnow())
    except privacy.PrivacyError as exc:
        flash(str(exc), "error")
        return _to_profile(candidate, "privacy")
    flash("Withdrawal recorded. Any unfinished test link for it no longer works.", "success")
    return _to_profile(candidate, "privacy")


@bp.post("/<public_id>/erase")
@access(roles=ADMIN_ONLY, owns=Candidate)
def erase(public_id: str) -> Response:
    candidate = get_scoped_or_404(Candidate, public_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm that everything about this candidate is to be erased.", "error")
        return _to_profile(candidate, "privacy")
    try:
        with unit_of_work():
            privacy.erase_candidate(candidate, by=current_user, now=utcnow())
    except privacy.LegalHoldError as exc:
        flash(str(exc), "error")
        return _to_profile(candidate, "privacy")
    flash("The candidate and everything held about them have been erased.", "success")
    return redirect(url_for("candidates.index"))
