"""Candidates through the API: list, read, create and update, with a profile from a JSON Resume document.

Every rule is the UI's: candidates.services checks names and addresses, candidates.jsonresume checks and
imports a resume (the whole document before anything is written), and an address is unique in an agency.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

from flask import jsonify, request, url_for
from sqlalchemy import false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from accounts.access import scoped_select
from accounts.services import normalise_email
from api.base import api_access, bp, current_key, get_owned, json_body
from api.models import ApiScope
from api.pagination import listing, page
from api.problems import ApiError
from assessments.models import Invitation
from candidates import jsonresume, services
from candidates.models import Candidate
from database import db, unit_of_work, utcnow

CANDIDATE_FIELDS = ("name", "email", "headline")
_PATH_PART = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")


def resume_pointer(path: str) -> str:
    """The JSON pointer of a JSON Resume path inside the request body: work[1].startDate -> /resume/work/1/startDate."""
    parts = [index or name for index, name in _PATH_PART.findall(path)]
    return "/".join(["/resume", *(p.replace("~", "~0").replace("/", "~1") for p in parts)]).rstrip("/")


def profile_problem(error: services.ProfileError) -> ApiError:
    """A ProfileError as a 422 problem whose errors point at the body's fields."""
    errors = [
        {"pointer": f"/{name}" if name in CANDIDATE_FIELDS else "/resume", "detail": message}
        for name, message in error.problems.items()
    ]
    return ApiError(422, "The candidate was not saved; see errors.", errors=errors)


def checked_resume(body: dict[str, Any]) -> services.ImportedProfile | None:
    """The profile the body's resume brings, checked as a whole (None without one); 422 naming every problem."""
    document = body.get("resume")
    if document is None:
        return None
    report = jsonresume.check_document(document, today=utcnow().date())
    if not report.ok or report.profile is None:
        errors = [{"pointer": resume_pointer(e.path), "detail": e.message} for e in report.errors]
        raise ApiError(422, f"The resume has {report.error_count} problem(s); nothing was saved.", errors=errors[:50])
    if "headline" in body:  # a headline given beside the resume wins over its basics.label
        return dataclasses.replace(report.profile, headline=None)
    return report.profile


def checked_fields(name: str, email: str, headline: str, *, agency_id: int, candidate_id: int | None) -> None:
    """422 for a name, address or headline the rules refuse; 409 (with existing_id) for an address in use."""
    problems, address = services.candidate_problems(name, email, headline)
    if problems:
        raise profile_problem(services.ProfileError(problems))
    existing = services.find_by_email(agency_id, address)
    if existing is not None and existing.id != candidate_id:
        raise ApiError(
            409,
            "The agency already has a candidate with this email address.",
            errors=[{"pointer": "/email", "detail": "This email address belongs to another candidate."}],
            existing_id=existing.public_id,
        )


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def candidate_json(candidate: Candidate, invitation_ids: list[str]) -> dict[str, Any]:
    return {
        "id": candidate.public_id,
        "name": candidate.name,
        "email": candidate.email,
        "headline": candidate.headline,
        "created_at": candidate.created_at.isoformat(),
        "updated_at": candidate.updated_at.isoformat(),
        "profile": {
            "skills": [
                {
                    "id": row.public_id,
                    "skill": row.skill_key,
                    "name": row.given_name,
                    "level": row.level,
                    "evidence_type": row.evidence_type,
                    "source": row.source,
                }
                for row in candidate.skills
            ],
            "education": [
                {
                    "id": row.public_id,
                    "isced_level": row.isced_level,
                    "field": row.field,
                    "institution": row.institution,
                    "year": row.year,
                    "source": row.source,
                }
                for row in candidate.education
            ],
            "experience": [
                {
                    "id": row.public_id,
                    "role": row.role,
                    "employer": row.employer,
                    "occupation_uri": row.occupation_uri,
                    "industry": row.industry,
                    "start_date": row.start_date.isoformat(),
                    "end_date": _iso(row.end_date),
                    "fte": row.fte,
                    "source": row.source,
                }
                for row in sorted(candidate.experience, key=lambda row: (row.start_date, row.id))
            ],
            "languages": [
                {"id": row.public_id, "language": row.language, "fluency": row.fluency, "source": row.source}
                for row in candidate.languages
            ],
        },
        "invitations": invitation_ids,
    }


def invitation_ids(candidates: Iterable[Candidate]) -> dict[int, list[str]]:
    """Each candidate's invitation public ids, oldest first, in one query."""
    ids = [c.id for c in candidates]
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(Invitation.candidate_id, Invitation.public_id)
            .where(Invitation.candidate_id.in_(ids))
            .order_by(Invitation.created_at, Invitation.id)
        )
        for candidate_id, public_id in rows:
            found[candidate_id].append(public_id)
    return found


def respond(candidate: Candidate, status: int = 200) -> Response:
    response = jsonify(candidate_json(candidate, invitation_ids([candidate])[candidate.id]))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_candidate", public_id=candidate.public_id)
    return response


def _profile_loaded() -> list[Any]:
    return [
        selectinload(Candidate.skills),
        selectinload(Candidate.education),
        selectinload(Candidate.experience),
        selectinload(Candidate.languages),
    ]


@bp.get("/candidates")
@api_access(scope=ApiScope.READ)
def list_candidates() -> Response:
    key = current_key()
    query = scoped_select(Candidate, key.as_scope()).options(*_profile_loaded())
    email = request.args.get("email")
    if email is not None:
        if not email or len(email) > services.MAX_EMAIL:
            raise ApiError(400, f"email must be 1 to {services.MAX_EMAIL} characters.")
        # No address holds a NUL character, and PostgreSQL refuses one in a query.
        query = query.where(Candidate.email == normalise_email(email) if "\x00" not in email else false())
    rows, cursor = page(
        query,
        updated=Candidate.updated_at,
        ident=Candidate.public_id,
        kind="candidates",
        agency=key.agency.public_id,
        extra_parameters=("email",),
    )
    invited = invitation_ids(rows)
    return jsonify(listing(rows, cursor, lambda c: candidate_json(c, invited[c.id])))


@bp.get("/candidates/<public_id>")
@api_access(scope=ApiScope.READ, owns=Candidate)
def get_candidate(public_id: str) -> Response:
    return respond(get_owned(Candidate, public_id))


@bp.post("/candidates")
@api_access(scope=ApiScope.WRITE)
def create_candidate() -> Response:
    key = current_key()
    body = json_body("CandidateCreate")
    name, email, headline = body["name"], body["email"], body.get("headline", "")
    profile = checked_resume(body)
    checked_fields(name, email, headline, agency_id=key.agency_id, candidate_id=None)
    now = utcnow()
    try:
        with unit_of_work():
            candidate = services.create_candidate(
                key.agency_id, name=name, email=email, headline=headline, by=key, now=now
            )
            if profile is not None:
                jsonresume.import_resume(candidate, profile, by=key, now=now)
    except services.ProfileError as error:
        raise profile_problem(error) from None
    except IntegrityError:  # another request took the address between the check and the commit
        checked_fields(name, email, headline, agency_id=key.agency_id, candidate_id=None)
        raise
    return respond(candidate, 201)


@bp.patch("/candidates/<public_id>")
@api_access(scope=ApiScope.WRITE, owns=Candidate)
def update_candidate(public_id: str) -> Response:
    key = current_key()
    candidate = get_owned(Candidate, public_id)
    body = json_body("CandidateUpdate")
    if not body:
        raise ApiError(422, "Give at least one of name, email, headline and resume.")
    profile = checked_resume(body)
    fields = {name: body.get(name, getattr(candidate, name)) for name in CANDIDATE_FIELDS}
    changes_fields = any(name in body for name in CANDIDATE_FIELDS)
    if changes_fields:
        checked_fields(**fields, agency_id=key.agency_id, candidate_id=candidate.id)
    now = utcnow()
    try:
        with unit_of_work():
            if changes_fields:
                services.update_candidate(candidate, **fields, by=key, now=now)
            if profile is not None:
                jsonresume.import_resume(candidate, profile, by=key, now=now)
    except services.ProfileError as error:
        raise profile_problem(error) from None
    except IntegrityError:
        checked_fields(**fields, agency_id=key.agency_id, candidate_id=candidate.id)
        raise
    return respond(candidate)
