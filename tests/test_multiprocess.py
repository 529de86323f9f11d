"""Many machines in one test (docs/deploy.md, "Many machines"): two gunicorn web processes and two `flask worker`
consumers on one PostgreSQL database and one Redis queue, with real SMTP (aiosmtpd).

A recruiter invites candidates with a CSV file; the consumers send the invitations; candidates take the test over
HTTP, every request going to the other web process than the one before (some candidates in two tabs at once);
the recruiter releases every report, which the consumers render and announce to the client by email. Then:
every acknowledged answer is in the database, every submitted attempt is scored, every email row reached the
SMTP server exactly once (no kill here, so the crash window of DECISIONS.md never opens), and every report was
rendered exactly once.

Slow by nature (about a minute): it starts six Python processes and renders PDFs. It needs PostgreSQL and
Redis: skipped without them, failed without them when CI=true.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from tests.conftest import CI, PASSWORD, POSTGRES_ADMIN_URL, Mailbox, _base_config, _pg_url, free_port, make_scenario
from tests.processes import (
    ROOT,
    alive,
    children_of,
    process_env,
    spawn_web,
    spawn_worker,
    stop_all,
    wait_for,
    wait_until_consuming,
    wait_until_serving,
)

pytestmark = pytest.mark.multiprocess

# Redis database 15 belongs to the other Redis tests (TEST_REDIS_URL); this test flushes its own.
REDIS_DB = 13
CANDIDATES = 12
CONCURRENT = 4  # candidates taking the test at the same moment
TWO_TABS = {0, 5, 9}  # candidates who answer in two tabs at once (two sessions, one attempt)
DOUBLE_CLICK = (1, 6)  # candidates whose PDF the recruiter asks for twice at once, before releasing it
DEADLINE = 60  # seconds any one stage may take on a busy machine

# The items after the tenant's own rate item, in the assessment's order.
FORMATS = ("most_least", "rank", "rate")
LABELS = "ABCD"


# --- Infrastructure -----------------------------------------------------------------------------------------


def _redis_url() -> str:
    given = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    return urlunsplit(given._replace(path=f"/{REDIS_DB}"))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis database of this test's own, empty before and after (Huey's queue name is fixed: "rapport")."""
    import redis

    url = _redis_url()
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        client.close()
        reason = f"Redis not reachable at {url.split('@')[-1]} ({type(exc).__name__})"
        if CI:
            pytest.fail(f"{reason}; CI=true requires Redis")
        pytest.skip(reason)
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def postgres_url(postgres_template: str) -> Iterator[str]:
    """A fresh database from the migrated template, dropped afterwards (the consumers' connections too)."""
    import psycopg

    name = f"rapport_mp_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield _pg_url(name)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Cluster:
    web_ports: tuple[int, int]
    logs: list[Path]

    def tails(self) -> str:
        return "\n".join(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}" for log in self.logs)


@pytest.fixture
def cluster(tmp_path: Path, postgres_url: str, redis_url: str, smtp_server: tuple[Mailbox, int]) -> Iterator[Cluster]:
    """Two web processes (two sync workers each) and two consumers, one of them scheduling the periodic tasks."""
    ports = (free_port(), free_port())
    env = process_env(
        tmp_path,
        postgres_url,
        smtp_port=smtp_server[1],
        redis_url=redis_url,
        BASE_URL=f"http://127.0.0.1:{ports[0]}",
    )
    logs = [tmp_path / name for name in ("web-1.log", "web-2.log", "consumer-1.log", "consumer-2.log")]
    processes = []
    try:
        processes.append(spawn_web(env, ports[0], logs[0]))
        processes.append(spawn_web(env, ports[1], logs[1]))
        processes.append(spawn_worker(env, logs[2], "--workers", "2"))
        processes.append(spawn_worker(env, logs[3], "--workers", "2", "--no-periodic"))
        wait_until_serving(ports[0], logs[0])
        wait_until_serving(ports[1], logs[1])
        wait_until_consuming(logs[2])
        wait_until_consuming(logs[3])
        yield Cluster(ports, logs)
    finally:
        began = time.monotonic()
        stop_all(processes)
        print(f"stopped in {time.monotonic() - began:.1f} s")


# --- Seeding, in the test process on the same database ----------------------------------------------------


@dataclass
class Seed:
    assessment_id: str
    recruiter_email: str
    items: int
    emails_before: set[int]


def seed(app: Flask) -> Seed:
    """An agency with a recruiter and a client user, and a published, timed assessment of four items."""
    from accounts.models import Agency, User
    from assessments import services as builder
    from assessments.models import Assessment
    from database import db, unit_of_work, utcnow
    from mailer import EmailMessage
    from scenarios.models import Competency
    from tests.conftest import build_tenant

    tenant = build_tenant(app, "Multi")
    with app.app_context(), unit_of_work():
        agency = db.session.scalar(select(Agency).where(Agency.public_id == tenant.agency_id))
        admin = db.session.scalar(select(User).where(User.public_id == tenant.admin["public_id"]))
        assessment = db.session.scalar(select(Assessment).where(Assessment.public_id == tenant.assessment_id))
        assert agency is not None and admin is not None and assessment is not None
        for n, fmt in enumerate(FORMATS):
            key = (5.6, 4.5, 3.7, 2.1) if fmt == "rank" else (5.6, 1.4, 2.5, 3.4)
            scenario = make_scenario(agency, f"MP-{n}", weights={"professionalism": 1.0}, response_format=fmt, key=key)
            builder.add_item(assessment, scenario.latest, by=admin, now=utcnow())
        assessment.reported = [
            db.session.scalars(
                select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
            ).one()
        ]
        assessment.time_limit_minutes = 30
        builder.publish(assessment, by=admin, now=utcnow())
        items = len(assessment.items)
    with app.app_context():
        before = set(db.session.scalars(select(EmailMessage.id)))
    return Seed(tenant.assessment_id, tenant.recruiter["email"], items, before)


# --- HTTP, alternating between the web processes ------------------------------------------------------------

CSRF = re.compile(r'name="csrf_token"[^>]*? value="([^"]+)"')
REVISION = re.compile(r'name="revision" value="(\d+)"')


class Browser:
    """One person's cookies; each request goes to the next web process in turn (sessions are signed cookies)."""

    def __init__(self, ports: tuple[int, ...]) -> None:
        self.session = requests.Session()
        self.ports = itertools.cycle(ports)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"http://127.0.0.1:{next(self.ports)}{path}"
        return self.session.request(method, url, allow_redirects=False, timeout=30, **kwargs)

    def get(self, path: str) -> requests.Response:
        return self.request("GET", path)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def follow(self, response: requests.Response) -> requests.Response:
        """Follow redirects, each hop on the next web process."""
        while response.status_code in (301, 302, 303):
            response = self.get(urlsplit(response.headers["Location"]).path)
        return response


def csrf_of(page: requests.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url} ({page.status_code})"
    return found.group(1)


def answer_for(fmt: str, seed_value: int) -> dict[str, Any]:
    """A complete, valid answer of the format; different seeds give different answers."""
    rng = random.Random(seed_value)
    labels = list(LABELS)
    if fmt == "rate":
        return {"ratings": {label: rng.randint(1, 6) for label in labels}}
    if fmt == "rank":
        rng.shuffle(labels)
        return {"ranks": {label: rank for rank, label in enumerate(labels, start=1)}}
    most, least = rng.sample(labels, 2)
    return {"most": most, "least": least}


@dataclass
class Taken:
    """What the servers acknowledged to one candidate: per item number, every (revision, answer) saved."""

    invitation: str
    acknowledged: dict[int, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    refused: collections.Counter[int] = field(default_factory=collections.Counter)
    submitted: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ack(self, number: int, revision: int, answer: dict[str, Any]) -> None:
        with self.lock:
            self.acknowledged.setdefault(number, []).append((revision, answer))


def sign_in(browser: Browser, email: str) -> None:
    page = browser.get("/login")
    reply = browser.post("/login", data={"csrf_token": csrf_of(page), "email": email, "password": PASSWORD})
    assert reply.status_code == 302, reply.status_code


def answer_items(browser: Browser, taken: Taken, formats: list[str], tab: int) -> None:
    """Answer every item through the page's autosave, changing each answer once; a stale save is retried
    with the revision the server sent back, as take.js does."""
    for number, fmt in enumerate(formats, start=1):
        page = browser.get(f"/test/item/{number}")
        assert page.status_code == 200, (number, page.status_code)
        revision_found = REVISION.search(page.text)
        assert revision_found
        revision, token = int(revision_found.group(1)), csrf_of(page)
        for change in range(2):
            answer = answer_for(fmt, hash((taken.invitation, number, tab, change)))
            for _ in range(5):
                reply = browser.post(
                    "/test/answers",
                    data=json.dumps({"item": number, "answer": answer, "revision": revision}),
                    headers={"Content-Type": "application/json", "X-CSRFToken": token},
                )
                body = reply.json()
                if reply.status_code == 200:
                    revision, token = body["revision"], body["csrf_token"]
                    taken.ack(number, revision, answer)
                    break
                assert reply.status_code == 409, (reply.status_code, body)
                with taken.lock:
                    taken.refused[number] += 1
                revision = body["revision"]  # the other tab saved first: save on top of its answer
            else:
                pytest.fail(f"item {number} stayed stale five times")


def take_test(ports: tuple[int, int], link: str, invitation: str, formats: list[str], two_tabs: bool) -> Taken:
    """The candidate's journey: landing, consent, overview, start, the items, review, submit, done."""
    taken = Taken(invitation)
    path = urlsplit(link).path
    tabs = [Browser(ports) for _ in range(2 if two_tabs else 1)]
    for browser in tabs:
        landing = browser.get(path)
        assert landing.status_code == 200, landing.status_code
        accepted = browser.post(path, data={"csrf_token": csrf_of(landing), "consent": "yes", "extra_time": "0"})
        assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/test"), accepted.status_code
        overview = browser.follow(accepted)
        assert overview.status_code == 200, overview.status_code
        if urlsplit(overview.url).path == "/test":  # not started yet; a second tab is sent on to item 1
            started = browser.post("/test/start", data={"csrf_token": csrf_of(overview)})
            assert started.status_code == 302, started.status_code
    if two_tabs:
        with ThreadPoolExecutor(max_workers=2) as both:
            for outcome in [both.submit(answer_items, tab, taken, formats, n) for n, tab in enumerate(tabs)]:
                outcome.result()
    else:
        answer_items(tabs[0], taken, formats, 0)
    review = tabs[0].get("/test/review")
    assert review.status_code == 200, review.status_code
    sent = tabs[0].post("/test/submit", data={"csrf_token": csrf_of(review)})
    assert sent.status_code == 302, sent.status_code
    done = tabs[0].follow(sent)
    assert done.status_code == 200 and done.url.endswith("/test/done"), (done.status_code, done.url)
    taken.submitted = True
    return taken


# --- The test ---------------------------------------------------------------------------------------------------


def test_two_web_processes_and_two_consumers_lose_nothing_and_do_nothing_twice(
    tmp_path: Path, postgres_url: str, smtp_server: tuple[Mailbox, int], cluster: Cluster
) -> None:
    from assessments.models import Answer, AnswerEvent, Attempt, AttemptResult, Invitation
    from candidates.models import Candidate
    from database import db
    from mailer import EmailMessage, EmailStatus
    from reports.models import JobStatus, Report, ReportFile, ReportJob

    mailbox = smtp_server[0]
    app = create_app(_base_config(postgres_url, smtp_server[1]))
    started = time.monotonic()
    try:
        world = seed(app)
        mailbox.clear()
        ports = cluster.web_ports
        any_log = cluster.logs[2]

        # The recruiter invites everyone with one CSV file; a consumer sends the batch, both deliver the emails.
        recruiter = Browser(ports)
        sign_in(recruiter, world.recruiter_email)
        people = [(f"Candidate {n:02d}", f"candidate{n:02d}@multi.example") for n in range(CANDIDATES)]
        csv = "name,email\n" + "".join(f"{name},{address}\n" for name, address in people)
        detail = recruiter.get(f"/assessments/{world.assessment_id}")
        assert detail.status_code == 200, detail.status_code
        uploaded = recruiter.post(
            f"/assessments/{world.assessment_id}/batches",
            data={"csrf_token": csrf_of(detail)},
            files={"file": ("candidates.csv", csv.encode(), "text/csv")},
        )
        assert uploaded.status_code == 302, uploaded.status_code

        def invitations_delivered() -> bool:
            return len({m["To"] for m in list(mailbox.messages)}) >= CANDIDATES

        wait_for(invitations_delivered, DEADLINE, "every invitation email delivered", any_log)
        print(f"invited: {time.monotonic() - started:.1f} s")
        links = {}
        for message in list(mailbox.messages):
            found = re.findall(r"https?://\S+/t/\S+", message.get_content())
            assert len(found) == 1, found
            links[str(message["To"])] = found[0]
        with app.app_context():
            query = select(Candidate.email, Invitation.public_id).join(Invitation.candidate)
            invitation_of = dict(db.session.execute(query).all())
            invitation_id_of = dict(db.session.execute(select(Invitation.public_id, Invitation.id)).all())
        formats = ["rate", *FORMATS]
        assert len(formats) == world.items

        # Candidates take the test, several at once, every request on the other web process.
        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            futures = [
                pool.submit(take_test, ports, links[address], invitation_of[address], formats, n in TWO_TABS)
                for n, (_, address) in enumerate(people)
            ]
            taken = [future.result() for future in futures]
        assert all(t.submitted for t in taken)
        print(f"tests taken: {time.monotonic() - started:.1f} s")

        # The recruiter releases every report, from two tabs at once: the client's user is emailed, a consumer
        # renders the PDF. One CSRF token serves the whole session.
        token = csrf_of(recruiter.get(f"/assessments/{world.assessment_id}"))
        tabs = [recruiter, Browser(ports[::-1])]
        tabs[1].session.cookies.update(recruiter.session.cookies)

        def release(tab: Browser, invitations: list[str]) -> None:
            for invitation in invitations:
                released = tab.post(f"/reports/invitations/{invitation}/release", data={"csrf_token": token})
                assert released.status_code == 302, released.status_code
                assert "/reports/invitations/" in released.headers["Location"]

        # Before that, for a few, notes and then "Create PDF" clicked twice at once, once on each web process:
        # one job, one render (reports/jobs.py holds the report's row while it looks for a job).
        for n in DOUBLE_CLICK:
            subject = taken[n].invitation
            noted = recruiter.post(
                f"/reports/invitations/{subject}/notes", data={"csrf_token": token, "notes": f"Notes {n}"}
            )
            assert noted.status_code == 302, noted.status_code
            clicks = [Browser((port,)) for port in ports]
            together = threading.Barrier(2, timeout=10)

            def click(tab: Browser, subject: str = subject, together: threading.Barrier = together) -> int:
                tab.session.cookies.update(recruiter.session.cookies)
                together.wait()
                return tab.post(f"/reports/invitations/{subject}/render", data={"csrf_token": token}).status_code

            with ThreadPoolExecutor(max_workers=2) as pool:
                assert [f.result() for f in [pool.submit(click, tab) for tab in clicks]] == [302, 302]

        with ThreadPoolExecutor(max_workers=2) as pool:
            halves = [[t.invitation for t in taken[n::2]] for n in range(2)]
            for outcome in [pool.submit(release, tab, half) for tab, half in zip(tabs, halves, strict=True)]:
                outcome.result()

        def renders_finished() -> bool:
            with app.app_context():
                unfinished = db.session.scalar(
                    select(func.count())
                    .select_from(ReportJob)
                    .where(ReportJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
                )
                db.session.remove()
            return unfinished == 0

        def outbox_empty() -> bool:
            with app.app_context():
                waiting = db.session.scalar(
                    select(func.count()).select_from(EmailMessage).where(EmailMessage.status != EmailStatus.SENT)
                )
                db.session.remove()
            return waiting == 0

        print(f"released: {time.monotonic() - started:.1f} s")
        wait_for(renders_finished, DEADLINE, "every report rendered", any_log)
        print(f"rendered: {time.monotonic() - started:.1f} s")
        wait_for(outbox_empty, DEADLINE, "every email sent", any_log)
        time.sleep(1)  # a duplicate delivery, were there one, would arrive now

        with app.app_context():
            # Every acknowledged save is in the answer log, and the answer kept is the last one acknowledged.
            for t in taken:
                invitation = db.session.scalars(select(Invitation).where(Invitation.public_id == t.invitation)).one()
                attempt = db.session.scalars(select(Attempt).where(Attempt.invitation_id == invitation.id)).one()
                assert attempt.submitted_at is not None and attempt.finalised_by == "candidate"
                assert (
                    db.session.scalar(
                        select(func.count()).select_from(AttemptResult).where(AttemptResult.attempt_id == attempt.id)
                    )
                    == 1
                )
                assert sorted(t.acknowledged) == list(range(1, world.items + 1))
                for number, saves in t.acknowledged.items():
                    version_id = attempt.item_order[number - 1]
                    revisions = [revision for revision, _ in saves]
                    assert len(set(revisions)) == len(revisions), f"one revision acknowledged twice: {revisions}"
                    logged = {
                        e.revision: e.answer
                        for e in db.session.scalars(
                            select(AnswerEvent).where(
                                AnswerEvent.attempt_id == attempt.id, AnswerEvent.version_id == version_id
                            )
                        )
                    }
                    for revision, answer in saves:
                        assert logged.get(revision) == answer, (t.invitation, number, revision)
                    last_revision, last_answer = max(saves, key=lambda save: save[0])
                    kept = db.session.get_one(Answer, (attempt.id, version_id))
                    assert (kept.revision, kept.answer) == (last_revision, last_answer)
                    assert len(logged) == len(saves), "a save was logged that nobody was told about"

            # Every email row reached the SMTP server exactly once, and nothing else did.
            rows = db.session.scalars(select(EmailMessage).where(EmailMessage.id.not_in(world.emails_before))).all()
            delivered = collections.Counter(str(m["Message-ID"]) for m in list(mailbox.messages))
            expected = {row.message_id: row for row in rows}
            assert {row.template for row in rows} == {"invitation", "report_released"}
            assert len(rows) == 2 * CANDIDATES
            assert all(row.status is EmailStatus.SENT and row.attempts == 1 for row in rows)
            assert set(delivered) == set(expected), "an email was lost, or one was sent that no row holds"
            assert [mid for mid, n in delivered.items() if n > 1] == [], "an email was delivered twice"

            # Every report was rendered once per content: one job for each content, one attempt, one stored PDF,
            # one render logged. A report asked for before its release has a second job for the released content,
            # unless the release came while the first was still waiting (the job renders what is current then).
            reports = db.session.scalars(select(Report)).all()
            assert len(reports) == CANDIDATES and all(r.released_at is not None for r in reports)
            jobs = db.session.scalars(select(ReportJob)).all()
            per_report = collections.Counter(j.report_id for j in jobs)
            clicked = {invitation_id_of[taken[n].invitation] for n in DOUBLE_CLICK}
            assert all(per_report[r.id] in ((1, 2) if r.invitation_id in clicked else (1,)) for r in reports), (
                per_report
            )
            assert len({(j.report_id, j.context_hash) for j in jobs}) == len(jobs), "one content, two jobs"
            assert all(j.status is JobStatus.DONE and j.attempts == 1 and j.file_id for j in jobs)
            files = db.session.scalars(select(ReportFile)).all()
            assert len(files) == len(jobs)
            assert {f.id for f in files} == {j.file_id for j in jobs}
            assert all(f.pdf.startswith(b"%PDF-") and f.pages >= 1 for f in files)
            consumer_logs = "".join(log.read_text(errors="replace") for log in cluster.logs[2:])
            rendered = collections.Counter(re.findall(r"report job (\d+) rendered", consumer_logs))
            assert rendered == {str(j.id): 1 for j in jobs}, rendered
            db.session.remove()
    except BaseException:
        print(cluster.tails())
        raise
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        print(f"multi-process test body: {time.monotonic() - started:.1f} s")


# --- A consumer killed mid-run -------------------------------------------------------------------------------

QUEUE_EMAILS = """
import sys
from app import create_app
from database import unit_of_work, utcnow
from mailer import queue_email
app = create_app()
with app.app_context(), unit_of_work():
    for n in range(int(sys.argv[1])):
        queue_email(to=f"reader{n:02d}@killed.example", template="password_reset",
                    values={"name": f"Reader {n}", "link": "https://x.example/y", "minutes": "30"},
                    now=utcnow(), agency_id=None)
"""
KILLED_EMAILS = 40


class SlowMailbox(Mailbox):
    """A server that takes a moment over each message, so a consumer killed mid-run is killed mid-delivery."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(0.15)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp() -> Iterator[tuple[Mailbox, int]]:
    from aiosmtpd.controller import Controller

    mailbox, port = SlowMailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def test_a_consumer_killed_mid_delivery_loses_no_email_and_repeats_only_those_in_flight(
    tmp_path: Path, postgres_url: str, redis_url: str, slow_smtp: tuple[Mailbox, int]
) -> None:
    """DECISIONS.md: at least once; a duplicate only in the crash window, with the same Message-ID. The periodic
    sweep on the surviving consumer sends again what the killed one held (a short lease here, 5 minutes by default).
    """
    from database import db
    from mailer import EmailMessage, EmailStatus

    mailbox, smtp_port = slow_smtp
    env = process_env(tmp_path, postgres_url, smtp_port=smtp_port, redis_url=redis_url, EMAIL_LEASE_SECONDS="2")
    logs = [tmp_path / "consumer-1.log", tmp_path / "consumer-2.log"]
    app = create_app(_base_config(postgres_url, smtp_port))
    processes = []
    try:
        processes.append(spawn_worker(env, logs[0], "--workers", "2"))
        processes.append(spawn_worker(env, logs[1], "--workers", "2", "--no-periodic"))
        victim = processes[1]
        wait_until_consuming(logs[0])
        wait_until_consuming(logs[1])
        render_children = children_of(victim.pid)
        subprocess.run(
            [sys.executable, "-c", QUEUE_EMAILS, str(KILLED_EMAILS)], cwd=ROOT, env=env, check=True, timeout=60
        )
        wait_for(lambda: len(mailbox.messages) >= 6, DEADLINE, "the first deliveries", logs[1])
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        with app.app_context():
            in_flight = set(
                db.session.scalars(select(EmailMessage.id).where(EmailMessage.status == EmailStatus.SENDING))
            )
            db.session.remove()
        # Its render process notices the closed socket and ends: nothing is left behind.
        wait_for(lambda: not any(alive(pid) for pid in render_children), DEADLINE, "the render child gone", logs[1])

        def all_sent() -> bool:
            with app.app_context():
                waiting = db.session.scalar(
                    select(func.count()).select_from(EmailMessage).where(EmailMessage.status != EmailStatus.SENT)
                )
                db.session.remove()
            return waiting == 0

        # The sweep runs at the top of each minute; the lease has long run out by then.
        wait_for(all_sent, 90, "every email sent after the kill", logs[0])
        time.sleep(1)
        with app.app_context():
            rows = db.session.scalars(select(EmailMessage)).all()
            db.session.remove()
        delivered = collections.Counter(str(m["Message-ID"]) for m in list(mailbox.messages))
        assert len(rows) == KILLED_EMAILS
        assert set(delivered) == {row.message_id for row in rows}, "an email was lost"
        resent = {row.id for row in rows if row.attempts > 1}
        assert resent <= in_flight, "only a message the killed consumer held is sent again"
        assert len(resent) <= 2, "the killed consumer had two threads"
        twice = {row.id for row in rows if delivered[row.message_id] > 1}
        assert twice <= resent, "a duplicate only in the crash window: a message sent again after a lost outcome"
        assert all(delivered[row.message_id] <= row.attempts for row in rows)
        print(f"in flight at the kill: {len(in_flight)}, sent again: {len(resent)}, delivered twice: {len(twice)}")
    except BaseException:
        print("\n".join(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}" for log in logs))
        raise
    finally:
        stop_all(processes)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
