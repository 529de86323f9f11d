"""Builders for the report tests: a position with a job profile, an assessment of real published scenarios
that candidates take through delivery (so their scores are what scoring computes), a frozen norm table,
and report rows. ``build_world`` opens its own application context and unit of work; call the others inside
one.

The scenarios' stems, options and rationales carry markers (``qzstem``, ``qzoption``, ``qzrationale``) so a
test can prove that no item text ever reaches a report context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from flask import Flask
from sqlalchemy import func, select

from accounts.models import Agency, Role, User
from assessments import delivery
from assessments import services as builder
from assessments.models import Assessment, DemographicResponse, Invitation
from candidates.models import Candidate
from database import db, unit_of_work
from positions.models import Position
from reports import services as report_services
from reports.models import Report
from scenarios import services as bank
from scenarios.models import Instruction, KeyType, ResponseFormat, Status
from tests.assessments.test_fit_adapter import (
    NOW,
    add_candidate,
    agency_of,
    competency,
    invite,
    worked_candidate,
    worked_position,
)
from tests.assessments.test_results import freeze, reliability
from tests.conftest import Tenant
from tests.reports.pdftools import pdf_text

KEY: Final = (5.6, 1.4, 2.5, 3.4)
GOOD: Final = (6, 1, 3, 3)  # close to the key
POOR: Final = (1, 6, 4, 2)  # far from it

# (situation type, competency weights) of the six items, in the assessment's order. Professionalism and
# collaboration each have 4 items of weight 1 (they meet the minimum content rule); client focus has one
# item of weight 0.5, so it is too thin to report.
ITEMS: Final = (
    ("S07", {"professionalism": 1.0}),
    ("S02", {"professionalism": 1.0}),
    ("S12", {"professionalism": 1.0, "collaboration": 1.0}),
    ("S07", {"professionalism": 1.0, "collaboration": 1.0}),
    ("S03", {"collaboration": 1.0}),
    ("S10", {"collaboration": 1.0, "client_focus": 0.5}),
)
MARKERS: Final = ("qzstem", "qzoption", "qzrationale", "qzrolecontext")
NORM_LABEL: Final = "Payroll applicants 2026"
SEX, RACE = "Qzsexcanary", "Qzracecanary"  # demographic answers no report may read
# Answer patterns: Ada is strong on professionalism and weak on collaboration, Ben the other way round.
PATTERNS: Final = {"Ada Able": "GGGPPP", "Ben Bold": "PPPGGG"}


def admin_of(agency: Agency) -> User:
    return db.session.scalars(select(User).where(User.agency_id == agency.id, User.role == Role.ADMIN)).first()  # type: ignore[return-value]


def _scenario(agency: Agency, code: str, n: int, situation: str, weights: dict[str, float]) -> Any:
    data = bank.ScenarioInput(
        role="payroll",
        role_context=f"qzrolecontext{n}: payroll officer at the monthly cut-off.",
        situation_type=situation,
        stem=f"qzstem{n}: a team leader asks for a pay change without the signed form, an hour before cut-off.",
        instruction=Instruction.SHOULD_DO,
        response_format=ResponseFormat.RATE,
        options=tuple(
            bank.OptionInput(label, f"qzoption{n}{label}: response {label}.", f"qzrationale{n}{label}: why {label}.")
            for label in "ABCD"
        ),
        weights=weights,
        provenance_author="Report test author",
        provenance_source="Report tests",
        provenance_date=NOW.date(),
        key_type=KeyType.PROVISIONAL_SINGLE_AUTHOR,
    )
    scenario = bank.create_scenario(agency, code, data, by=None, now=NOW)
    ratings = {label: [("Author", value)] for label, value in zip("ABCD", KEY, strict=True)}
    bank.set_ratings(scenario.latest, ratings, KeyType.PROVISIONAL_SINGLE_AUTHOR, by=None, now=NOW)
    bank.publish(scenario.latest, Status.OPERATIONAL, by=None, now=NOW)
    return scenario


def published_assessment(position: Position, *, title: str = "Payroll SJT") -> Assessment:
    """The six ITEMS as a published assessment reporting professionalism and collaboration, then client focus.

    Client focus is added to the reported competencies after publishing: publishing refuses a thin competency,
    but a report must still cope with one (it is listed as not reported).
    """
    agency = db.session.get_one(Agency, position.agency_id)
    admin = admin_of(agency)
    assessment = builder.create_assessment(position, title, by=admin, now=NOW)
    for n, (situation, weights) in enumerate(ITEMS, start=1):
        scenario = _scenario(agency, f"RPT-{n}", n, situation, weights)
        builder.add_item(assessment, scenario.latest, by=admin, now=NOW)
    # Given in reverse: the report must follow the competencies' own order, not this list's.
    assessment.reported = [competency(agency, "collaboration"), competency(agency, "professionalism")]
    builder.publish(assessment, by=admin, now=NOW)
    assessment.reported.append(competency(agency, "client_focus"))
    db.session.flush()
    return assessment


def sit(
    assessment: Assessment,
    candidate: Candidate,
    pattern: str = "GGGGPP",
    *,
    demographics: tuple[str, str] | None = None,
) -> Invitation:
    """Invite the candidate and take the test through delivery: G (close to the key) or P per item; submitted
    at NOW after 20 minutes, and scored. ``demographics`` (sex, race/ethnicity) is stored as given."""
    invitation = invite(candidate, assessment.position, assessment=assessment)
    delivery.record_consent(invitation, 0, NOW - timedelta(minutes=21))
    attempt = delivery.start_attempt(invitation, NOW - timedelta(minutes=20))
    for version_id, choice in zip(attempt.item_order, pattern, strict=True):
        ratings = GOOD if choice == "G" else POOR
        answer = {"ratings": dict(zip("ABCD", ratings, strict=True))}
        delivery.save_answer(attempt, version_id, answer, 0, NOW - timedelta(minutes=10), "form")
    assert delivery.submit(attempt, NOW)
    if demographics is not None:
        db.session.add(
            DemographicResponse(
                attempt_id=attempt.id, sex=demographics[0], race_ethnicity=demographics[1], recorded_at=NOW
            )
        )
    db.session.flush()
    return invitation


def freeze_norms(assessment: Assessment, label: str = NORM_LABEL, n: int = 150) -> None:
    """A frozen norm table (mean 0.5, SD 0.15 on every scope) with reliabilities on 250 attempts (established)."""
    freeze(
        assessment,
        n=n,
        label=label,
        reliability={
            "overall": reliability(250, 0.85),
            "professionalism": reliability(250, 0.8),
            "collaboration": reliability(250, 0.8),
        },
    )


def report_of(invitation: Invitation) -> Report:
    return report_services.ensure_report(invitation, NOW)


def flat_text(pdf: bytes) -> str:
    """The PDF's text with every run of whitespace (line and column breaks included) as one space."""
    return " ".join(pdf_text(pdf).split())


@dataclass
class World:
    """Database ids of a built scene; ``reports`` and ``invitations`` by candidate name."""

    agency_id: int
    client_id: int
    position_id: int
    assessment_id: int
    reports: dict[str, int]
    invitations: dict[str, str] = field(default_factory=dict)


def build_world(
    app: Flask,
    tenant: Tenant,
    *,
    names: tuple[str, ...] = ("Ada Able", "Ben Bold"),
    norms: bool = True,
    released: tuple[str, ...] = (),
    title: str = "Payroll officer",
) -> World:
    """The worked position (§4.6's job profile) and the six-item assessment, taken by each named candidate, each
    with a report (``released`` ones released directly: no email, no render). "Ada Able" has a full profile,
    strong professionalism and weak collaboration, and stored demographic answers; everyone else has no
    profile. A frozen norm table when ``norms``."""
    with app.app_context(), unit_of_work():
        agency = agency_of(tenant)
        position = worked_position(agency, title=title)
        assessment = published_assessment(position)
        world = World(agency.id, position.client_id, position.id, assessment.id, {})
        for name in names:
            if name == "Ada Able":
                invitation = sit(assessment, worked_candidate(agency, name), PATTERNS[name], demographics=(SEX, RACE))
            else:
                invitation = sit(assessment, add_candidate(agency, name), PATTERNS.get(name, "GPGPGP"))
            report = report_of(invitation)
            if name in released:
                report.released_at = NOW
            world.reports[name] = report.id
            world.invitations[name] = invitation.public_id
        if norms:
            freeze_norms(assessment)
        return world


def count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0
