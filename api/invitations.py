"""Invitations through the API: order an assessment for a candidate, follow where it stands, revoke it.

The candidate's link is emailed through the outbox, as when a recruiter invites; the API never returns it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from flask import jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from accounts.access import scoped_select
from api.base import api_access, bp, current_key, get_owned, json_body, no_body
from api.models import ApiKey, ApiScope
from api.pagination import listing, page
from api.problems import ApiError
from assessments import invitations
from assessments.models import Assessment, Invitation
from candidates.models import Candidate
from database import db, unit_of_work, utcnow
from reports.models import Report

MAX_ID = 64
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # as api/spec/invitations.yaml says


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def released_results(rows: Iterable[Invitation]) -> dict[int, str]:
    """Invitation id -> the public id of its released, not withdrawn report, for non-pilot assessments only."""
    ids = [row.id for row in rows if not row.assessment.pilot]
    if not ids:
        return {}
    found = db.session.execute(
        select(Report.invitation_id, Report.public_id).where(
            Report.invitation_id.in_(ids), Report.released_at.is_not(None), Report.withdrawn_at.is_(None)
        )
    )
    return {row.invitation_id: row.public_id for row in found}


def invitation_json(invitation: Invitation, result_id: str | None, now: datetime) -> dict[str, Any]:
    attempt = invitation.attempt
    return {
        "id": invitation.public_id,
        "candidate_id": invitation.candidate.public_id,
        "assessment_id": invitation.assessment.public_id,
        "position_id": invitation.assessment.position.public_id,
        "status": invitation.status(now).value,
        "created_at": invitation.created_at.isoformat(),
        "updated_at": invitation.updated_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
        "started_at": _iso(attempt.started_at if attempt else None),
        "submitted_at": _iso(attempt.submitted_at if attempt else None),
        "revoked_at": _iso(invitation.revoked_at),
        "result_id": result_id,
    }


def respond(invitation: Invitation, status: int = 200) -> Response:
    response = jsonify(invitation_json(invitation, released_results([invitation]).get(invitation.id), utcnow()))
    response.status_code = status
    if status == 201:
        response.headers["Location"] = url_for("api.get_invitation", public_id=invitation.public_id)
    return response


def _loaded() -> list[Any]:
    return [
        selectinload(Invitation.candidate),
        selectinload(Invitation.assessment).selectinload(Assessment.position),
        selectinload(Invitation.attempt),
        selectinload(Invitation.email_message),
    ]


def _public_id(value: str) -> str | None:
    """The value if it can be a public id (so that it can go into a query), else None."""
    return value if PUBLIC_ID.fullmatch(value) else None


def find_in_agency(model: type[Candidate] | type[Assessment], key: ApiKey, public_id: str) -> Any:
    """The key's agency's candidate or assessment with that id, or None (a body's reference: 422, not 404)."""
    checked = _public_id(public_id)
    if checked is None:
        return None
    return db.session.scalar(scoped_select(model, key.as_scope()).where(model.public_id == checked))


def refuse_second(candidate: Candidate, assessment: Assessment) -> None:
    """409, with the existing invitation's id, when the candidate is already invited to the assessment."""
    existing = db.session.scalar(
        select(Invitation.public_id).where(
            Invitation.assessment_id == assessment.id, Invitation.candidate_id == candidate.id
        )
    )
    if existing is not None:
        raise ApiError(409, "The candidate is already invited to this assessment.", existing_id=existing)


@bp.get("/invitations")
@api_access(scope=ApiScope.READ)
def list_invitations() -> Response:
    key = current_key()
    query = scoped_select(Invitation, key.as_scope()).options(*_loaded())
    for name, model, column in (
        ("candidate_id", Candidate, Invitation.candidate_id),
        ("assessment_id", Assessment, Invitation.assessment_id),
    ):
        value = request.args.get(name)
        if value is not None:
            wanted = _public_id(value)
            if wanted is None:
                raise ApiError(400, f"{name} must be an id: up to {MAX_ID} letters, digits, - and _.")
            query = query.where(column.in_(select(model.id).where(model.public_id == wanted)))
    rows, cursor = page(
        query,
        updated=Invitation.updated_at,
        ident=Invitation.public_id,
        kind="invitations",
        agency=key.agency.public_id,
        extra_parameters=("candidate_id", "assessment_id"),
    )
    results, now = released_results(rows), utcnow()
    return jsonify(listing(rows, cursor, lambda row: invitation_json(row, results.get(row.id), now)))


@bp.get("/invitations/<public_id>")
@api_access(scope=ApiScope.READ, owns=Invitation)
def get_invitation(public_id: str) -> Response:
    return respond(get_owned(Invitation, public_id))


@bp.post("/invitations")
@api_access(scope=ApiScope.WRITE)
def create_invitation() -> Response:
    key = current_key()
    body = json_body("InvitationCreate")
    candidate = find_in_agency(Candidate, key, body["candidate_id"])
    assessment = find_in_agency(Assessment, key, body["assessment_id"])
    errors = [
        {"pointer": f"/{name}", "detail": f"No such {noun} in this agency."}
        for name, noun, found in (("candidate_id", "candidate", candidate), ("assessment_id", "assessment", assessment))
        if found is None
    ]
    if errors:
        raise ApiError(
            422, "The invitation names a candidate or an assessment this agency does not have.", errors=errors
        )
    refuse_second(candidate, assessment)
    if not assessment.is_published:  # the service says so too; refused here, before a write transaction opens
        detail = "Publish the assessment before inviting candidates."
        raise ApiError(422, detail, errors=[{"pointer": "/assessment_id", "detail": detail}])
    try:
        with unit_of_work():
            invitation = invitations.invite(
                assessment, name=candidate.name, email=candidate.email, by=key, now=utcnow()
            )
    except invitations.InvitationError as error:
        raise ApiError(422, str(error), errors=[{"pointer": "/assessment_id", "detail": str(error)}]) from None
    except IntegrityError:  # another request invited the candidate between the check and the commit
        refuse_second(candidate, assessment)
        raise
    return respond(invitation, 201)


@bp.post("/invitations/<public_id>/revoke")
@api_access(scope=ApiScope.WRITE, owns=Invitation)
def revoke_invitation(public_id: str) -> Response:
    key = current_key()
    invitation = get_owned(Invitation, public_id)
    no_body()
    if invitation.attempt is not None and invitation.attempt.submitted_at is not None:
        raise ApiError(409, "This candidate has already submitted the test; it cannot be revoked.")
    try:
        with unit_of_work():
            invitations.revoke(invitation, by=key, now=utcnow())
    except invitations.InvitationError as error:
        raise ApiError(409, str(error)) from None
    return respond(invitation)
