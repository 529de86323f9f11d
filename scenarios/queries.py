"""Read models for the scenario bank pages, scoped to the caller's agency."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlalchemy.orm import selectinload

from accounts.access import scoped_select
from accounts.models import Scope
from database import db
from scenarios.checks import Check
from scenarios.models import Competency, Scenario, ScenarioOption, ScenarioVersion
from scenarios.services import warnings_of


@dataclass(frozen=True)
class BankRow:
    scenario: Scenario
    version: ScenarioVersion
    warnings: list[Check]

    @property
    def blocked(self) -> bool:
        return any(w.blocker for w in self.warnings)


@dataclass(frozen=True)
class BankFilter:
    q: str = ""
    competency: str = ""
    role: str = ""
    response_format: str = ""
    status: str = ""
    warnings: bool = False


def _with_versions():  # type: ignore[no-untyped-def]
    return selectinload(Scenario.versions).options(
        selectinload(ScenarioVersion.options).selectinload(ScenarioOption.ratings),
        selectinload(ScenarioVersion.weights),
    )


def bank(scope: Scope, wanted: BankFilter) -> list[BankRow]:
    """The bank's scenarios (latest version each) that match the filters, by id."""
    stmt = scoped_select(Scenario, scope).options(_with_versions()).order_by(Scenario.code)
    if wanted.q:
        pattern = f"%{escape_like(wanted.q.strip())}%"
        stmt = stmt.where(
            or_(
                Scenario.code.ilike(pattern, escape="\\"),
                Scenario.versions.any(ScenarioVersion.stem.ilike(pattern, escape="\\")),
            )
        )
    rows = []
    for scenario in db.session.scalars(stmt).unique():
        version = scenario.latest
        if wanted.role and version.role != wanted.role:
            continue
        if wanted.response_format and version.response_format.value != wanted.response_format:
            continue
        if wanted.status and version.status.value != wanted.status:
            continue
        if wanted.competency and wanted.competency not in {w.competency.code for w in version.weights}:
            continue
        warnings = warnings_of(version)
        if wanted.warnings and not warnings:
            continue
        rows.append(BankRow(scenario, version, warnings))
    return rows


def scenario(scope: Scope, public_id: str) -> Scenario | None:
    return db.session.scalar(
        scoped_select(Scenario, scope).options(_with_versions()).where(Scenario.public_id == public_id)
    )


def competencies(scope: Scope) -> list[Competency]:
    return list(db.session.scalars(scoped_select(Competency, scope).order_by(Competency.position, Competency.name)))


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
