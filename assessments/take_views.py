"""The candidate's pages: the emailed link, consent, instructions and practice, one situation per page,
autosave, review, submit, thank you. The token leaves the address bar at the first POST."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, jsonify, make_response, redirect, render_template, request, session, url_for
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from werkzeug.wrappers import Response

from accounts.access import access
from assessments import delivery, item_cache, scoring_adapter
from assessments.models import Answer, Attempt, DemographicResponse, Invitation
from database import db, unit_of_work, utcnow
from scenarios.models import ScenarioVersion
from scenarios.rendering import candidate_item

bp = Blueprint("take", __name__)
SESSION_KEY = "candidate"


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store, private"
    return response


def link_invalid() -> tuple[str, int]:
    return render_template("take/link_invalid.html"), 404


def candidate_page(view: Callable[..., Any], *, with_context: bool = True) -> Callable[..., Any]:
    """Load the invitation from the candidate's session (404 without one) and pass it to the view."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        held = session.get(SESSION_KEY) or {}
        try:
            invitation = delivery.invitation_for(str(held.get("i")), held.get("v"), utcnow(), with_context=with_context)
        except delivery.LinkInvalid:
            return link_invalid()
        return view(invitation, *args, **kwargs)

    return wrapped


def candidate_call(view: Callable[..., Any]) -> Callable[..., Any]:
    """Like candidate_page, for the item page and the script's calls: only the invitation and its attempt."""
    return candidate_page(view, with_context=False)


def _context(invitation: Invitation) -> dict[str, Any]:
    return delivery.notice_context(invitation)


@bp.route("/t/<token>", methods=["GET", "HEAD"])
@access(roles=None)
def landing(token: str) -> Any:
    """What the test is, the privacy notice and consent. Opening the link changes nothing."""
    now = utcnow()
    try:
        invitation = delivery.invitation_for_token(token, now)
    except delivery.LinkInvalid:
        return link_invalid()
    if invitation.attempt is not None and invitation.attempt.submitted_at is not None:
        return render_template("take/already_submitted.html", **_context(invitation))
    return render_template("take/landing.html", token=token, **_context(invitation))


@bp.post("/t/<token>")
@access(roles=None)
def accept(token: str) -> Any:
    """Record consent and any extra time, hold the invitation in the session, continue without the token."""
    now = utcnow()
    try:
        invitation = delivery.invitation_for_token(token, now)
    except delivery.LinkInvalid:
        return link_invalid()
    if invitation.attempt is None and request.form.get("consent") != "yes":
        body = render_template(
            "take/landing.html",
            token=token,
            consent_error="Please tick the box to agree before you start.",
            **_context(invitation),
        )
        return body, 422
    try:
        extra = int(request.form.get("extra_time", "0"))
    except ValueError:
        extra = -1
    try:
        with unit_of_work():
            delivery.record_consent(invitation, extra, now)
    except delivery.DeliveryError as exc:
        return render_template("take/landing.html", token=token, consent_error=str(exc), **_context(invitation)), 422
    session.clear()  # a fresh session for the candidate: nothing from before carries over
    session[SESSION_KEY] = {"i": invitation.public_id, "v": invitation.token_version}
    return redirect(url_for("take.overview"))


@bp.get("/test")
@access(roles=None)
@candidate_page
def overview(invitation: Invitation) -> Any:
    """Instructions and the practice item before the start; afterwards, back to the first unanswered item."""
    attempt = invitation.attempt
    now = utcnow()
    if attempt is not None:
        _finalise_if_overdue(attempt, now)
        if attempt.submitted_at is not None:
            return redirect(url_for("take.done"))
        return redirect(url_for("take.item", number=delivery.first_unanswered(attempt)))
    practice = invitation.assessment.practice_version
    return _no_store(
        make_response(
            render_template(
                "take/overview.html",
                practice=candidate_item(practice, ref="practice") if practice else None,
                **_context(invitation),
            )
        )
    )


@bp.post("/test/start")
@access(roles=None)
@candidate_page
def start(invitation: Invitation) -> Any:
    try:
        with unit_of_work():
            delivery.start_attempt(invitation, utcnow())
    except delivery.LinkInvalid:
        return link_invalid()
    except delivery.DeliveryError:
        return redirect(url_for("take.overview"))
    return redirect(url_for("take.item", number=1))


def _finalise_if_overdue(attempt: Attempt, now: Any) -> None:
    # Pages end the test at the deadline itself: the grace is for saves already on their way, and an item
    # page shown in the grace has a timer at zero that sends the browser back here every second.
    if attempt.submitted_at is None and attempt.deadline is not None and now >= attempt.deadline:
        with unit_of_work():
            delivery.submit(attempt, now, by="deadline")


def _item_page(
    invitation: Invitation,
    number: int,
    *,
    error: str | None = None,
    status: int = 200,
    saved: tuple[Answer | None, int | None] | None = None,
) -> Any:
    """The item page; `saved` is (the saved answer, the item's version id) when the caller already read them."""
    attempt = invitation.attempt
    assert attempt is not None
    if not 1 <= number <= len(attempt.item_order):
        abort(404)
    version_id = attempt.item_order[number - 1]
    answer = saved[0] if saved is not None else db.session.get(Answer, (attempt.id, version_id))
    item = item_cache.frozen_item(version_id)
    if item is None:
        abort(404)
    now = utcnow()
    values: dict[str, Any] = {
        "number": number,
        "total": len(attempt.item_order),
        "answer": answer.answer if answer else {},
        "revision": answer.revision if answer else 0,
        "seconds_left": delivery.seconds_left(attempt, now),
    }
    # "_user_id" rather than current_user: loading the user would rewrite the session cookie on every request.
    if error is None and "_flashes" not in session and "_user_id" not in session:
        body = item_cache.item_page(item, csrf_token=generate_csrf(), **values)
    else:  # a message to show, or a staff member's browser: the full template
        body = render_template("take/item.html", item=item.candidate, error=error, **values)
    return _no_store(make_response(body, status))


def _redirect_unless_open(invitation: Invitation) -> Response | None:
    """Where to send the candidate when the test is not open (not started, or over); None when it is."""
    attempt = invitation.attempt
    if attempt is None:
        return redirect(url_for("take.overview"))
    _finalise_if_overdue(attempt, utcnow())
    if attempt.submitted_at is not None:
        return redirect(url_for("take.done"))
    return None


@bp.get("/test/item/<int:number>")
@access(roles=None)
def item(number: int) -> Any:
    """One situation. The invitation, its attempt and the saved answer come in one query."""
    held = session.get(SESSION_KEY) or {}
    try:
        invitation, answer, version_id = delivery.item_view(str(held.get("i")), held.get("v"), number, utcnow())
    except delivery.LinkInvalid:
        return link_invalid()
    return _redirect_unless_open(invitation) or _item_page(invitation, number, saved=(answer, version_id))


def answer_from_form(version: ScenarioVersion, form: Any) -> dict[str, Any]:
    """The answer a no-JavaScript form post carries, in the stored shape (empty parts left out)."""
    labels = [o.label for o in version.options]
    fmt = version.response_format.value
    if fmt == "rate":
        return {
            "ratings": {
                label: _int(form.get(f"answer-rate-{label}")) for label in labels if form.get(f"answer-rate-{label}")
            }
        }
    if fmt == "rank":
        return {
            "ranks": {
                label: _int(form.get(f"answer-rank-{label}")) for label in labels if form.get(f"answer-rank-{label}")
            }
        }
    if fmt == "most_least":
        return {k: form.get(f"answer-{k}") for k in ("most", "least") if form.get(f"answer-{k}")}
    return {"choice": form.get("answer-choice")} if form.get("answer-choice") else {}


def _int(raw: str | None) -> int | str | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return raw


@bp.post("/test/item/<int:number>")
@access(roles=None)
@candidate_call
def save_form(invitation: Invitation, number: int) -> Any:
    """Save an item's answer from the plain form (JavaScript off), then go on."""
    attempt = invitation.attempt
    if attempt is None:
        return redirect(url_for("take.overview"))
    version = delivery.item_version(attempt, number)
    if version is None:
        abort(404)
    answer = answer_from_form(version, request.form)
    try:
        revision = int(request.form.get("revision", "0"))
    except ValueError:
        abort(400, "The page was incomplete. Reload it and try again.")
    if answer:
        try:
            with unit_of_work():
                delivery.save_answer(attempt, version.id, answer, revision, utcnow(), channel="form")
        except delivery.AlreadySubmitted:
            return redirect(url_for("take.done"))
        except delivery.TimeOver:
            _finalise_if_overdue(attempt, utcnow())
            return redirect(url_for("take.done"))
        except (delivery.DeliveryError, scoring_adapter.InvalidAnswer) as exc:
            return _item_page(
                invitation, number, error=str(exc), status=409 if isinstance(exc, delivery.StaleAnswer) else 422
            )
    go = request.form.get("go", "next")
    if go == "previous" and number > 1:
        return redirect(url_for("take.item", number=number - 1))
    if go == "review" or number >= len(attempt.item_order):
        return redirect(url_for("take.review"))
    return redirect(url_for("take.item", number=number + 1))


@bp.post("/test/answers")
@access(roles=None)
def autosave() -> Any:
    """Save one answer from the page's script: JSON in, JSON out, acknowledged only after commit.

    The invitation is read inside the write transaction, so a save is one short transaction.
    """
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict) or set(payload) != {"item", "answer", "revision"}:
        return jsonify(error="Send item, answer and revision."), 400
    number, revision = payload["item"], payload["revision"]
    if (
        not isinstance(number, int)
        or isinstance(number, bool)
        or not isinstance(revision, int)
        or isinstance(revision, bool)
    ):
        return jsonify(error="Item and revision are whole numbers."), 400
    held = session.get(SESSION_KEY) or {}
    try:
        with unit_of_work():
            saved = delivery.autosave(str(held.get("i")), held.get("v"), number, payload["answer"], revision, utcnow())
    except delivery.NotStarted as exc:
        return jsonify(error=str(exc)), 409
    except delivery.NoSuchItem as exc:
        return jsonify(error=str(exc)), 404
    except delivery.LinkInvalid:
        return link_invalid()
    except delivery.StaleAnswer as exc:
        current = exc.current
        return jsonify(error=str(exc), revision=current.revision if current else 0), 409
    except delivery.AlreadySubmitted as exc:
        return jsonify(error=str(exc), submitted=True), 409
    except delivery.TimeOver as exc:
        return jsonify(error=str(exc)), 410
    except (delivery.DeliveryError, scoring_adapter.InvalidAnswer) as exc:
        return jsonify(error=str(exc)), 422
    return jsonify(revision=saved.revision, saved_at=saved.saved_at.isoformat(), csrf_token=generate_csrf())


@bp.get("/test/review")
@access(roles=None)
@candidate_page
def review(invitation: Invitation) -> Any:
    closed = _redirect_unless_open(invitation)
    if closed is not None:
        return closed
    attempt = invitation.attempt
    assert attempt is not None
    saved = delivery.answers_of(attempt)
    rows = []
    for number, version_id in enumerate(attempt.item_order, start=1):
        version = db.session.get_one(ScenarioVersion, version_id)
        answer = saved.get(version_id)
        rows.append((number, answer is not None and scoring_adapter.is_complete(version, answer.answer)))
    body = render_template(
        "take/review.html", rows=rows, seconds_left=delivery.seconds_left(attempt, utcnow()), **_context(invitation)
    )
    return _no_store(make_response(body))


@bp.post("/test/submit")
@access(roles=None)
@candidate_page
def submit(invitation: Invitation) -> Any:
    attempt = invitation.attempt
    if attempt is None:
        return redirect(url_for("take.overview"))
    with unit_of_work():
        delivery.submit(attempt, utcnow())
    return redirect(url_for("take.done"))


@bp.get("/test/done")
@access(roles=None)
@candidate_page
def done(invitation: Invitation) -> Any:
    attempt = invitation.attempt
    if attempt is None or attempt.submitted_at is None:
        return redirect(url_for("take.overview"))
    answered = (
        db.session.scalar(select(DemographicResponse.id).where(DemographicResponse.attempt_id == attempt.id))
        is not None
    )
    body = render_template(
        "take/done.html",
        attempt=attempt,
        answered_about_you=answered,
        sexes=delivery.SEX_CHOICES,
        races=delivery.RACE_ETHNICITY_CHOICES,
        **_context(invitation),
    )
    return _no_store(make_response(body))


@bp.post("/test/about-you")
@access(roles=None)
@candidate_page
def about_you(invitation: Invitation) -> Any:
    """The optional, voluntary self-identification after submission."""
    attempt = invitation.attempt
    if attempt is None or attempt.submitted_at is None:
        return redirect(url_for("take.overview"))
    try:
        with unit_of_work():
            delivery.record_demographics(
                attempt, request.form.get("sex", ""), request.form.get("race_ethnicity", ""), utcnow()
            )
    except delivery.DeliveryError:
        abort(400, "Choose one of the options, or Prefer not to say.")
    return redirect(url_for("take.done", thanks=1))


@bp.post("/test/signals")
@access(roles=None)
@candidate_call
def signals(invitation: Invitation) -> Any:
    """Context signals from the page's script (focus lost, paste, reload, time on a situation). Never a score."""
    attempt = invitation.attempt
    payload = request.get_json(silent=True)
    if attempt is None or not isinstance(payload, dict) or set(payload) - {"kind", "item", "seconds"}:
        return jsonify(error="Send kind and item."), 400
    item_number, seconds = payload.get("item"), payload.get("seconds")
    for value in (item_number, seconds):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return jsonify(error="Item and seconds are whole numbers."), 400
    with unit_of_work():
        recorded = delivery.record_signal(attempt, str(payload.get("kind")), item_number, utcnow(), seconds)
    return jsonify(recorded=recorded), 200 if recorded else 202


# --- The optional profile step: the candidate's own work history, education, skills and languages ----------

# Plain words for the candidate (the recruiter's pages use the ISCED and NACE names).
SCHOOL_LEVELS = {
    1: "Primary school",
    2: "Lower secondary school (to about age 15 or 16)",
    3: "Upper secondary school, such as high school or A levels",
    4: "A college course after school that is not a degree",
    5: "A short college degree of 2 years or less",
    6: "A bachelor's degree",
    7: "A master's degree",
    8: "A doctorate, such as a PhD",
}
BUSINESS_TYPES = {
    "A": "Farming, forestry or fishing",
    "B": "Mining",
    "C": "Factories and making goods",
    "D": "Power and gas supply",
    "E": "Water and waste",
    "F": "Building work",
    "G": "Shops and wholesale",
    "H": "Transport, delivery and storage",
    "I": "Hotels, restaurants and cafes",
    "J": "Media, IT and phone companies",
    "K": "Banks and insurance",
    "L": "Property",
    "M": "Law, accounting, science and advice",
    "N": "Office services, staffing and support",
    "O": "Government",
    "P": "Schools and colleges",
    "Q": "Health and care",
    "R": "Arts, sport and leisure",
    "S": "Other services",
    "T": "Work in a private home",
    "U": "International bodies",
}
HOURS = {"100": "Full time", "75": "About 4 days a week", "50": "About half time", "25": "Less than half time"}
SKILL_LEVELS = {1: "Just starting", 2: "Some practice", 3: "Good", 4: "Very good", 5: "Expert"}
SPOKEN = {
    "native": "It is my first language",
    "C2": "Like a native speaker",
    "C1": "Very well",
    "B2": "Well",
    "B1": "Quite well",
    "A2": "A little",
    "A1": "Only a few words",
}
MAX_OWN_ROWS = 20  # of each kind, added by the candidate


def _own_rows(invitation: Invitation) -> dict[str, list[Any]]:
    candidate = invitation.candidate
    return {
        "jobs": [r for r in candidate.experience if r.source == "candidate"],
        "education": [r for r in candidate.education if r.source == "candidate"],
        "skills": [r for r in candidate.skills if r.source == "candidate"],
        "languages": [r for r in candidate.languages if r.source == "candidate"],
    }


def _profile_page(invitation: Invitation, *, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    body = render_template(
        "take/profile.html",
        rows=_own_rows(invitation),
        errors=errors or {},
        kind=request.form.get("kind", "") if errors else "",
        form=request.form if errors else {},
        school_levels=SCHOOL_LEVELS,
        business_types=BUSINESS_TYPES,
        hours=HOURS,
        skill_levels=SKILL_LEVELS,
        spoken=SPOKEN,
        saved=request.args.get("saved"),
        **_context(invitation),
    )
    return _no_store(make_response(body, status))


@bp.get("/test/profile")
@access(roles=None)
@candidate_page
def profile(invitation: Invitation) -> Any:
    """An optional page where candidates add their jobs, education, skills and languages."""
    return _profile_page(invitation)


def _month(raw: str, *, end: bool) -> Any:
    """The first (or last) day of a month typed as YYYY-MM; None for an empty box."""
    from candidates.services import period_of

    raw = raw.strip()
    if not raw:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}", raw):
        raise ValueError("Write the month as year and month, like 2021-03.")
    first, last = period_of(raw)
    return last if end else first


@bp.post("/test/profile")
@access(roles=None)
@candidate_page
def add_to_profile(invitation: Invitation) -> Any:
    from candidates import services as profiles

    form, kind, now = request.form, request.form.get("kind", ""), utcnow()
    candidate = invitation.candidate
    own = _own_rows(invitation)
    key = {"job": "jobs", "education": "education", "skill": "skills", "language": "languages"}.get(kind)
    if key is None:
        abort(400, "Choose what to add.")
    if len(own[key]) >= MAX_OWN_ROWS:
        return _profile_page(invitation, errors={"form": "You have added the most we can take here."}, status=422)
    try:
        with unit_of_work():
            if kind == "job":
                hours = form.get("hours", "100")
                if hours not in HOURS:
                    raise profiles.ProfileError({"fte": "Choose how many hours you worked."})
                industry = form.get("industry") or None
                if industry is not None and industry not in BUSINESS_TYPES:
                    raise profiles.ProfileError({"industry": "Choose a type of business from the list."})
                try:
                    start = _month(form.get("start", ""), end=False)
                    end = _month(form.get("end", ""), end=True)
                except ValueError as exc:
                    raise profiles.ProfileError({"start_date": str(exc)}) from None
                if start is None:
                    raise profiles.ProfileError({"start_date": "Write the month you started."})
                if end is not None and end > now.date():
                    end = now.date()  # the month is not over yet
                profiles.add_experience(
                    candidate,
                    role=form.get("role", ""),
                    employer=form.get("employer", ""),
                    start_date=start,
                    end_date=end,
                    fte=int(hours) / 100,
                    industry=industry,
                    responsibilities=form.get("responsibilities", ""),
                    source="candidate",
                    now=now,
                )
            elif kind == "education":
                level = _whole(form.get("isced_level"))
                if level not in SCHOOL_LEVELS:
                    raise profiles.ProfileError({"isced_level": "Choose your level from the list."})
                year = _whole(form.get("year")) if form.get("year") else None
                if form.get("year") and year is None:
                    raise profiles.ProfileError({"year": "Write the year as four numbers, like 2019."})
                profiles.add_education(
                    candidate,
                    isced_level=level,
                    field=form.get("field", ""),
                    institution=form.get("institution", ""),
                    year=year,
                    original_text=SCHOOL_LEVELS[level],
                    source="candidate",
                    now=now,
                )
            elif kind == "skill":
                level = _whole(form.get("level"))
                if level not in SKILL_LEVELS:
                    raise profiles.ProfileError({"level": "Choose how good you are at it."})
                profiles.add_skill(
                    candidate,
                    given_name=form.get("given_name", ""),
                    level=level,
                    evidence_type="self",
                    evidence=form.get("evidence", ""),
                    source="candidate",
                    now=now,
                )
            else:
                fluency = form.get("fluency", "")
                if fluency not in SPOKEN:
                    raise profiles.ProfileError({"fluency": "Choose how well you speak it."})
                profiles.add_language(
                    candidate, language=form.get("language", ""), fluency=fluency, source="candidate", now=now
                )
    except profiles.ProfileError as exc:
        return _profile_page(invitation, errors=exc.problems, status=422)
    return redirect(url_for("take.profile", saved=kind) + f"#{key}")


@bp.post("/test/profile/remove")
@access(roles=None)
@candidate_page
def remove_from_profile(invitation: Invitation) -> Any:
    from candidates import services as profiles

    wanted = request.form.get("row", "")
    rows = [row for group in _own_rows(invitation).values() for row in group if row.public_id == wanted]
    if not rows:
        abort(404)
    with unit_of_work():
        profiles.delete_row(rows[0], now=utcnow())
    return redirect(url_for("take.profile"))


def _whole(raw: str | None) -> int | None:
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
