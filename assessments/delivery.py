"""The candidate's side: links, consent, starting, saving answers, submitting, the server-side deadline.

Every rule is enforced here, on the server, with the time passed in: the deadline is set once at
start, every save and the submission are refused after it (with a small grace for latency), a save
carries the revision it was based on, and a submission happens exactly once.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import random
import re
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from flask import render_template
from markupsafe import Markup
from sqlalchemy import JSON, Select, Table, and_, bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.util import identity_key

import webhooks
from accounts import tokens
from assessments import item_cache, scoring_adapter
from assessments.models import (
    Answer,
    AnswerEvent,
    Assessment,
    Attempt,
    AttemptResult,
    ConsentRecord,
    DemographicResponse,
    IntegrityEvent,
    Invitation,
    InvitationStatus,
)
from database import db
from positions.models import Position
from scenarios.models import ScenarioVersion

GRACE = timedelta(seconds=15)
EXTRA_TIME_CHOICES = (0, 25, 50)


class LinkInvalid(Exception):
    """The link is tampered with, expired, revoked, superseded or unknown: one answer for all."""


class DeliveryError(Exception):
    """The candidate's request cannot be accepted; the message is safe to show."""


class TimeOver(DeliveryError):
    """The deadline has passed."""


class AlreadySubmitted(DeliveryError):
    """The test was submitted; nothing more can change."""


class NotStarted(DeliveryError):
    """The candidate has not started the test yet."""


class NoSuchItem(DeliveryError):
    """The item number is not part of the candidate's test."""


class StaleAnswer(DeliveryError):
    """The answer was changed elsewhere (another tab or device) since this page loaded."""

    def __init__(self, current: Answer) -> None:
        super().__init__("This answer was changed in another window. Reload the page to see the latest answer.")
        self.current = current


def invitation_for_token(token: str, now: datetime) -> Invitation:
    """The live invitation a link names. Raises LinkInvalid for every kind of failure alike."""
    try:
        payload = tokens.read(tokens.INVITATION, token)
    except tokens.InvalidToken:
        raise LinkInvalid from None
    return invitation_for(str(payload.get("i")), payload.get("v"), now)


def invitation_for(public_id: str, version: object, now: datetime, *, with_context: bool = True) -> Invitation:
    """The invitation with this public id and token version, unless revoked or expired before it started.

    `with_context` also loads what the pages around the test show (agency, client, position); the item
    page and autosave need only the invitation and its attempt.
    """
    options = [joinedload(Invitation.attempt)]
    if with_context:
        options += [
            joinedload(Invitation.agency),
            joinedload(Invitation.candidate),
            joinedload(Invitation.assessment).joinedload(Assessment.position).joinedload(Position.client),
        ]
    invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == public_id).options(*options))
    if invitation is None or not _link_holds(invitation, invitation.attempt is not None, version, now):
        raise LinkInvalid
    return invitation


class _Link(Protocol):
    """What the link's rule reads: an ``Invitation``, or a row with the same columns."""

    @property
    def token_version(self) -> int: ...
    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime: ...


def _link_holds(link: _Link, started: bool, version: object, now: datetime) -> bool:
    """The link's rule, in one place for every reader: the token names the invitation's current version, the
    invitation is not revoked, and it had not expired before its test started."""
    return link.token_version == version and link.revoked_at is None and (started or now < link.expires_at)


# The item page's read, built once with its values as bind parameters: building and keying the statement
# again on every request cost more than running it. Built on first use, not at import: naming the models'
# relationships configures every mapper, which importing this module should not do (about 70 ms, before the
# other models are even imported); the web entry point configures them once, with the collector paused (wsgi.py).
@functools.cache
def _item_view() -> Select[Invitation, Answer, int]:
    version_id = Attempt.item_order[bindparam("position", type_=JSON.JSONIntIndexType())].as_integer()
    return (
        select(Invitation, Answer, version_id)
        .outerjoin(Invitation.attempt)
        .outerjoin(Answer, and_(Answer.attempt_id == Attempt.id, Answer.version_id == version_id))
        .where(Invitation.public_id == bindparam("public_id"))
        .options(contains_eager(Invitation.attempt))
    )


def item_view(
    public_id: str, version: object, number: int, now: datetime
) -> tuple[Invitation, Answer | None, int | None]:
    """The invitation (with its attempt), the saved answer to item `number` and that item's version id,
    in one query: the item page's whole read. The same checks as invitation_for; raises LinkInvalid.

    The version id is None when the test has not started or has no such item.
    """
    values = {"public_id": public_id, "position": number - 1 if number >= 1 else 0}
    row = db.session.execute(_item_view(), values).first()
    if row is None:
        raise LinkInvalid
    invitation, answer, item_version_id = row
    if not _link_holds(invitation, invitation.attempt is not None, version, now):
        raise LinkInvalid
    attempt = invitation.attempt
    if attempt is None or not 1 <= number <= len(attempt.item_order):
        return invitation, None, None
    return invitation, answer, item_version_id


def record_consent(invitation: Invitation, extra_time_percent: int, now: datetime) -> None:
    """Record the candidate's consent, and their private request for extra time (before starting only)."""
    if extra_time_percent not in EXTRA_TIME_CHOICES:
        raise DeliveryError("Choose no extra time, 25% or 50%.")
    if invitation.attempt is None:
        invitation.extra_time_percent = extra_time_percent
    if invitation.consent_at is None:
        invitation.consent_at = now
        db.session.add(
            ConsentRecord(
                agency_id=invitation.agency_id,
                candidate_id=invitation.candidate_id,
                invitation=invitation,
                purpose=CONSENT_PURPOSE,
                statement=(statement := consent_statement(invitation)),
                statement_digest=hashlib.sha256(statement.encode()).hexdigest(),
                given_at=now,
            )
        )


CONSENT_PURPOSE = "assessment"
CONSENT_SENTENCE = "I have read this and I agree to take the test."
_BLOCK_END = re.compile(r"</(?:h2|li|p)>")


def notice_context(invitation: Invitation) -> dict[str, Any]:
    """What the candidate's pages, and the notice they agree to, are rendered with."""
    assessment = invitation.assessment
    return {
        "invitation": invitation,
        "assessment": assessment,
        "agency": invitation.agency,
        "client": assessment.position.client,
        "item_count": len(invitation.attempt.item_order) if invitation.attempt else len(assessment.items),
    }


def consent_statement(invitation: Invitation) -> str:
    """The notice on the candidate's landing page and the sentence they tick, as plain text, one line a
    heading, point or paragraph: what their consent record keeps, word for word."""
    html = render_template("take/_notice.html", **notice_context(invitation))
    # The notice is an autoescaped template of our own: marking it safe only lets striptags read it.
    lines = [Markup(chunk).striptags() for chunk in _BLOCK_END.split(html)]  # noqa: S704
    return "\n".join([line for line in lines if line] + [CONSENT_SENTENCE])


def scored_versions(assessment: Assessment) -> list[ScenarioVersion]:
    return [item.version for item in assessment.items]


def start_attempt(invitation: Invitation, now: datetime) -> Attempt:
    """Start the timed test once; starting again returns the same attempt with the same deadline."""
    if invitation.attempt is not None:
        return invitation.attempt
    if invitation.consent_at is None:
        raise DeliveryError("Please read the information and agree before you start.")
    if now >= invitation.expires_at:
        raise LinkInvalid
    assessment = invitation.assessment
    order = [v.id for v in scored_versions(assessment)]
    if assessment.randomize_order:
        random.Random(invitation.public_id).shuffle(order)  # a fixed order per candidate, not a secret
    deadline = None
    if assessment.time_limit_minutes:
        minutes = assessment.time_limit_minutes * (100 + invitation.extra_time_percent) / 100
        deadline = now + timedelta(minutes=minutes)
    attempt = Attempt(
        invitation=invitation, agency_id=invitation.agency_id, started_at=now, deadline=deadline, item_order=order
    )
    db.session.add(attempt)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # another tab started it at the same moment
        db.session.refresh(invitation)
        if invitation.attempt is None:
            raise
        return invitation.attempt
    webhooks.queue_attempt_started(attempt, now)
    return attempt


def is_open(attempt: OpenAttempt, now: datetime) -> bool:
    """True while answers can still be saved."""
    return attempt.submitted_at is None and (attempt.deadline is None or now <= attempt.deadline + GRACE)


def seconds_left(attempt: Attempt, now: datetime) -> int | None:
    if attempt.deadline is None:
        return None
    return max(0, math.ceil((attempt.deadline - now).total_seconds()))


def item_version(attempt: Attempt, number: int) -> ScenarioVersion | None:
    """The attempt's n-th item (1-based), or None."""
    if not 1 <= number <= len(attempt.item_order):
        return None
    return db.session.get(ScenarioVersion, attempt.item_order[number - 1])


def answers_of(attempt: Attempt) -> dict[int, Answer]:
    return {a.version_id: a for a in attempt.answers}


@dataclasses.dataclass(frozen=True)
class SavedAnswer:
    """What a save acknowledges: the answer's new revision and when it was saved."""

    revision: int
    saved_at: datetime


class OpenAttempt(Protocol):
    """What a save needs to know of an attempt: an ``Attempt``, or a row read without the ORM."""

    @property
    def id(self) -> int: ...
    @property
    def item_order(self) -> list[int]: ...
    @property
    def submitted_at(self) -> datetime | None: ...
    @property
    def deadline(self) -> datetime | None: ...


def check_save(
    attempt: OpenAttempt, version_id: int, answer: Any, now: datetime, shape: scoring_adapter.AnswerShape | None
) -> dict[str, Any]:
    """The answer as it is stored, if the attempt takes it now. Raises AlreadySubmitted, TimeOver, DeliveryError
    (an item outside the attempt) or scoring_adapter.InvalidAnswer."""
    if attempt.submitted_at is not None:
        raise AlreadySubmitted("You have already submitted the test.")
    if not is_open(attempt, now):
        raise TimeOver("The time for this test is over. Answers saved before the end are kept.")
    if version_id not in attempt.item_order:
        raise DeliveryError("That question is not part of your test.")
    return scoring_adapter.check_answer(shape or db.session.get_one(ScenarioVersion, version_id), answer)


_ANSWER = cast(Table, Answer.__table__)
_EVENT = cast(Table, AnswerEvent.__table__)
_ATTEMPT = cast(Table, Attempt.__table__)
_INVITATION = cast(Table, Invitation.__table__)
_ANSWER_VALUE = bindparam("content", type_=_ANSWER.c.answer.type)
_SAVED_AT = bindparam("stamp", type_=_ANSWER.c.saved_at.type)
_LOCK_ATTEMPT = select(_ATTEMPT.c.submitted_at).where(_ATTEMPT.c.id == bindparam("attempt")).with_for_update(read=True)
_UPDATE_ANSWER = (
    update(_ANSWER)
    .where(
        _ANSWER.c.attempt_id == bindparam("attempt"),
        _ANSWER.c.version_id == bindparam("version"),
        _ANSWER.c.revision == bindparam("based_on"),
    )
    .values(answer=_ANSWER_VALUE, revision=bindparam("new_revision"), saved_at=_SAVED_AT)
    .returning(_ANSWER.c.revision)
)
_INSERT_EVENT = insert(_EVENT).values(
    attempt_id=bindparam("attempt"),
    version_id=bindparam("version"),
    revision=bindparam("new_revision"),
    answer=_ANSWER_VALUE,
    saved_at=_SAVED_AT,
    channel=bindparam("via"),
)
_OPEN_ATTEMPT = (
    select(
        _INVITATION.c.token_version,
        _INVITATION.c.revoked_at,
        _INVITATION.c.expires_at,
        _ATTEMPT.c.id,
        _ATTEMPT.c.item_order,
        _ATTEMPT.c.submitted_at,
        _ATTEMPT.c.deadline,
    )
    .select_from(_INVITATION.outerjoin(_ATTEMPT, _ATTEMPT.c.invitation_id == _INVITATION.c.id))
    .where(_INVITATION.c.public_id == bindparam("public_id"))
)


@functools.cache
def _first_answer(dialect: str) -> Any:
    """INSERT of an item's first answer that does nothing when another tab's first save got there first.

    Built for the dialect in use on its first save: importing the other dialect would cost a worker's start
    (PostgreSQL's is about 35 ms) for nothing.
    """
    values = {
        "attempt_id": bindparam("attempt"),
        "version_id": bindparam("version"),
        "answer": _ANSWER_VALUE,
        "revision": bindparam("new_revision"),
        "saved_at": _SAVED_AT,
    }
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        statement: Any = postgresql_insert(_ANSWER).values(values)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(_ANSWER).values(values)
    return statement.on_conflict_do_nothing(index_elements=["attempt_id", "version_id"]).returning(_ANSWER.c.revision)


def _store(
    attempt_id: int, version_id: int, clean: dict[str, Any], revision: int, now: datetime, channel: str
) -> SavedAnswer:
    """Write a checked answer and its event in the open write transaction, if it is based on the latest revision
    and the attempt is still not submitted. Raises AlreadySubmitted or StaleAnswer.

    Plain statements, compiled once: this runs for every autosave, inside the write lock on SQLite. The attempt's
    row is read FOR SHARE on PostgreSQL, so a submission waits for a save in flight, or the save sees it.
    """
    connection = db.session.connection()
    if connection.execute(_LOCK_ATTEMPT, {"attempt": attempt_id}).scalar_one() is not None:
        raise AlreadySubmitted("You have already submitted the test.")
    values = {
        "attempt": attempt_id,
        "version": version_id,
        "content": clean,
        "based_on": revision,
        "new_revision": revision + 1,
        "stamp": now,
        "via": channel,
    }
    # A stale revision matches no row: one statement checks it and saves.
    statement = _UPDATE_ANSWER if revision > 0 else _first_answer(connection.dialect.name)
    if connection.execute(statement, values).first() is None:
        raise StaleAnswer(db.session.get(Answer, (attempt_id, version_id), populate_existing=True))  # type: ignore[arg-type]
    connection.execute(_INSERT_EVENT, values)
    return SavedAnswer(revision=revision + 1, saved_at=now)


def save_answer(
    attempt: Attempt,
    version_id: int,
    answer: Any,
    revision: int,
    now: datetime,
    channel: str,
    *,
    shape: scoring_adapter.AnswerShape | None = None,
) -> SavedAnswer:
    """Save one answer if it is valid, in time, for an item of this attempt, and based on the latest revision.

    `shape` is the item's format and option labels when the caller already holds them (the cached item).
    Raises AlreadySubmitted, TimeOver, DeliveryError (an item outside the attempt),
    scoring_adapter.InvalidAnswer, or StaleAnswer.
    """
    clean = check_save(attempt, version_id, answer, now, shape)
    saved = _store(attempt.id, version_id, clean, revision, now, channel)
    # The write bypassed the session: what it holds of this attempt's answers is out of date.
    db.session.expire(attempt, ["answers"])
    held = db.session.identity_map.get(identity_key(Answer, (attempt.id, version_id)))
    if held is not None:
        db.session.expire(held)
    return saved


def autosave(
    public_id: str, token_version: object, number: int, answer: Any, revision: int, now: datetime
) -> SavedAnswer:
    """The autosave's whole work, in the open write transaction: the link's checks (as invitation_for), then
    save_answer's. Raises LinkInvalid, or what save_answer raises; DeliveryError("not started") too.

    The most frequent request there is (every candidate, every few seconds), so it reads the few columns it
    needs with one compiled statement and never builds ORM objects.
    """
    row = db.session.connection().execute(_OPEN_ATTEMPT, {"public_id": public_id}).first()
    if row is None or not _link_holds(row, row.id is not None, token_version, now):
        raise LinkInvalid
    if row.id is None:
        raise NotStarted("The test has not started.")
    if not 1 <= number <= len(row.item_order):
        raise NoSuchItem("That question is not part of your test.")
    version_id = row.item_order[number - 1]
    clean = check_save(row, version_id, answer, now, item_cache.frozen_item(version_id))
    return _store(row.id, version_id, clean, revision, now, "autosave")


def first_unanswered(attempt: Attempt) -> int:
    """The number of the first item without a complete answer (or the last item when all are answered)."""
    saved = answers_of(attempt)
    for number, version_id in enumerate(attempt.item_order, start=1):
        version = db.session.get_one(ScenarioVersion, version_id)
        answer = saved.get(version_id)
        if answer is None or not scoring_adapter.is_complete(version, answer.answer):
            return number
    return len(attempt.item_order)


def submit(attempt: Attempt, now: datetime, *, by: str = "candidate") -> bool:
    """Submit once and score; True when this call submitted it, False when it already was."""
    submitted_at = now if attempt.deadline is None or now <= attempt.deadline + GRACE else attempt.deadline
    result = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.submitted_at.is_(None))
        .values(submitted_at=submitted_at, finalised_by=by)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(attempt)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    score(attempt, now)
    attempt.invitation.updated_at = now  # the UPDATE above bypassed the ORM's stamp: the API's lists see it
    webhooks.queue_attempt_submitted(attempt, now)
    return True


def score(attempt: Attempt, now: datetime) -> AttemptResult:
    """Score a submitted attempt under the current algorithm version, once; later calls return the stored row.

    The row's score version is the algorithm version alone: the keys pinned at publishing. Re-scores with
    new keys or a new algorithm add rows with their own score versions.
    """
    version = scoring_adapter.ALGORITHM_VERSION
    existing = db.session.scalar(
        select(AttemptResult).where(AttemptResult.attempt_id == attempt.id, AttemptResult.score_version == version)
    )
    if existing is not None:
        return existing
    assessment = attempt.invitation.assessment
    answers: dict[int, dict[str, Any] | None] = {a.version_id: a.answer for a in attempt.answers}
    scores = scoring_adapter.score_attempt(assessment, answers)
    row = AttemptResult(
        attempt_id=attempt.id,
        algorithm_version=version,
        score_version=version,
        overall_pomp=scores.overall,
        detail=_plain(dataclasses.asdict(scores)),
        computed_at=now,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:  # scored concurrently: keep the first
        return db.session.scalars(
            select(AttemptResult).where(AttemptResult.attempt_id == attempt.id, AttemptResult.score_version == version)
        ).one()
    _also_under_current_version(assessment, attempt, row, now)
    return row


def _also_under_current_version(assessment: Assessment, attempt: Attempt, row: AttemptResult, now: datetime) -> None:
    """After a re-score made a keyed score version current, a new submission is stored under it too.

    Scoring uses the items' keys as they are now; when they are still the keys the current version names,
    the same scores belong to it, so results pages and norms need no second re-score.
    """
    from assessments.rescoring import key_pairs, keyed_score_version  # rescoring builds on this module

    current = assessment.score_version
    if not current or current == row.score_version or keyed_score_version(key_pairs(assessment)) != current:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                AttemptResult(
                    attempt_id=attempt.id,
                    algorithm_version=row.algorithm_version,
                    score_version=current,
                    overall_pomp=row.overall_pomp,
                    detail=row.detail,
                    computed_at=now,
                )
            )
            db.session.flush()
    except IntegrityError:  # already there (a re-score ran at the same moment)
        pass


def _plain(value: Any) -> Any:
    """JSON-safe: enums to values, tuples to lists, mapping keys to text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(_plain(v) for v in value)
    if hasattr(value, "value") and not isinstance(value, int | float | str | bool):
        return value.value
    return value


def overdue_attempts(now: datetime) -> list[int]:
    """Ids of unsubmitted attempts whose deadline and grace have passed."""
    return list(
        db.session.scalars(
            select(Attempt.id).where(Attempt.submitted_at.is_(None), Attempt.deadline < now - GRACE).limit(500)
        )
    )


def status_of(invitation: Invitation, now: datetime) -> InvitationStatus:
    return invitation.status(now)


# Voluntary self-identification: the EEO-1 categories, and "prefer not to say".
SEX_CHOICES = ("Female", "Male", "Another option", "Prefer not to say")
RACE_ETHNICITY_CHOICES = (
    "Hispanic or Latino",
    "White",
    "Black or African American",
    "Native Hawaiian or Other Pacific Islander",
    "Asian",
    "American Indian or Alaska Native",
    "Two or more races",
    "Prefer not to say",
)
SIGNAL_KINDS = frozenset({"focus_lost", "paste", "reload", "time"})
MAX_SECONDS_PER_SIGNAL = 6 * 3600  # a page left open all day is still one number, not a wrap-around
MAX_SIGNALS = 500


def record_demographics(attempt: Attempt, sex: str, race_ethnicity: str, now: datetime) -> None:
    """Store a submitted candidate's voluntary answers once, apart from the attempt's answers.

    Raises DeliveryError for a value outside the lists or before submission.
    """
    if attempt.submitted_at is None:
        raise DeliveryError("Please send your answers first.")
    if sex not in SEX_CHOICES or race_ethnicity not in RACE_ETHNICITY_CHOICES:
        raise DeliveryError("Choose one of the options, or Prefer not to say.")
    existing = db.session.scalar(select(DemographicResponse).where(DemographicResponse.attempt_id == attempt.id))
    if existing is None:
        db.session.add(
            DemographicResponse(attempt_id=attempt.id, sex=sex, race_ethnicity=race_ethnicity, recorded_at=now)
        )


def record_signal(
    attempt: Attempt, kind: str, item_number: int | None, now: datetime, seconds: int | None = None
) -> bool:
    """Note a context signal (focus lost, paste, reload, time on a situation) while the test is open.

    "time" needs an item and 1 to MAX_SECONDS_PER_SIGNAL seconds; the other kinds take no seconds.
    False when not recorded.
    """
    if kind not in SIGNAL_KINDS or not is_open(attempt, now):
        return False
    if item_number is not None and not 1 <= item_number <= len(attempt.item_order):
        return False
    if (kind == "time") != (seconds is not None):
        return False
    if seconds is not None and (item_number is None or not 1 <= seconds <= MAX_SECONDS_PER_SIGNAL):
        return False
    recorded = db.session.scalar(
        select(func.count()).select_from(IntegrityEvent).where(IntegrityEvent.attempt_id == attempt.id)
    )
    if (recorded or 0) >= MAX_SIGNALS:
        return False
    db.session.add(
        IntegrityEvent(attempt_id=attempt.id, kind=kind, item_number=item_number, occurred_at=now, seconds=seconds)
    )
    return True


def item_times(attempt_ids: list[int]) -> dict[int, dict[int, int]]:
    """Per attempt, the seconds each situation was in view, summed over visits (context for recruiters)."""
    rows = db.session.execute(
        select(IntegrityEvent.attempt_id, IntegrityEvent.item_number, func.sum(IntegrityEvent.seconds))
        .where(IntegrityEvent.attempt_id.in_(attempt_ids), IntegrityEvent.kind == "time")
        .group_by(IntegrityEvent.attempt_id, IntegrityEvent.item_number)
        .order_by(IntegrityEvent.attempt_id, IntegrityEvent.item_number)
    )
    times: dict[int, dict[int, int]] = {}
    for attempt_id, number, total in rows:
        if number is not None and total is not None:
            times.setdefault(attempt_id, {})[number] = int(total)
    return times


def signal_counts(attempt_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per attempt, how many of each context signal were seen (for recruiters: context, not a score)."""
    rows = db.session.execute(
        select(IntegrityEvent.attempt_id, IntegrityEvent.kind, func.count())
        .where(IntegrityEvent.attempt_id.in_(attempt_ids), IntegrityEvent.kind != "time")
        .group_by(IntegrityEvent.attempt_id, IntegrityEvent.kind)
    )
    counts: dict[int, dict[str, int]] = {}
    for attempt_id, kind, n in rows:
        counts.setdefault(attempt_id, {})[kind] = n
    return counts
