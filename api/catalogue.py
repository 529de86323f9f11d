"""Read-only catalogue: the agency's positions and assessments, as an ATS needs them to order a test."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from accounts.access import scoped_select
from api.base import api_access, bp, current_key, get_owned
from api.models import ApiScope
from api.pagination import listing, page
from assessments.models import Assessment
from positions.models import Position


def position_json(position: Position) -> dict[str, Any]:
    return {
        "id": position.public_id,
        "title": position.title,
        "client": {"id": position.client.public_id, "name": position.client.name},
        "responsibilities": position.responsibility_list,
        "occupation_uri": position.occupation_uri,
        "skills": [
            {
                "skill": skill.skill_key,
                "kind": skill.kind,
                "min_level": skill.min_level,
                "weight": skill.weight,
                "essential": skill.knockout,
            }
            for skill in position.skills
        ],
        "education_min_level": position.education_min_level,
        "experience_min_years": position.experience_min_years,
        "created_at": position.created_at.isoformat(),
        "updated_at": position.updated_at.isoformat(),
    }


def assessment_json(assessment: Assessment) -> dict[str, Any]:
    return {
        "id": assessment.public_id,
        "title": assessment.title,
        "position_id": assessment.position.public_id,
        "client": {"id": assessment.position.client.public_id, "name": assessment.position.client.name},
        "status": assessment.status.value,
        "pilot": assessment.pilot,
        "published_at": assessment.published_at.isoformat() if assessment.published_at else None,
        "time_limit_minutes": assessment.time_limit_minutes,
        "invitation_days": assessment.invitation_days,
        "competencies": [{"code": c.code, "name": c.name} for c in assessment.reported],
        "created_at": assessment.created_at.isoformat(),
        "updated_at": assessment.updated_at.isoformat(),
    }


@bp.get("/positions")
@api_access(scope=ApiScope.READ)
def list_positions() -> Response:
    key = current_key()
    query = scoped_select(Position, key.as_scope()).options(
        selectinload(Position.client), selectinload(Position.skills)
    )
    rows, cursor = page(
        query, updated=Position.updated_at, ident=Position.public_id, kind="positions", agency=key.agency.public_id
    )
    return jsonify(listing(rows, cursor, position_json))


@bp.get("/positions/<public_id>")
@api_access(scope=ApiScope.READ, owns=Position)
def get_position(public_id: str) -> Response:
    return jsonify(position_json(get_owned(Position, public_id)))


@bp.get("/assessments")
@api_access(scope=ApiScope.READ)
def list_assessments() -> Response:
    key = current_key()
    query = scoped_select(Assessment, key.as_scope()).options(
        selectinload(Assessment.position).selectinload(Position.client), selectinload(Assessment.reported)
    )
    rows, cursor = page(
        query,
        updated=Assessment.updated_at,
        ident=Assessment.public_id,
        kind="assessments",
        agency=key.agency.public_id,
    )
    return jsonify(listing(rows, cursor, assessment_json))


@bp.get("/assessments/<public_id>")
@api_access(scope=ApiScope.READ, owns=Assessment)
def get_assessment(public_id: str) -> Response:
    return jsonify(assessment_json(get_owned(Assessment, public_id)))
