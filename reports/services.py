"""Report rules: notes, release and withdrawal, client notification, share links, views, portal listings.

Plain functions inside the caller's unit of work; every change is audited with random ids only. A pilot
assessment's results are never released. A share link's token signs its own public id and version; the
server-side row decides expiry and revocation, and the token names one report of one client.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

import webhooks
from accounts import audit, tokens
from accounts.models import Agency, Client, Role, Scope, User
from assessments.models import Assessment, Invitation
from database import db
from mailer import queue_email
from positions.models import Position
from reports import context as report_context
from reports import jobs
from reports.models import NOTES_MAX, Report, ReportJob, ReportKind, ShareLink

SHARE_LINK = tokens.Purpose("report-share-v1", 31 * 86400)
SHARE_DAYS_MAX: Final = 30


class ReportError(Exception):
    """A report rule refused the change; the message is safe to show."""


class LinkInvalid(Exception):
    """A share link that is malformed, tampered with, expired, revoked, or names a report no longer released."""


@dataclass(frozen=True)
class PortalReport:
    report: Report
    candidate_name: str
    assessment_title: str
    released_at: datetime


@dataclass(frozen=True)
class PortalPosition:
    position: Position
    reports: list[PortalReport]


@dataclass(frozen=True)
class Review:
    """What the recruiter's review page shows for one submitted candidate."""

    invitation: Invitation
    report: Report | None
    candidate_name: str
    position_title: str
    client_name: str
    assessment_title: str
    pilot: bool
    scored: bool
    can_release: bool
    blockers: tuple[str, ...]
    overall_text: str | None
    share_links: list[ShareLink]
    dossier_job: ReportJob | None
    feedback_job: ReportJob | None
    feedback_enabled: bool
    missing: tuple[str, ...]


def _audit(action: str, report: Report, *, by: User | None, now: datetime, object_type: str = "report") -> None:
    agency = db.session.get_one(Agency, report.agency_id)
    audit.record(
        action,
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id if by is not None else None,
        object_type=object_type,
        object_public_id=report.public_id,
    )


def report_for(invitation: Invitation) -> Report | None:
    return db.session.scalar(select(Report).where(Report.invitation_id == invitation.id))


def _scored(invitation: Invitation) -> bool:
    attempt = invitation.attempt
    if attempt is None or attempt.submitted_at is None:
        return False
    return report_context.current_result(invitation.assessment, attempt) is not None


def ensure_report(invitation: Invitation, now: datetime) -> Report:
    """The invitation's report, created on first use; only for a submitted, scored test (ReportError)."""
    report = report_for(invitation)
    if report is not None:
        return report
    _hold_invitation(invitation)
    report = report_for(invitation)  # made by a request that held the row first
    if report is not None:
        return report
    if not _scored(invitation):
        raise ReportError("There is no report yet: the candidate has not finished the test, or it is not scored.")
    report = _new_report(invitation, now)
    db.session.add(report)
    db.session.flush()
    return report


def _hold_invitation(invitation: Invitation) -> None:
    """Lock the invitation's row until commit, so that two first uses at once, from two web processes, do not both
    find no report and insert one each (the second insert fails on report.invitation_id's unique constraint). As
    jobs._hold_subject does; SQLite's writes are serial already."""
    locked = select(Invitation).where(Invitation.id == invitation.id).with_for_update()
    db.session.scalars(locked.execution_options(populate_existing=True)).one()


def _new_report(invitation: Invitation, now: datetime) -> Report:
    """A draft report for the invitation, not yet added to the session."""
    return Report(
        agency_id=invitation.agency_id,
        client_id=invitation.client_id,
        position_id=invitation.assessment.position_id,
        invitation_id=invitation.id,
        notes="",
        created_at=now,
        updated_at=now,
    )


def check_notes(notes: str) -> str:
    """The notes as stored: line endings normalised, control and text-direction characters removed (PostgreSQL
    refuses NUL, and the others would print garbled or reversed), line breaks and tabs kept; ReportError
    when they are too long."""
    text = "".join(
        char
        for char in notes.replace("\r\n", "\n").replace("\r", "\n")
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf", "Cs", "Co")
    ).strip()
    if len(text) > NOTES_MAX:
        raise ReportError(
            f"The notes are {len(text):,} characters long. The limit is {NOTES_MAX:,}: please shorten them."
        )
    return text


def save_notes(report: Report, notes: str, *, by: User, now: datetime) -> None:
    report.notes = check_notes(notes)
    report.updated_at = now
    _audit("report.notes_saved", report, by=by, now=now)


def release_blockers(invitation: Invitation, report: Report | None, *, scored: bool | None = None) -> tuple[str, ...]:
    """Why the report cannot be released now (nothing: it can); ``scored`` when the caller already knows it."""
    blockers = []
    if invitation.assessment.pilot:
        blockers.append("This is a pilot assessment: its results are never released to clients.")
    if not (_scored(invitation) if scored is None else scored):
        blockers.append("The candidate's test is not finished and scored.")
    if invitation.revoked_at is not None:
        blockers.append("The invitation was revoked.")
    if report is not None and report.is_released:
        blockers.append("The report is already released.")
    return tuple(blockers)


def release(report: Report, *, by: User, now: datetime, render: bool = True) -> None:
    """Release the report to its client: the client's users are emailed and (unless ``render`` is False: the
    first download then asks for it) the PDF is rendered."""
    invitation = db.session.get_one(Invitation, report.invitation_id)
    blockers = release_blockers(invitation, report)
    if blockers:
        raise ReportError(blockers[0])
    report.released_at = now
    report.released_by_id = by.id
    report.withdrawn_at = None
    report.updated_at = now
    _audit("report.released", report, by=by, now=now)
    _notify_client(report, invitation, now)
    invitation.updated_at = now  # its result_id changes in the API
    webhooks.queue_result_released(report, invitation, now)
    if render:
        jobs.request_render(ReportKind.DOSSIER, report=report, by=by, now=now)


def _notify_client(report: Report, invitation: Invitation, now: datetime) -> None:
    client = db.session.get_one(Client, report.client_id)
    agency = db.session.get_one(Agency, report.agency_id)
    position = db.session.get_one(Position, report.position_id)
    users = db.session.scalars(
        select(User).where(User.client_id == client.id, User.role == Role.CLIENT, User.is_active.is_(True))
    )
    link = current_app.config["BASE_URL"].rstrip("/") + "/portal"
    for user in users:
        queue_email(
            to=user.email,
            template="report_released",
            values={
                "name": user.name,
                "client": client.name,
                "position": position.title,
                "agency": agency.name,
                "link": link,
            },
            now=now,
            agency_id=agency.id,
        )


def withdraw(report: Report, *, by: User, now: datetime) -> None:
    """Take a released report back: the portal and every share link stop serving it."""
    if not report.is_released:
        raise ReportError("The report is not released.")
    report.withdrawn_at = now
    report.updated_at = now
    db.session.get_one(Invitation, report.invitation_id).updated_at = now  # its result_id changes in the API
    _audit("report.withdrawn", report, by=by, now=now)


# --- Share links ----------------------------------------------------------------------------------


def share_url(link: ShareLink) -> str:
    token = tokens.mint(SHARE_LINK, {"l": link.public_id, "v": link.token_version})
    return current_app.config["BASE_URL"].rstrip("/") + "/r/" + token


def create_share_link(report: Report, *, days: int, by: User, now: datetime) -> tuple[ShareLink, str]:
    """A link to the released report that works for ``days`` days (1-30) unless revoked first."""
    if not report.is_released:
        raise ReportError("Release the report before sharing it.")
    if not 1 <= days <= SHARE_DAYS_MAX:
        raise ReportError(f"Choose between 1 and {SHARE_DAYS_MAX} days.")
    link = ShareLink(
        agency_id=report.agency_id,
        client_id=report.client_id,
        report_id=report.id,
        token_version=1,
        expires_at=now + timedelta(days=days),
        views=0,
        created_by_id=by.id,
        created_at=now,
    )
    db.session.add(link)
    db.session.flush()
    _audit("share_link.created", report, by=by, now=now)
    return link, share_url(link)


def revoke_share_link(link: ShareLink, *, by: User, now: datetime) -> None:
    if link.revoked_at is None:
        link.revoked_at = now
        link.token_version += 1
    _audit("share_link.revoked", link.report, by=by, now=now)


def share_link_from_token(token: str, now: datetime) -> ShareLink:
    """The live link a token names; LinkInvalid for every kind of failure alike."""
    try:
        payload = tokens.read(SHARE_LINK, token)
    except tokens.InvalidToken:
        raise LinkInvalid from None
    link = db.session.scalar(select(ShareLink).where(ShareLink.public_id == str(payload.get("l"))))
    if link is None or link.token_version != payload.get("v") or not link.live(now):
        raise LinkInvalid
    report = db.session.get(Report, link.report_id)
    if report is None or not report.is_released or report.client_id != link.client_id:
        raise LinkInvalid
    if db.session.get_one(Assessment, db.session.get_one(Invitation, report.invitation_id).assessment_id).pilot:
        raise LinkInvalid
    return link


def record_view(
    report: Report, *, via: str, now: datetime, actor: User | None = None, link: ShareLink | None = None
) -> None:
    """Audit a download of the report (portal, share link or staff); a share link counts its views."""
    if link is not None:
        link.views += 1
        link.last_viewed_at = now
    _audit(f"report.downloaded.{via}", report, by=actor, now=now)


# --- Listings -------------------------------------------------------------------------------------


def portal_positions(scope: Scope) -> list[PortalPosition]:
    """The client's positions that have released reports, each with them; nothing of any other client."""
    from candidates.models import Candidate

    rows = db.session.execute(
        select(Report, Candidate.name, Assessment.title, Position)
        .join(Invitation, Invitation.id == Report.invitation_id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .join(Assessment, Assessment.id == Invitation.assessment_id)
        .join(Position, Position.id == Report.position_id)
        .where(*Report.scope_criteria(scope), Assessment.pilot.is_(False))
        .order_by(Position.title, Position.id, Candidate.name)
    ).all()
    grouped: dict[int, PortalPosition] = {}
    for report, name, title, position in rows:
        entry = grouped.setdefault(position.id, PortalPosition(position, []))
        assert report.released_at is not None
        entry.reports.append(PortalReport(report, name, title, report.released_at))
    return list(grouped.values())


def _latest_job(kind: ReportKind, report: Report | None) -> ReportJob | None:
    if report is None:
        return None
    return db.session.scalar(
        select(ReportJob)
        .where(ReportJob.report_id == report.id, ReportJob.kind == kind)
        .order_by(ReportJob.id.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class _Known:
    """What position_overview read for one invitation in a few queries for all of them."""

    report: Report | None
    scored: bool
    share_links: list[ShareLink]
    dossier_job: ReportJob | None
    feedback_job: ReportJob | None


def review(invitation: Invitation, now: datetime, *, with_context: bool = True, known: _Known | None = None) -> Review:
    """The review page's facts; ``with_context`` False skips assembling the report (lists of many candidates)."""
    report = known.report if known is not None else report_for(invitation)
    assessment = invitation.assessment
    agency = db.session.get_one(Agency, invitation.agency_id)
    client = db.session.get_one(Client, invitation.client_id)
    scored = known.scored if known is not None else _scored(invitation)
    missing: tuple[str, ...] = ()
    overall_text = None
    if with_context and (report is not None or scored):
        # Before the report exists, a transient one (never added to the session) tells what it will say.
        draft = report or _new_report(invitation, now)
        dossier = report_context.dossier_context(draft)
        missing = dossier.missing
        overall_text = dossier.overall.text if dossier.overall else None
    if known is not None:
        links = known.share_links
    elif report is not None:
        links = list(
            db.session.scalars(select(ShareLink).where(ShareLink.report_id == report.id).order_by(ShareLink.id.desc()))
        )
    else:
        links = []
    blockers = release_blockers(invitation, report, scored=scored)
    return Review(
        invitation=invitation,
        report=report,
        candidate_name=invitation.candidate.name,
        position_title=assessment.position.title,
        client_name=client.name,
        assessment_title=assessment.title,
        pilot=assessment.pilot,
        scored=scored,
        can_release=not blockers,
        blockers=blockers,
        overall_text=overall_text,
        share_links=links,
        dossier_job=known.dossier_job if known is not None else _latest_job(ReportKind.DOSSIER, report),
        feedback_job=known.feedback_job if known is not None else _latest_job(ReportKind.FEEDBACK, report),
        feedback_enabled=agency.feedback_reports,
        missing=missing,
    )


def position_overview(position: Position, now: datetime) -> list[Review]:
    """Every submitted invitation of the position's assessments, candidates in name order.

    A fixed number of queries whatever the number of candidates: their reports, results, share links and jobs
    are read for all of them at once.
    """
    from assessments.models import Attempt, AttemptResult
    from candidates.models import Candidate

    submitted = (
        select(Invitation)
        .join(Assessment, Assessment.id == Invitation.assessment_id)
        .join(Attempt, Attempt.invitation_id == Invitation.id)
        .join(Candidate, Candidate.id == Invitation.candidate_id)
        .where(Assessment.position_id == position.id, Attempt.submitted_at.is_not(None))
    )
    invitations = db.session.scalars(
        submitted.options(contains_eager(Invitation.attempt), contains_eager(Invitation.candidate)).order_by(
            Candidate.name, Invitation.id
        )
    ).all()
    ids = submitted.with_only_columns(Invitation.id)
    reports = {r.invitation_id: r for r in db.session.scalars(select(Report).where(Report.invitation_id.in_(ids)))}
    report_ids = select(Report.id).where(Report.invitation_id.in_(ids))
    # An attempt counts as scored when it has any result row (report_context.current_result falls back to the latest).
    scored = set(
        db.session.scalars(
            select(AttemptResult.attempt_id).where(
                AttemptResult.attempt_id.in_(submitted.with_only_columns(Attempt.id))
            )
        )
    )
    links: dict[int, list[ShareLink]] = {}
    for link in db.session.scalars(
        select(ShareLink).where(ShareLink.report_id.in_(report_ids)).order_by(ShareLink.id.desc())
    ):
        links.setdefault(link.report_id, []).append(link)
    latest: dict[tuple[int, ReportKind], ReportJob] = {}
    for job in db.session.scalars(
        select(ReportJob).where(ReportJob.report_id.in_(report_ids)).order_by(ReportJob.id.desc())
    ):
        if job.report_id is not None:
            latest.setdefault((job.report_id, job.kind), job)
    # Held for the loop: review() finds them in the session, whose identity map keeps only weak references.
    held = (db.session.get_one(Agency, position.agency_id), db.session.get_one(Client, position.client_id))
    reviews = []
    for invitation in invitations:
        report = reports.get(invitation.id)
        known = _Known(
            report=report,
            scored=invitation.attempt is not None and invitation.attempt.id in scored,
            share_links=links.get(report.id, []) if report is not None else [],
            dossier_job=latest.get((report.id, ReportKind.DOSSIER)) if report is not None else None,
            feedback_job=latest.get((report.id, ReportKind.FEEDBACK)) if report is not None else None,
        )
        reviews.append(review(invitation, now, with_context=False, known=known))
    del held
    return reviews
