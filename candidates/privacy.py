"""Candidates' privacy rights: erasure on request, a legal hold that blocks it, retention per agency, export.

Erasure deletes the candidate and every row about them: profile rows, invitations, attempts and everything
under them, decisions, reports with their render jobs, share links and cached PDFs (a shortlist that
includes them too: it is rendered again without them), the emails sent to them, the webhook deliveries that
name their ids, and their rows in bulk invitations. The audit log keeps its random ids (DECISIONS.md,
"Privacy and logs") and records the erasure with the candidate's public id only.

Retention (DECISIONS.md): a candidate's last activity is the latest submission, or the expiry of an
invitation never started; a candidate with no invitation counts from when the record was created. A later
change to the profile counts too. Once the agency's retention period (calendar months) has passed since the
last activity, and no invitation is still open and no legal hold is set, the candidate is erased.
"""

from __future__ import annotations

import calendar
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import selectinload

from accounts import audit
from accounts.models import Agency, User
from assessments import invitations as invitation_service
from assessments.models import (
    Answer,
    AnswerEvent,
    Assessment,
    Attempt,
    AttemptResult,
    ConsentRecord,
    Decision,
    DemographicResponse,
    IntegrityEvent,
    Invitation,
    InviteBatch,
)
from candidates.models import Candidate
from database import db, unit_of_work
from mailer import EmailMessage
from positions.models import Position
from reports.models import Report, ReportFile, ReportJob, ReportKind, ShareLink
from webhooks import WebhookDelivery

log = logging.getLogger(__name__)

LEGAL_HOLD_REASON_MAX = 200
RETENTION_BATCH = 100
ERASED = "[erased]"


class PrivacyError(Exception):
    """A privacy action was refused; the message is safe to show."""


class LegalHoldError(PrivacyError):
    """The candidate is on legal hold: nothing about them may be erased until an admin clears it."""


# --- Legal hold -------------------------------------------------------------------------------------


def set_legal_hold(candidate: Candidate, *, hold: bool, reason: str, by: User, now: datetime) -> None:
    """Set (with a reason of 1-200 characters) or clear a legal hold, audited; raises PrivacyError."""
    reason = " ".join(reason.split())
    if hold and not reason:
        raise PrivacyError("Give the reason for the legal hold.")
    if len(reason) > LEGAL_HOLD_REASON_MAX:
        raise PrivacyError(f"Keep the reason to {LEGAL_HOLD_REASON_MAX} characters.")
    candidate.legal_hold = hold
    candidate.legal_hold_reason = reason if hold else ""
    audit.record(
        "candidate.legal_hold_set" if hold else "candidate.legal_hold_cleared",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="candidate",
        object_public_id=candidate.public_id,
    )


# --- Consent ---------------------------------------------------------------------------------------

WITHDRAWAL_NOTE_MAX = 200


def consent_records(candidate: Candidate) -> list[ConsentRecord]:
    """The candidate's consent records, oldest first, with their invitations and attempts."""
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.candidate_id == candidate.id)
            .options(selectinload(ConsentRecord.invitation).selectinload(Invitation.attempt))
            .order_by(ConsentRecord.given_at, ConsentRecord.id)
        )
    )


def withdraw_consent(record: ConsentRecord, *, note: str, by: User, now: datetime) -> None:
    """Record that the candidate withdrew their consent (they told the agency); an unfinished invitation
    stops working at once. Answers already submitted stay until erased: withdrawal does not erase."""
    if record.withdrawn_at is not None:
        raise PrivacyError("This consent has already been withdrawn.")
    note = note.strip()
    if len(note) > WITHDRAWAL_NOTE_MAX:
        raise PrivacyError(f"Keep the note to {WITHDRAWAL_NOTE_MAX} characters.")
    record.withdrawn_at = now
    record.withdrawal_note = note or None
    invitation = record.invitation
    if invitation is not None and (invitation.attempt is None or invitation.attempt.submitted_at is None):
        invitation_service.revoke(invitation, by=by, now=now)
    audit.record(
        "consent.withdrawn",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="consent",
        object_public_id=record.public_id,
    )


# --- Erasure ----------------------------------------------------------------------------------------


def erase_candidate(candidate: Candidate, *, by: User | None, now: datetime, cause: str = "request") -> None:
    """Delete the candidate and everything about them, in the open unit of work; raises LegalHoldError.

    ``cause`` is "request" (an admin acting on the candidate's request) or "retention" (by=None).
    """
    if candidate.legal_hold:
        raise LegalHoldError("This candidate is on legal hold: clear the hold before erasing their data.")
    session = db.session
    agency = session.get_one(Agency, candidate.agency_id)
    invitations = session.execute(
        select(Invitation.id, Invitation.public_id, Invitation.email_message_id, Assessment.position_id)
        .join(Assessment, Assessment.id == Invitation.assessment_id)
        .where(Invitation.candidate_id == candidate.id)
    ).all()
    invitation_ids = [row.id for row in invitations]
    attempts = session.execute(
        select(Attempt.id, Attempt.public_id).where(Attempt.invitation_id.in_(invitation_ids))
    ).all()
    attempt_ids = [row.id for row in attempts]
    reports = session.execute(select(Report.id, Report.public_id).where(Report.invitation_id.in_(invitation_ids))).all()
    report_ids = [row.id for row in reports]
    decided_positions = session.scalars(select(Decision.position_id).where(Decision.candidate_id == candidate.id))
    position_ids = {row.position_id for row in invitations} | set(decided_positions)

    # Render jobs of their reports, and of the shortlists of their positions (rendered again without them).
    job_filter = or_(
        ReportJob.report_id.in_(report_ids),
        (ReportJob.kind == ReportKind.SHORTLIST) & ReportJob.position_id.in_(position_ids),
    )
    file_ids = set(session.scalars(select(ReportJob.file_id).where(job_filter, ReportJob.file_id.is_not(None))))
    session.execute(delete(ShareLink).where(ShareLink.report_id.in_(report_ids)))
    session.execute(delete(ReportJob).where(job_filter))
    session.execute(delete(ReportFile).where(ReportFile.id.in_(file_ids)))
    session.execute(delete(Report).where(Report.id.in_(report_ids)))

    for model in (Answer, AnswerEvent, AttemptResult, DemographicResponse, IntegrityEvent):
        session.execute(delete(model).where(model.attempt_id.in_(attempt_ids)))
    session.execute(delete(Attempt).where(Attempt.id.in_(attempt_ids)))
    session.execute(delete(Decision).where(Decision.candidate_id == candidate.id))
    session.execute(delete(ConsentRecord).where(ConsentRecord.candidate_id == candidate.id))
    session.execute(delete(Invitation).where(Invitation.id.in_(invitation_ids)))

    # The outbox: every email sent to them (invitations, reminders, anything else to their address).
    message_ids = {row.email_message_id for row in invitations if row.email_message_id is not None}
    address = candidate.email.lower()
    session.execute(
        delete(EmailMessage).where(
            or_(
                EmailMessage.id.in_(message_ids),
                (EmailMessage.agency_id == agency.id) & (func.lower(EmailMessage.to_address) == address),
            )
        )
    )

    named_ids = [candidate.public_id, *(r.public_id for r in invitations), *(r.public_id for r in attempts)]
    named_ids += [r.public_id for r in reports]
    session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.agency_id == agency.id,
            or_(*(WebhookDelivery.body.contains(public_id, autoescape=True) for public_id in named_ids)),
        )
    )
    _remove_from_batches(agency.id, address)

    public_id = candidate.public_id
    session.delete(candidate)  # its profile rows go with it (ORM cascade, and ON DELETE CASCADE)
    session.flush()
    audit.record(
        "candidate.erased",
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id if by else None,
        object_type="candidate",
        object_public_id=public_id,
        details={"cause": cause},
    )


def _remove_from_batches(agency_id: int, address: str) -> None:
    """Drop the address's rows still to send from bulk invitations, and blank it in their rejected rows."""
    batches = db.session.scalars(select(InviteBatch).where(InviteBatch.agency_id == agency_id))
    for batch in batches:
        rows = [row for row in batch.rows if str(row.get("email", "")).lower() != address]
        rejected = [
            {**row, "name": ERASED, "email": ERASED} if str(row.get("email", "")).lower() == address else row
            for row in batch.rejected
        ]
        if len(rows) != len(batch.rows):
            batch.total_rows -= len(batch.rows) - len(rows)
            batch.rows = rows
        if rejected != batch.rejected:
            batch.rejected = rejected


# --- Retention --------------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the month's last day when it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DueCandidate:
    """A candidate whose retention period has passed: ids only, never a name."""

    candidate_id: int
    candidate_public_id: str
    agency_id: int
    last_activity: datetime
    reason: str  # "submission", "invitation expired unstarted", "invitation ended", "profile only"


def _last_activity(candidate: Candidate, invitations: Sequence[Invitation]) -> tuple[datetime, str]:
    """When the candidate was last active, and which event that was."""
    moments: list[tuple[datetime, str]] = [(candidate.created_at, "profile only")]
    if candidate.profile_updated_at is not None:
        moments.append((candidate.profile_updated_at, "profile only"))
    for invitation in invitations:
        attempt = invitation.attempt
        if attempt is None:
            moments.append((invitation.expires_at, "invitation expired unstarted"))
        elif attempt.submitted_at is not None:
            moments.append((attempt.submitted_at, "submission"))
        else:  # begun and never submitted: counted from the end of the invitation or of the sitting
            moments.append((max(invitation.expires_at, attempt.deadline or attempt.started_at), "invitation ended"))
    return max(moments, key=lambda moment: moment[0])


def _open(invitation: Invitation, now: datetime) -> bool:
    """Still in use: not revoked, not submitted, and the invitation or a begun sitting has not run out."""
    if invitation.revoked_at is not None:
        return False
    attempt = invitation.attempt
    if attempt is not None and attempt.submitted_at is not None:
        return False
    running = attempt is not None and attempt.deadline is not None and attempt.deadline > now
    return invitation.expires_at > now or running


def due_reason(
    candidate: Candidate, invitations: Sequence[Invitation], months: int, now: datetime
) -> DueCandidate | None:
    """The candidate's retention verdict: a DueCandidate when they are due for erasure now, else None."""
    if candidate.legal_hold or any(_open(invitation, now) for invitation in invitations):
        return None
    last, reason = _last_activity(candidate, invitations)
    if add_months(last, months) >= now:
        return None
    return DueCandidate(candidate.id, candidate.public_id, candidate.agency_id, last, reason)


def _invitations_of(candidate_ids: Sequence[int]) -> dict[int, list[Invitation]]:
    found: dict[int, list[Invitation]] = {candidate_id: [] for candidate_id in candidate_ids}
    rows = db.session.scalars(
        select(Invitation).where(Invitation.candidate_id.in_(candidate_ids)).options(selectinload(Invitation.attempt))
    )
    for invitation in rows:
        found[invitation.candidate_id].append(invitation)
    return found


def due_for_erasure(now: datetime) -> list[DueCandidate]:
    """Every candidate, in every agency, whose retention period has passed (not on hold, nothing open)."""
    due: list[DueCandidate] = []
    for agency in db.session.scalars(select(Agency).order_by(Agency.id)):
        # Last activity is never before creation, and a month is at least 28 days: a safe first cut.
        cut = now - timedelta(days=28 * agency.retention_months)
        candidates = list(
            db.session.scalars(
                select(Candidate)
                .where(Candidate.agency_id == agency.id, Candidate.created_at < cut, Candidate.legal_hold.is_(False))
                .order_by(Candidate.id)
            )
        )
        for start in range(0, len(candidates), RETENTION_BATCH):
            chunk = candidates[start : start + RETENTION_BATCH]
            invitations = _invitations_of([candidate.id for candidate in chunk])
            for candidate in chunk:
                verdict = due_reason(candidate, invitations[candidate.id], agency.retention_months, now)
                if verdict is not None:
                    due.append(verdict)
    return due


@dataclass
class AgencyRetention:
    """One agency's line of the retention report: how many candidates are due, why, and what was done."""

    agency_public_id: str
    agency_name: str
    retention_months: int
    due: Counter[str] = field(default_factory=Counter)
    erased: int = 0
    failed: int = 0


@dataclass
class RetentionReport:
    dry_run: bool
    agencies: list[AgencyRetention]

    @property
    def due(self) -> int:
        return sum(sum(line.due.values()) for line in self.agencies)

    @property
    def erased(self) -> int:
        return sum(line.erased for line in self.agencies)

    @property
    def failed(self) -> int:
        return sum(line.failed for line in self.agencies)

    def lines(self) -> list[str]:
        """The report as text, counts only (never a name)."""
        verb = "would be erased" if self.dry_run else "erased"
        out = []
        for line in self.agencies:
            total = sum(line.due.values())
            why = ", ".join(f"{count} {reason}" for reason, count in sorted(line.due.items())) or "none due"
            done = "" if self.dry_run else f"; {line.erased} erased, {line.failed} failed"
            out.append(
                f"{line.agency_name} ({line.agency_public_id}), {line.retention_months} months: "
                f"{total} {verb if self.dry_run else 'due'} ({why}){done}"
            )
        out.append(f"{'Dry run: ' if self.dry_run else ''}{self.due} due in all, {self.erased} erased.")
        return out


def enforce_retention(now: datetime, *, dry_run: bool) -> RetentionReport:
    """Erase every candidate due (one unit of work each, so one failure leaves the others); report per agency.

    With dry_run nothing is written. Run it outside any unit of work.
    """
    lines = {
        agency.id: AgencyRetention(agency.public_id, agency.name, agency.retention_months)
        for agency in db.session.scalars(select(Agency).order_by(Agency.id))
    }
    due = due_for_erasure(now)
    for item in due:
        lines[item.agency_id].due[item.reason] += 1
    if dry_run:
        db.session.rollback()
        return RetentionReport(dry_run=True, agencies=list(lines.values()))
    for item in due:
        line = lines[item.agency_id]
        try:
            with unit_of_work():
                candidate = db.session.get(Candidate, item.candidate_id)
                if candidate is None:
                    continue  # erased meanwhile
                invitations = _invitations_of([candidate.id])[candidate.id]
                if due_reason(candidate, invitations, line.retention_months, now) is None:
                    continue  # put on hold or invited again meanwhile
                erase_candidate(candidate, by=None, now=now, cause="retention")
            line.erased += 1
        except Exception:
            line.failed += 1
            log.exception("retention: erasing candidate %s failed", item.candidate_public_id)
    return RetentionReport(dry_run=False, agencies=list(lines.values()))


# --- Export -----------------------------------------------------------------------------------------


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def export_candidate(candidate: Candidate, *, by: User, now: datetime) -> dict[str, Any]:
    """Everything held about one candidate, as JSON-ready data; audited in the open unit of work.

    Never another candidate's data, never scoring keys or rationales, never the legal-hold reason.
    """
    session = db.session
    invitations = list(
        session.scalars(
            select(Invitation)
            .where(Invitation.candidate_id == candidate.id)
            .options(selectinload(Invitation.attempt), selectinload(Invitation.email_message))
            .order_by(Invitation.created_at, Invitation.id)
        )
    )
    out_invitations = [_export_invitation(invitation, now) for invitation in invitations]
    decisions = session.execute(
        select(Decision, Position.title)
        .join(Position, Position.id == Decision.position_id)
        .where(Decision.candidate_id == candidate.id)
        .order_by(Decision.decided_at, Decision.id)
    ).all()
    message_ids = {invitation.email_message_id for invitation in invitations if invitation.email_message_id}
    emails = session.scalars(
        select(EmailMessage)
        .where(
            or_(
                EmailMessage.id.in_(message_ids),
                (EmailMessage.agency_id == candidate.agency_id)
                & (func.lower(EmailMessage.to_address) == candidate.email.lower()),
            )
        )
        .order_by(EmailMessage.created_at, EmailMessage.id)
    )
    audit.record(
        "candidate.exported",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="candidate",
        object_public_id=candidate.public_id,
    )
    return {
        "exported_at": now.isoformat(),
        "candidate": {
            "id": candidate.public_id,
            "name": candidate.name,
            "email": candidate.email,
            "headline": candidate.headline,
            "created_at": _when(candidate.created_at),
            "profile_updated_at": _when(candidate.profile_updated_at),
        },
        "skills": [
            {
                "skill": row.given_name,
                "vocabulary_key": row.skill_key,
                "level": row.level,
                "evidence_type": row.evidence_type,
                "evidence": row.evidence,
                "source": row.source,
            }
            for row in candidate.skills
        ],
        "education": [
            {
                "isced_level": row.isced_level,
                "field": row.field,
                "institution": row.institution,
                "year": row.year,
                "as_written": row.original_text,
                "source": row.source,
            }
            for row in candidate.education
        ],
        "experience": [
            {
                "role": row.role,
                "employer": row.employer,
                "occupation_uri": row.occupation_uri,
                "industry": row.industry,
                "start_date": row.start_date.isoformat(),
                "end_date": row.end_date.isoformat() if row.end_date else None,
                "fte": row.fte,
                "responsibilities": row.responsibilities,
                "source": row.source,
            }
            for row in candidate.experience
        ],
        "languages": [
            {"language": row.language, "fluency": row.fluency, "source": row.source} for row in candidate.languages
        ],
        "invitations": out_invitations,
        "consents": [
            {
                "id": record.public_id,
                "purpose": record.purpose,
                "invitation": record.invitation.public_id if record.invitation else None,
                "given_at": _when(record.given_at),
                "statement": record.statement,
                "statement_sha256": record.statement_digest,
                "withdrawn_at": _when(record.withdrawn_at),
                "withdrawal_note": record.withdrawal_note,
            }
            for record in consent_records(candidate)
        ],
        "decisions": [
            {
                "position": title,
                "outcome": decision.outcome.value,
                "reason": decision.reason,
                "against_evidence": decision.against_evidence,
                "decided_at": _when(decision.decided_at),
            }
            for decision, title in decisions
        ],
        "emails": [
            {
                "subject": message.subject,
                "to": message.to_address,
                "status": message.status.value,
                "queued_at": _when(message.created_at),
                "sent_at": _when(message.sent_at),
            }
            for message in emails
        ],
    }


def _export_invitation(invitation: Invitation, now: datetime) -> dict[str, Any]:
    session = db.session
    assessment = invitation.assessment
    attempt = invitation.attempt
    report = session.scalar(select(Report).where(Report.invitation_id == invitation.id))
    return {
        "id": invitation.public_id,
        "assessment": assessment.title,
        "position": assessment.position.title,
        "status": invitation.status(now).value,
        "invited_at": _when(invitation.created_at),
        "expires_at": _when(invitation.expires_at),
        "revoked_at": _when(invitation.revoked_at),
        "consent_at": _when(invitation.consent_at),
        "extra_time_percent": invitation.extra_time_percent,
        "reminders_sent": invitation.reminders_sent,
        "attempt": _export_attempt(attempt) if attempt is not None else None,
        "report": None
        if report is None
        else {
            "id": report.public_id,
            "created_at": _when(report.created_at),
            "released_at": _when(report.released_at),
            "withdrawn_at": _when(report.withdrawn_at),
            "notes": report.notes,
        },
    }


def _export_attempt(attempt: Attempt) -> dict[str, Any]:
    session = db.session
    item_of = {version_id: number for number, version_id in enumerate(attempt.item_order, start=1)}
    events = session.scalars(select(AnswerEvent).where(AnswerEvent.attempt_id == attempt.id).order_by(AnswerEvent.id))
    results = session.scalars(
        select(AttemptResult).where(AttemptResult.attempt_id == attempt.id).order_by(AttemptResult.id)
    )
    demographic = session.scalar(select(DemographicResponse).where(DemographicResponse.attempt_id == attempt.id))
    integrity = session.scalars(
        select(IntegrityEvent).where(IntegrityEvent.attempt_id == attempt.id).order_by(IntegrityEvent.id)
    )
    return {
        "id": attempt.public_id,
        "started_at": _when(attempt.started_at),
        "deadline": _when(attempt.deadline),
        "submitted_at": _when(attempt.submitted_at),
        "finalised_by": attempt.finalised_by,
        "answers": [
            {
                "item": item_of.get(answer.version_id),
                "answer": answer.answer,
                "revision": answer.revision,
                "saved_at": _when(answer.saved_at),
            }
            for answer in sorted(attempt.answers, key=lambda a: item_of.get(a.version_id, 0))
        ],
        "answer_history": [
            {
                "item": item_of.get(event.version_id),
                "answer": event.answer,
                "revision": event.revision,
                "saved_at": _when(event.saved_at),
                "channel": event.channel,
            }
            for event in events
        ],
        "results": [_export_result(result) for result in results],
        "demographics": None
        if demographic is None
        else {
            "sex": demographic.sex,
            "race_ethnicity": demographic.race_ethnicity,
            "recorded_at": _when(demographic.recorded_at),
        },
        "integrity_events": [
            {
                "kind": event.kind,
                "item": event.item_number,
                "occurred_at": _when(event.occurred_at),
                "seconds": event.seconds,
            }
            for event in integrity
        ],
    }


def _export_result(result: AttemptResult) -> dict[str, Any]:
    """Scores and their versions; the item-level detail (which reflects the keys) stays out."""
    rows = result.detail.get("competencies")
    competencies = [
        {"competency": row.get("name"), "code": row.get("code"), "score": row.get("raw"), "items": row.get("items")}
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict)
    ]
    return {
        "score_version": result.score_version,
        "algorithm_version": result.algorithm_version,
        "overall": result.overall_pomp,
        "competencies": competencies,
        "computed_at": _when(result.computed_at),
    }
