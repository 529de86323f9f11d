"""Builders for the privacy tests: a candidate with a row in every table that can hold something about them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Flask
from sqlalchemy import select

from assessments.models import (
    Answer,
    AnswerEvent,
    Assessment,
    Attempt,
    Decision,
    DecisionOutcome,
    DemographicResponse,
    IntegrityEvent,
    Invitation,
    InviteBatch,
)
from candidates.models import Candidate, CandidateEducation, CandidateExperience, CandidateLanguage, CandidateSkill
from database import db, unit_of_work
from mailer import queue_email
from reports.models import JobStatus, Report, ReportFile, ReportJob, ReportKind, ShareLink
from scenarios.models import Scenario
from tests.assessments.test_fit_adapter import NOW
from tests.conftest import Tenant
from tests.reports.test_views import Sitting, add_report, add_sitting
from webhooks import WebhookDelivery, WebhookEndpoint


@dataclass
class Person:
    """A seeded candidate: the strings that must vanish with them."""

    name: str
    email: str
    candidate: str
    invitation: str
    attempt: str
    report: str
    sitting: Sitting


def unique_name(first: str) -> str:
    return f"{first} Quillfeather{uuid.uuid4().hex[:8]}"


def _file(agency_id: int, kind: ReportKind, text: str) -> ReportFile:
    pdf = f"%PDF-1.7 {text}".encode()
    return ReportFile(
        agency_id=agency_id,
        content_hash=uuid.uuid4().hex,
        kind=kind,
        pdf=pdf,
        sha256=uuid.uuid4().hex,
        pages=1,
        size=len(pdf),
        render_ms=1,
        created_at=NOW,
    )


def seed_person(app: Flask, tenant: Tenant, first: str) -> Person:
    """A submitted candidate with profile rows, answers, events, demographics, a decision, a released report
    with a cached PDF, a share link, the position's shortlist PDF, emails, a webhook delivery and a bulk row."""
    name = unique_name(first)
    sitting = add_sitting(app, tenant, name)
    report_id = add_report(app, sitting, notes=f"Interviewed {name} on Monday")
    with app.app_context(), unit_of_work():
        invitation = db.session.scalars(select(Invitation).where(Invitation.public_id == sitting.invitation)).one()
        candidate = invitation.candidate
        attempt = invitation.attempt
        assert attempt is not None
        report = db.session.scalars(select(Report).where(Report.public_id == report_id)).one()
        agency_id = candidate.agency_id
        version = db.session.scalars(select(Scenario).where(Scenario.public_id == tenant.scenario_id)).one().latest
        attempt.item_order = [version.id]
        candidate.skills = [CandidateSkill(given_name=f"{name} bookkeeping", level=3)]
        candidate.education = [CandidateEducation(isced_level=4, field="Accounting", institution="Night school")]
        candidate.experience = [CandidateExperience(role="Clerk", employer="Acme", start_date=date(2020, 1, 1))]
        candidate.languages = [CandidateLanguage(language="Welsh", fluency="B2")]
        db.session.add(
            Answer(attempt_id=attempt.id, version_id=version.id, answer={"choice": "A"}, revision=2, saved_at=NOW)
        )
        db.session.add(
            AnswerEvent(
                attempt_id=attempt.id,
                version_id=version.id,
                revision=1,
                answer={"choice": "B"},
                saved_at=NOW,
                channel="autosave",
            )
        )
        db.session.add(
            DemographicResponse(attempt_id=attempt.id, sex="female", race_ethnicity="white", recorded_at=NOW)
        )
        db.session.add(IntegrityEvent(attempt_id=attempt.id, kind="paste", item_number=1, occurred_at=NOW))
        assessment = db.session.get_one(Assessment, invitation.assessment_id)
        db.session.add(
            Decision(
                agency_id=agency_id,
                position_id=assessment.position_id,
                candidate_id=candidate.id,
                outcome=DecisionOutcome.ADVANCE,
                reason=f"{name} was strong",
                decided_at=NOW,
            )
        )
        dossier = _file(agency_id, ReportKind.DOSSIER, name)
        shortlist = _file(agency_id, ReportKind.SHORTLIST, f"shortlist with {name}")
        db.session.add_all([dossier, shortlist])
        db.session.flush()
        for kind, file, for_report in (
            (ReportKind.DOSSIER, dossier, report.id),
            (ReportKind.SHORTLIST, shortlist, None),
        ):
            db.session.add(
                ReportJob(
                    agency_id=agency_id,
                    client_id=invitation.client_id,
                    kind=kind,
                    report_id=for_report,
                    position_id=assessment.position_id,
                    status=JobStatus.DONE,
                    context_hash=file.content_hash,
                    file_id=file.id,
                    queued_at=NOW,
                )
            )
        db.session.add(
            ShareLink(
                agency_id=agency_id,
                client_id=invitation.client_id,
                report_id=report.id,
                expires_at=NOW + timedelta(days=7),
                created_at=NOW,
            )
        )
        invitation.email_message = queue_email(
            to=candidate.email,
            template="password_reset",
            values={"name": name, "link": "https://example.invalid/i", "minutes": "30"},
            now=NOW,
            agency_id=agency_id,
        )
        queue_email(
            to=candidate.email.upper(),
            template="password_reset",
            values={"name": name, "link": "https://example.invalid/r", "minutes": "30"},
            now=NOW,
            agency_id=agency_id,
        )
        endpoint = WebhookEndpoint(
            agency_id=agency_id, url="https://ats.example.com/h", secret="whsec_x", created_at=NOW
        )
        db.session.add(endpoint)
        db.session.flush()
        db.session.add(
            WebhookDelivery(
                agency_id=agency_id,
                endpoint_id=endpoint.id,
                event_type="result.released",
                event_id=uuid.uuid4().hex,
                body=f'{{"candidate_id":"{candidate.public_id}","invitation_id":"{invitation.public_id}"}}',
                next_attempt_at=NOW,
                created_at=NOW,
            )
        )
        db.session.add(
            InviteBatch(
                agency_id=agency_id,
                client_id=invitation.client_id,
                assessment_id=assessment.id,
                status="running",
                rows=[
                    {"line": 2, "name": name, "email": candidate.email},
                    {"line": 3, "name": "Other", "email": "o@x.org"},
                ],
                rejected=[{"line": 4, "name": name, "email": candidate.email, "reason": "repeated", "merged": True}],
                total_rows=2,
                created_at=NOW,
            )
        )
        return Person(
            name=name,
            email=candidate.email,
            candidate=candidate.public_id,
            invitation=invitation.public_id,
            attempt=attempt.public_id,
            report=report.public_id,
            sitting=sitting,
        )


def candidate_by(public_id: str) -> Candidate | None:
    return db.session.scalar(select(Candidate).where(Candidate.public_id == public_id))


def add_candidate_at(
    tenant: Tenant,
    name: str,
    *,
    created: datetime,
    submitted: datetime | None = None,
    expires: datetime | None = None,
    hold: bool = False,
) -> str:
    """A candidate created at `created`; with `expires`, an invitation (submitted at `submitted`, or never started)."""
    from accounts.models import Agency

    agency = db.session.scalars(select(Agency).where(Agency.public_id == tenant.agency_id)).one()
    candidate = Candidate(
        agency_id=agency.id,
        name=name,
        email=f"{name.lower().replace(' ', '.')}@example.org",
        created_at=created,
        legal_hold=hold,
        legal_hold_reason="Tribunal claim" if hold else "",
    )
    db.session.add(candidate)
    if expires is not None:
        assessment = db.session.scalars(select(Assessment).where(Assessment.public_id == tenant.assessment_id)).one()
        invitation = Invitation(
            agency_id=agency.id,
            client_id=assessment.client_id,
            assessment=assessment,
            candidate=candidate,
            expires_at=expires,
            created_at=created,
        )
        db.session.add(invitation)
        if submitted is not None:
            db.session.add(
                Attempt(
                    invitation=invitation,
                    agency_id=agency.id,
                    started_at=submitted - timedelta(minutes=30),
                    submitted_at=submitted,
                    item_order=[],
                )
            )
    db.session.flush()
    return candidate.public_id
