"""Inviting candidates to an assessment: invite, resend, revoke, and where each invitation stands."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from accounts import audit, tokens
from accounts.models import Actor, Agency, User
from accounts.services import normalise_email
from assessments.models import Assessment, Invitation, InvitationStatus
from candidates.models import Candidate
from database import db
from mailer import PLACEHOLDER, RenderedEmail, queue_email, render_email, render_text


class InvitationError(Exception):
    """A rule of invitations refused the request; the message is safe to show."""


def link_for(invitation: Invitation) -> str:
    """The candidate's link: built from the configured base URL, signing only opaque ids."""
    token = tokens.mint(tokens.INVITATION, {"i": invitation.public_id, "v": invitation.token_version})
    return f"{current_app.config['BASE_URL']}/t/{token}"


INVITATION_PLACEHOLDERS = ("name", "agency", "client", "position", "link", "expires", "length")
SAMPLE_VALUES = {
    "name": "Sam Example",
    "agency": "Your agency",
    "client": "Client company",
    "position": "Accounts payable clerk",
    "link": "https://rapport.example/t/sample-link",
    "expires": "30 November 2026, 17:00 UTC",
    "length": "The test takes up to 40 minutes.",
}


def template_problems(subject: str, body: str) -> list[str]:
    """What is wrong with an agency's invitation email: unknown placeholders, or no {link}."""
    problems = []
    used = set(PLACEHOLDER.findall(subject)) | set(PLACEHOLDER.findall(body))
    unknown = sorted(used - set(INVITATION_PLACEHOLDERS))
    if unknown:
        problems.append(
            "Unknown placeholders: "
            + ", ".join(f"{{{u}}}" for u in unknown)
            + ". Use only "
            + ", ".join(f"{{{p}}}" for p in INVITATION_PLACEHOLDERS)
            + "."
        )
    if "{link}" not in body:
        problems.append("The email must contain {link}, or the candidate cannot open the test.")
    return problems


def preview_email(agency: Agency, subject: str | None = None, body: str | None = None) -> RenderedEmail:
    """The invitation email with sample values, as the agency's template (or the standard one) makes it."""
    values = {**SAMPLE_VALUES, "agency": agency.name}
    subject = agency.invitation_subject if subject is None else subject
    body = agency.invitation_body if body is None else body
    if subject and body:
        return render_text(subject, body, values)
    return render_email("invitation", values)


def save_template(agency: Agency, subject: str, body: str, *, by: User, now: datetime) -> None:
    """Set the agency's invitation email (empty both: back to the standard text). Raises InvitationError."""
    subject, body = subject.strip(), body.strip()
    if bool(subject) != bool(body):
        raise InvitationError("Write both the subject and the message, or leave both empty for the standard email.")
    problems = template_problems(subject, body) if subject else []
    if problems:
        raise InvitationError(" ".join(problems))
    agency.invitation_subject = subject or None
    agency.invitation_body = body or None
    audit.record(
        "agency.invitation_email_updated",
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id,
        object_type="agency",
        object_public_id=agency.public_id,
    )


def _send(invitation: Invitation, now: datetime, template: str = "invitation") -> None:
    assessment = invitation.assessment
    agency = db.session.get_one(Agency, invitation.agency_id)
    minutes = assessment.time_limit_minutes
    custom = None
    if template == "invitation" and agency.invitation_subject and agency.invitation_body:
        custom = (agency.invitation_subject, agency.invitation_body)
    invitation.email_message = queue_email(
        to=invitation.candidate.email,
        template=template,
        custom=custom,
        values={
            "name": invitation.candidate.name,
            "agency": agency.name,
            "client": assessment.position.client.name,
            "position": assessment.position.title,
            "link": link_for(invitation),
            "expires": f"{invitation.expires_at:%d %B %Y, %H:%M} UTC",
            "length": f"The test takes up to {minutes} minutes." if minutes else "The test has no time limit.",
        },
        now=now,
        agency_id=invitation.agency_id,
    )


def invite(assessment: Assessment, *, name: str, email: str, by: Actor, now: datetime) -> Invitation:
    """Invite one person (a candidate record is created or reused by email) and queue the email.

    Raises InvitationError when the assessment is not published or the person is already invited.
    """
    if not assessment.is_published:
        raise InvitationError("Publish the assessment before inviting candidates.")
    email = normalise_email(email)
    candidate = db.session.scalar(
        select(Candidate).where(Candidate.agency_id == assessment.agency_id, Candidate.email == email)
    )
    if candidate is None:
        candidate = Candidate(agency_id=assessment.agency_id, name=name.strip(), email=email, created_at=now)
        db.session.add(candidate)
        db.session.flush()
    elif db.session.scalar(
        select(Invitation.id).where(Invitation.assessment_id == assessment.id, Invitation.candidate_id == candidate.id)
    ):
        raise InvitationError(f"{email} is already invited to this assessment. Use resend instead.")
    invitation = Invitation(
        agency_id=assessment.agency_id,
        client_id=assessment.client_id,
        assessment=assessment,
        candidate=candidate,
        token_version=1,
        expires_at=now + timedelta(days=assessment.invitation_days),
        extra_time_percent=0,
        created_at=now,
    )
    db.session.add(invitation)
    db.session.flush()
    _send(invitation, now)
    _audit("invitation.created", invitation, by, now)
    return invitation


def resend(invitation: Invitation, *, by: User, now: datetime) -> None:
    """Send a new link (the old one stops working); an unstarted invitation gets a fresh expiry."""
    status = invitation.status(now)
    if status in (InvitationStatus.SUBMITTED, InvitationStatus.REVOKED):
        raise InvitationError(f"This invitation is {status.value}; it cannot be sent again.")
    invitation.token_version += 1
    if invitation.attempt is None:
        invitation.expires_at = max(invitation.expires_at, now + timedelta(days=invitation.assessment.invitation_days))
    _send(invitation, now)
    _audit("invitation.resent", invitation, by, now)


def revoke(invitation: Invitation, *, by: Actor, now: datetime) -> None:
    """Stop the invitation: its link no longer works. A submitted test cannot be revoked."""
    if invitation.attempt is not None and invitation.attempt.submitted_at is not None:
        raise InvitationError("This candidate has already submitted the test.")
    if invitation.revoked_at is None:
        invitation.revoked_at = now
        invitation.token_version += 1
        _audit("invitation.revoked", invitation, by, now)


MAX_REMINDERS = 3


def due_reminders(now: datetime) -> list[int]:
    """Ids of invitations owed a reminder now: not finished, not revoked, not expired, and the next
    reminder day of their assessment reached."""
    candidates = db.session.scalars(
        select(Invitation)
        .join(Invitation.assessment)
        .where(Invitation.revoked_at.is_(None), Invitation.expires_at > now, Invitation.reminders_sent < MAX_REMINDERS)
    )
    return [invitation.id for invitation in candidates if reminder_owed(invitation, now)]


def reminder_owed(invitation: Invitation, now: datetime) -> bool:
    """Whether this invitation is owed its next reminder now."""
    if invitation.revoked_at is not None or now >= invitation.expires_at:
        return False
    attempt = invitation.attempt
    if attempt is not None and attempt.submitted_at is not None:
        return False
    days = invitation.assessment.reminder_days or []
    sent = invitation.reminders_sent
    return sent < min(len(days), MAX_REMINDERS) and now >= invitation.created_at + timedelta(days=days[sent])


def send_reminder(invitation: Invitation, now: datetime) -> bool:
    """Email the next reminder if it is still owed; logged in the audit trail.

    The count is taken with a conditional UPDATE, so two runs at once (two consumers scheduling the
    periodic task) send one reminder, not two.
    """
    if not reminder_owed(invitation, now):
        return False
    sent = invitation.reminders_sent
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.reminders_sent == sent)
        .values(reminders_sent=sent + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    db.session.refresh(invitation)
    _send(invitation, now, template="invitation_reminder")
    audit.record(
        "invitation.reminded",
        now=now,
        agency_public_id=db.session.get_one(Agency, invitation.agency_id).public_id,
        object_type="invitation",
        object_public_id=invitation.public_id,
    )
    return True


def counts(invitations: list[Invitation], now: datetime) -> dict[InvitationStatus, int]:
    """How many invitations stand at each status."""
    tally = Counter(i.status(now) for i in invitations)
    return {status: tally.get(status, 0) for status in InvitationStatus}


def _audit(action: str, invitation: Invitation, by: Actor, now: datetime) -> None:
    audit.record(
        action,
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="invitation",
        object_public_id=invitation.public_id,
    )
