"""Bulk invitations from a CSV file: checked whole on upload, then sent a chunk at a time in the background.

A batch keeps the rows still to send; each chunk is invited, counted and removed from the batch in
one unit of work, under a lease taken beforehand (like mailer.claim_email). A worker that dies
leaves the batch "running" with its lease; once the lease runs out, the sweep or any later call
takes it up again, and the rows of the lost chunk are still there to send, once.
"""

from __future__ import annotations

import csv
import enum
import io
import logging
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from accounts import audit
from accounts.models import User
from accounts.services import normalise_email
from assessments import invitations
from assessments.models import Assessment, Invitation, InviteBatch
from candidates.models import Candidate
from database import after_commit, db, independent_unit_of_work, unit_of_work

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
MAX_NAME = 120
CHUNK = 200
# How long a worker may hold a batch for one chunk; for a queued batch, when its task should have started.
LEASE = timedelta(minutes=5)
# A spreadsheet may run a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
REPORT_COLUMNS = ("line", "name", "email", "reason")


class BatchStatus(enum.StrEnum):
    """Where a batch stands: waiting for a worker, being sent under a lease, finished, or stopped."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BatchError(Exception):
    """A bulk invitation was refused as a whole and nothing was written; the message is safe to show.

    `rejected` lists the row problems when every row of the file was refused.
    """

    def __init__(self, message: str, rejected: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.rejected = rejected or []


@dataclass(frozen=True)
class Progress:
    """Where a batch stands, for its page."""

    total: int
    processed: int
    invited: int
    already_invited: int
    rejected: int
    merged: int
    finished: bool

    @property
    def percent(self) -> int:
        """How much of the batch is processed, in whole percent."""
        return 100 if self.total == 0 else self.processed * 100 // self.total


def check_csv(raw: bytes) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Check an uploaded CSV: the rows to invite ({line, name, email}) and the rejected ones (with a reason).

    The first row names the columns; `name` and `email` are required (any case, any order, other
    columns ignored). A repeated address is merged into its first row and listed as rejected with
    `merged: True`. Raises BatchError when the file as a whole is unusable: over 2 MB, not UTF-8,
    not CSV, empty, without a name or email column, or with more than MAX_ROWS rows.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise BatchError("The file is larger than 2 MB. Split it into smaller files and upload each one.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BatchError(
            f"The file is not UTF-8 text (unreadable byte at position {exc.start}). "
            "Save it from your spreadsheet as “CSV UTF-8” and upload it again."
        ) from None
    if not text.strip():
        raise BatchError("The file is empty. The first row must name the columns: name, email.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return _check_rows(reader)
    except csv.Error as exc:
        raise BatchError(f"The file could not be read as CSV (line {reader.line_num}: {exc}).") from None


def _check_rows(reader: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    header: list[str] = next((record for record in reader if any(cell.strip() for cell in record)), [])
    columns = [cell.strip().lower() for cell in header]
    missing = [name for name in ("name", "email") if name not in columns]
    if missing:
        raise BatchError(
            f"The first row must name the columns “name” and “email”; no {' or '.join(missing)} column was found."
        )
    for name in ("name", "email"):
        if columns.count(name) > 1:
            raise BatchError(f"The first row names the “{name}” column twice. Keep one and upload the file again.")
    name_at, email_at = columns.index("name"), columns.index("email")

    rows: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    count = 0
    next_line = reader.line_num + 1
    for record in reader:
        line, next_line = next_line, reader.line_num + 1  # a quoted cell may span lines: report where it starts
        if not any(cell.strip() for cell in record):
            continue
        count += 1
        if count > MAX_ROWS:
            raise BatchError(f"The file has more than {MAX_ROWS:,} rows. Split it into files of up to {MAX_ROWS:,}.")
        raw_name = record[name_at] if name_at < len(record) else ""
        raw_email = record[email_at] if email_at < len(record) else ""
        name, email = raw_name.strip(), raw_email.strip()
        reason = _name_problem(raw_name, name)
        address = None
        if reason is None:
            address, reason = _check_email(raw_email, email)
        if reason is not None or address is None:
            rejected.append({"line": line, "name": name, "email": email, "reason": reason})
        elif address in first_line:
            reason = f"The same address as line {first_line[address]}: merged, invited once."
            rejected.append({"line": line, "name": name, "email": email, "reason": reason, "merged": True})
        else:
            first_line[address] = line
            rows.append({"line": line, "name": name, "email": address})
    if count == 0:
        raise BatchError("The file has a header row but no candidates below it.")
    return rows, rejected


def _formula_problem(what: str, raw: str, value: str) -> str | None:
    start = raw[:1] if raw[:1] in FORMULA_STARTS else value[:1]
    if start not in FORMULA_STARTS:
        return None
    shown = {"\t": "a tab", "\r": "a line break"}.get(start, f"“{start}”")
    return f"The {what} starts with {shown}, which a spreadsheet could run as a formula."


def _name_problem(raw: str, name: str) -> str | None:
    if not name:
        return "The name is missing."
    if problem := _formula_problem("name", raw, name):
        return problem
    if len(name) > MAX_NAME:
        return f"The name is longer than {MAX_NAME} characters."
    if any(unicodedata.category(char) == "Cc" for char in name):
        return "The name contains a line break or another control character."
    return None


def _check_email(raw: str, email: str) -> tuple[str | None, str | None]:
    """The normalised address, or the reason it is refused."""
    if not email:
        return None, "The email address is missing."
    if problem := _formula_problem("email address", raw, email):
        return None, problem
    from email_validator import EmailNotValidError, validate_email  # loads on first use, not at start

    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"The email address is not valid: {exc}"
    return normalise_email(checked.normalized), None


def create_batch(assessment: Assessment, raw: bytes, *, by: User, now: datetime) -> InviteBatch:
    """Check the file and store a batch of the valid rows; its sending is enqueued after commit.

    Raises BatchError (nothing written) when the assessment is not published, the file is unusable,
    or no row can be invited.
    """
    if not assessment.is_published:
        raise BatchError("Publish the assessment before inviting candidates.")
    rows, rejected = check_csv(raw)
    if not rows:
        raise BatchError("No row of the file can be invited. Correct the rows listed and upload it again.", rejected)
    batch = InviteBatch(
        agency_id=assessment.agency_id,
        client_id=assessment.client_id,
        assessment_id=assessment.id,
        created_by_id=by.id,
        status=BatchStatus.QUEUED,
        rows=rows,
        rejected=rejected,
        total_rows=len(rows),
        processed_rows=0,
        invited=0,
        already_invited=0,
        lease_expires_at=now + LEASE,
        created_at=now,
    )
    db.session.add(batch)
    db.session.flush()
    audit.record(
        "invite_batch.created",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="invite_batch",
        object_public_id=batch.public_id,
    )
    batch_id = batch.id
    after_commit(lambda: enqueue_processing(batch_id))
    return batch


def enqueue_processing(batch_id: int) -> None:
    """Hand the batch to a worker; if the queue is down, the periodic sweep picks it up later."""
    from tasks import process_batch_task

    try:
        process_batch_task(batch_id)
    except Exception:  # the queue is down: the sweep resumes the batch once its lease runs out
        log.warning("could not enqueue batch %s; the sweep will resume it", batch_id, exc_info=True)


def claim_batch(batch_id: int, now: datetime) -> datetime | None:
    """Take a queued batch, or a running one whose lease ran out, under a new lease; None when it is not free.

    The lease returned is the claim's token: the chunk is recorded only while the batch still carries it.
    """
    lease = now + LEASE
    with independent_unit_of_work() as session:
        result = session.execute(
            update(InviteBatch)
            .where(
                InviteBatch.id == batch_id,
                or_(
                    InviteBatch.status == BatchStatus.QUEUED,
                    and_(InviteBatch.status == BatchStatus.RUNNING, InviteBatch.lease_expires_at < now),
                ),
            )
            .values(status=BatchStatus.RUNNING, lease_expires_at=lease)
        )
        return lease if result.rowcount == 1 else None  # type: ignore[attr-defined]


def process_batch(batch_id: int, now: datetime, chunk: int = CHUNK) -> bool:
    """Invite the next `chunk` rows of a batch and record the progress, in one unit of work.

    Returns True while rows remain (call again), False once the batch is done or failed, or when
    another worker holds it. A person already invited counts as already_invited. Safe to re-run:
    rows leave the batch in the same unit of work that invites them.
    """
    lease = claim_batch(batch_id, now)
    if lease is None:
        return False
    with unit_of_work():
        batch = db.session.scalars(
            select(InviteBatch)
            .where(
                InviteBatch.id == batch_id,
                InviteBatch.status == BatchStatus.RUNNING,
                InviteBatch.lease_expires_at == lease,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if batch is None:  # our lease ran out and another worker took the batch over
            return False
        creator = db.session.get(User, batch.created_by_id) if batch.created_by_id is not None else None
        assessment = batch.assessment
        if creator is None or not assessment.is_published:
            batch.status, batch.lease_expires_at, batch.finished_at = BatchStatus.FAILED, None, now
            return False
        taken, rest = batch.rows[:chunk], batch.rows[chunk:]
        rejected = list(batch.rejected)
        for row in taken:
            outcome = _invite_row(assessment, row, creator, now)
            if outcome == "invited":
                batch.invited += 1
            elif outcome == "already_invited":
                batch.already_invited += 1
            else:
                rejected.append({**row, "reason": outcome})
        batch.rows = rest  # a new list: the JSON column records the change
        batch.rejected = rejected
        batch.processed_rows += len(taken)
        if rest:
            batch.status, batch.lease_expires_at = BatchStatus.QUEUED, now + LEASE
        else:
            batch.status, batch.lease_expires_at, batch.finished_at = BatchStatus.DONE, None, now
    return bool(rest)


def _invite_row(assessment: Assessment, row: dict[str, Any], creator: User, now: datetime) -> str:
    """'invited', 'already_invited', or the reason the row could not be invited."""
    try:
        with db.session.begin_nested():
            invitations.invite(assessment, name=row["name"], email=row["email"], by=creator, now=now)
    except (invitations.InvitationError, IntegrityError) as exc:  # IntegrityError: invited by hand meanwhile
        if _already_invited(assessment, row["email"]):
            return "already_invited"
        if isinstance(exc, IntegrityError):
            raise
        return str(exc)
    return "invited"


def _already_invited(assessment: Assessment, email: str) -> bool:
    return (
        db.session.scalar(
            select(Invitation.id)
            .join(Invitation.candidate)
            .where(Invitation.assessment_id == assessment.id, Candidate.email == normalise_email(email))
        )
        is not None
    )


def stalled_batches(now: datetime, limit: int = 100) -> list[int]:
    """Ids of batches whose task was lost: queued or running past their lease."""
    return list(
        db.session.scalars(
            select(InviteBatch.id)
            .where(
                InviteBatch.status.in_([BatchStatus.QUEUED, BatchStatus.RUNNING]),
                InviteBatch.lease_expires_at < now,
            )
            .order_by(InviteBatch.created_at)
            .limit(limit)
        )
    )


def progress(batch: InviteBatch) -> Progress:
    """The counts shown on the batch's page."""
    merged = sum(1 for row in batch.rejected if row.get("merged"))
    return Progress(
        total=batch.total_rows,
        processed=batch.processed_rows,
        invited=batch.invited,
        already_invited=batch.already_invited,
        rejected=len(batch.rejected) - merged,
        merged=merged,
        finished=batch.status in (BatchStatus.DONE, BatchStatus.FAILED),
    )


def error_report_csv(batch: InviteBatch) -> str:
    """The rejected and merged rows as CSV (line, name, email, reason); no cell can run as a spreadsheet formula."""
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: quotes where needed, CRLF line ends
    writer.writerow(REPORT_COLUMNS)
    for row in sorted(batch.rejected, key=lambda r: int(r.get("line", 0))):
        writer.writerow([neutralise_cell(str(row.get(column, ""))) for column in REPORT_COLUMNS])
    return out.getvalue()


def neutralise_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading single quote."""
    return f"'{value}" if value[:1] in FORMULA_STARTS else value
