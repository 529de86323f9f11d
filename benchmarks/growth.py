"""Growth benchmark: the recruiter's list and results pages with 1,000 and with 100,000 candidates in the agency.

Target (shared performance spec, "growth"): recruiter list and result pages take the same time (within 1.5x)
with 1,000 and with 100,000 candidates in the agency.

Method: two fresh databases (SQLite files in a temporary folder by default; --backend postgresql creates and
drops PostgreSQL databases), migrated with the app's migrations. Each holds one agency with one client, a
recruiter (not an admin), 20 positions and one published four-item assessment per position. The measured
position has the same candidates in both: 60 invited through the real services, 50 of them started, answered
and submitted (scored) through them. The other 19 positions take the rest of the agency's candidates
(940 or 99,940), inserted in bulk (executemany): candidates, invitations, submitted attempts, their four
answers and a scored result each. So the pages show the same rows at both sizes, and only what the agency
holds around them grows.

The recruiter signs in through the real sign-in page; each page is then requested through the real app (the
Flask test client: session, access policy, tenant scope, templates, security headers) --warmup times, then
--requests times, alternating between the two databases request by request so that the machine's load falls on
both alike. Per page and size: median and p95 time, SQL statements per request and time in SQL; the ratio of
the 100,000 median to the 1,000 median is the figure (target <= 1.5x). The pages: the candidate list, the
positions list, the assessments list, an assessment's results, a position's results, a position's reports
overview, and a position's fit ranking.

    .venv/bin/python benchmarks/growth.py --check [--backend sqlite|postgresql] [--requests 40] [--large 100000]

Prints one line per page; with --check exits 1 when a page misses. Appends one row per page to
benchmarks/RESULTS.md unless --no-record is given, with the bottleneck named (what grew: SQL statements, the
slowest statement, or time outside SQL).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this file's folder comes first on sys.path, where benchmarks/http.py would hide the standard
# library's http package from everything imported afterwards. Put the repository there instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import common  # noqa: E402
from benchmarks import http as bench  # noqa: E402

TARGET = 1.5
SMALL = 1_000
POSITIONS = 20
MEASURED_INVITED = 60
MEASURED_SUBMITTED = 50
PASSWORD = secrets.token_urlsafe(16)
RECRUITER = "recruiter@growth.example"
BATCH = 5_000


@dataclass
class Agency:
    """One seeded database: its app, a signed-in recruiter's client and the pages' addresses."""

    size: int
    app: Any
    client: Any = None
    pages: dict[str, str] = field(default_factory=dict)


# --- Seeding ----------------------------------------------------------------------------------------------


def build_agency(size: int) -> dict[str, str]:
    """The agency, its positions and assessments, the measured position through the services, the rest in bulk.

    Returns the public ids the pages need.
    """
    from sqlalchemy import insert, select, text

    from accounts import services as accounts
    from accounts.models import Role
    from assessments import delivery, invitations
    from assessments import services as builder
    from assessments.models import Answer, Attempt, AttemptResult, Invitation
    from candidates.models import Candidate, name_key_for
    from database import db, new_public_id, unit_of_work, utcnow
    from positions.models import Position
    from scenarios import services as bank
    from scenarios.models import Competency, Instruction, KeyType, ResponseFormat, Status

    now = utcnow()
    with unit_of_work():
        agency = accounts.create_agency("Growth Agency", now)
        agency.privacy_contact = "privacy@growth.example"
        client = accounts.create_client(agency, name="Growth Client", contact_email=None, notes="", by=None, now=now)
        admin = accounts.create_user(
            agency,
            email="admin@growth.example",
            name="Growth Admin",
            role=Role.ADMIN,
            client=None,
            now=now,
            by=None,
            password=secrets.token_urlsafe(16),
            send_setup_email=False,
        )
        accounts.create_user(
            agency,
            email=RECRUITER,
            name="Growth Recruiter",
            role=Role.RECRUITER,
            client=None,
            now=now,
            by=admin,
            password=PASSWORD,
            send_setup_email=False,
        )
        bank.seed_competencies(agency, now)
        versions = []
        for number, fmt in enumerate(bench.FORMATS, start=1):
            data = bank.ScenarioInput(
                role="payroll",
                role_context="Payroll officer; monthly cut-off; pay changes need a signed form.",
                situation_type="S12",
                stem=bench.STEM,
                instruction=Instruction.SHOULD_DO,
                response_format=ResponseFormat(fmt),
                options=tuple(
                    bank.OptionInput(label, text, f"Rationale {label}")
                    for label, text in zip("ABCDE", bench.OPTIONS, strict=True)
                ),
                weights={"professionalism": 1.0},
                provenance_author="Growth author",
                provenance_source="A late pay change without approval",
                provenance_date=now.date(),
                key_type=KeyType.PROVISIONAL_SINGLE_AUTHOR,
            )
            scenario = bank.create_scenario(agency, f"GROWTH-{number}", data, by=None, now=now)
            bank.set_ratings(
                scenario.latest,
                {label: [("Author", value)] for label, value in zip("ABCDE", bench.KEYS[fmt], strict=True)},
                KeyType.PROVISIONAL_SINGLE_AUTHOR,
                by=None,
                now=now,
            )
            bank.publish(scenario.latest, Status.OPERATIONAL, by=None, now=now)
            versions.append(scenario.latest)
        professionalism = db.session.scalar(
            select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
        )
        assessments = []
        for p in range(POSITIONS):
            position = Position(
                agency_id=agency.id,
                client_id=client.id,
                title=f"Payroll officer {p + 1:02d}",
                responsibilities="",
                created_at=now,
            )
            db.session.add(position)
            db.session.flush()
            assessment = builder.create_assessment(position, f"Payroll assessment {p + 1:02d}", by=admin, now=now)
            for version in versions:
                builder.add_item(assessment, version, by=admin, now=now)
            assessment.reported = [professionalism]
            assessment.time_limit_minutes = 60
            builder.publish(assessment, by=admin, now=now)
            assessments.append(assessment)
        measured = assessments[0]
        labels = [[o.label for o in v.options] for v in versions]
        for i in range(MEASURED_INVITED):
            invitation = invitations.invite(
                measured, name=f"Measured {i:03d}", email=f"measured{i}@growth.example", by=admin, now=now
            )
            if i >= MEASURED_SUBMITTED:
                continue
            delivery.record_consent(invitation, 0, now)
            attempt = delivery.start_attempt(invitation, now)
            for n, version in enumerate(versions):
                answer = json.loads(bench.answers_for(version.response_format.value, labels[n])[i % 2])
                delivery.save_answer(attempt, version.id, answer, 0, now, channel="autosave")
            delivery.submit(attempt, now + timedelta(minutes=20))
        db.session.flush()
        template = db.session.scalars(select(AttemptResult).order_by(AttemptResult.id)).first()
        assert template is not None
        answers = {
            a.version_id: a.answer
            for a in db.session.scalars(select(Answer).where(Answer.attempt_id == template.attempt_id))
        }
        ids = {"assessment": measured.public_id, "position": measured.position.public_id}
        agency_id, client_id = agency.id, client.id
        others = [(a.id, a.position_id) for a in assessments[1:]]
        result_fields = (template.algorithm_version, template.score_version, template.detail)
    background = size - MEASURED_INVITED
    for start in range(0, background, BATCH):
        chunk = range(start, min(start + BATCH, background))
        with unit_of_work():
            people = db.session.execute(
                insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True),
                [
                    {
                        "agency_id": agency_id,
                        "name": f"Candidate {i:06d}",
                        "name_key": name_key_for(f"Candidate {i:06d}"),
                        "email": f"c{i}@growth.example",
                        "created_at": now,
                    }
                    for i in chunk
                ],
            ).all()
            invited = db.session.execute(
                insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True),
                [
                    {
                        "public_id": new_public_id(),
                        "agency_id": agency_id,
                        "client_id": client_id,
                        "assessment_id": others[i % len(others)][0],
                        "candidate_id": people[k].id,
                        "token_version": 1,
                        "expires_at": now + timedelta(days=7),
                        "consent_at": now,
                        "extra_time_percent": 0,
                        "reminders_sent": 0,
                        "created_at": now,
                    }
                    for k, i in enumerate(chunk)
                ],
            ).all()
            attempts = db.session.execute(
                insert(Attempt).returning(Attempt.id, sort_by_parameter_order=True),
                [
                    {
                        "invitation_id": row.id,
                        "agency_id": agency_id,
                        "started_at": now,
                        "deadline": now + timedelta(hours=1),
                        "submitted_at": now + timedelta(minutes=20),
                        "finalised_by": "candidate",
                        "item_order": [v.id for v in versions],
                    }
                    for row in invited
                ],
            ).all()
            db.session.execute(
                insert(Answer),
                [
                    {"attempt_id": a.id, "version_id": v, "answer": answer, "revision": 1, "saved_at": now}
                    for a in attempts
                    for v, answer in answers.items()
                ],
            )
            db.session.execute(
                insert(AttemptResult),
                [
                    {
                        "attempt_id": a.id,
                        "algorithm_version": result_fields[0],
                        "score_version": result_fields[1],
                        "overall_pomp": float(k % 101),
                        "detail": result_fields[2],
                        "computed_at": now,
                    }
                    for k, a in enumerate(attempts)
                ],
            )
    with unit_of_work():
        db.session.execute(text("ANALYZE"))  # the statistics a maintained database has, for the query planner
    return ids


def seed(url: str, size: int) -> Agency:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 8192})
    with app.app_context():
        upgrade()
        ids = build_agency(size)
    agency = Agency(size=size, app=app)
    agency.pages = {
        "candidate list": "/candidates",
        "positions list": "/positions",
        "assessments list": "/assessments",
        "assessment results": f"/assessments/{ids['assessment']}/results",
        "position results": f"/assessments/positions/{ids['position']}/results",
        "position reports overview": f"/reports/positions/{ids['position']}",
        "position fit": f"/assessments/positions/{ids['position']}/fit",
    }
    agency.client = sign_in(app)
    return agency


CSRF_FIELD = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]+)"')


def sign_in(app: Any) -> Any:
    """A test client signed in as the recruiter through the real sign-in page."""
    client = app.test_client()
    page = client.get("/login")
    field = CSRF_FIELD.search(page.get_data(as_text=True))
    token = VALUE.search(field.group(0)) if field else None
    common.expect(token is not None, "no CSRF token on the sign-in page")
    assert token is not None
    reply = client.post("/login", data={"email": RECRUITER, "password": PASSWORD, "csrf_token": token.group(1)})
    common.expect(reply.status_code == 302, f"sign-in answered {reply.status_code}")
    return client


# --- Timing -----------------------------------------------------------------------------------------------


@dataclass
class Timing:
    """One page at one size."""

    ms: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    slowest: dict[str, float] = field(default_factory=dict)  # statement -> its longest time (ms)

    @property
    def median(self) -> float:
        return statistics.median(self.ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.ms)
        return ordered[min(len(ordered) - 1, round(0.95 * len(ordered)) - 1)]


class SqlMeter:
    """Counts the SQL statements of a request and the time spent in them."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.each: dict[str, float] = {}
        self._started = 0.0

    def before(self, *_args: Any) -> None:
        self._started = time.perf_counter()

    def after(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        spent = time.perf_counter() - self._started
        self.count += 1
        self.seconds += spent
        key = " ".join(statement.split())[:160]
        self.each[key] = max(self.each.get(key, 0.0), spent * 1000)

    def reset(self) -> None:
        self.count, self.seconds, self.each = 0, 0.0, {}


@contextlib.contextmanager
def metered() -> Iterator[SqlMeter]:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    meter = SqlMeter()
    event.listen(Engine, "before_cursor_execute", meter.before)
    event.listen(Engine, "after_cursor_execute", meter.after)
    try:
        yield meter
    finally:
        event.remove(Engine, "before_cursor_execute", meter.before)
        event.remove(Engine, "after_cursor_execute", meter.after)


def fetch(agency: Agency, url: str, meter: SqlMeter, timing: Timing | None) -> None:
    meter.reset()
    started = time.perf_counter()
    reply = agency.client.get(url)
    spent = (time.perf_counter() - started) * 1000
    if reply.status_code != 200:
        raise RuntimeError(f"{url} answered {reply.status_code} at {agency.size:,} candidates")
    if timing is not None:
        timing.ms.append(spent)
        timing.statements.append(meter.count)
        timing.sql_ms.append(meter.seconds * 1000)
        for key, ms in meter.each.items():
            timing.slowest[key] = max(timing.slowest.get(key, 0.0), ms)


def measure(small: Agency, large: Agency, requests: int, warmup: int) -> dict[str, tuple[Timing, Timing]]:
    """Every page, request by request alternating between the sizes (and which goes first)."""
    timings: dict[str, tuple[Timing, Timing]] = {}
    with metered() as meter:
        for page in small.pages:
            pair = (Timing(), Timing())
            for n in range(warmup + requests):
                order = ((0, small), (1, large)) if n % 2 == 0 else ((1, large), (0, small))
                for index, agency in order:
                    fetch(agency, agency.pages[page], meter, pair[index] if n >= warmup else None)
            timings[page] = pair
    return timings


# --- Figures ---------------------------------------------------------------------------------------------


def bottleneck(small: Timing, large: Timing) -> str:
    """What grew between the sizes, from the SQL measurements."""
    statements = (statistics.median(small.statements), statistics.median(large.statements))
    sql = (statistics.median(small.sql_ms), statistics.median(large.sql_ms))
    other = (small.median - sql[0], large.median - sql[1])
    if statements[1] > statements[0] * 1.1 + 1:
        return f"more SQL statements with more candidates ({statements[0]:.0f} -> {statements[1]:.0f}: a query per row)"
    if sql[1] - sql[0] >= other[1] - other[0]:
        grew = max(large.slowest, key=lambda k: large.slowest[k] - small.slowest.get(k, 0.0))
        return (
            f"time in SQL ({sql[0]:.1f} -> {sql[1]:.1f} ms; the statement that grew most: "
            f"{grew[:110]}... {small.slowest.get(grew, 0.0):.1f} -> {large.slowest[grew]:.1f} ms)"
        )
    return f"time outside SQL ({other[0]:.1f} -> {other[1]:.1f} ms: Python and templates)"


def line(page: str, pair: tuple[Timing, Timing], sizes: tuple[int, int]) -> str:
    small, large = pair
    ratio = large.median / small.median
    return (
        f"{page}: {sizes[0]:,} candidates median {small.median:.1f} ms / p95 {small.p95:.1f} ms, "
        f"{statistics.median(small.statements):.0f} SQL statements ({statistics.median(small.sql_ms):.1f} ms in SQL); "
        f"{sizes[1]:,} candidates median {large.median:.1f} ms / p95 {large.p95:.1f} ms, "
        f"{statistics.median(large.statements):.0f} SQL statements ({statistics.median(large.sql_ms):.1f} ms in SQL); "
        f"ratio {ratio:.2f}x median, {large.p95 / small.p95:.2f}x p95"
    )


def main(argv: list[str] | None = None) -> int:
    """Seed both sizes, time the pages, print and record the ratios; with --check return 1 on a miss."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a page misses the target")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--requests", type=int, default=40, help="measured requests per page and size (40)")
    parser.add_argument("--warmup", type=int, default=5, help="requests per page and size before measuring (5)")
    parser.add_argument("--large", type=int, default=100_000, help="candidates in the large agency (100,000)")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    common.stop_cleanly_on_signals()
    load = os.getloadavg()
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    folder = Path(tempfile.mkdtemp(prefix="rapport-growth-bench-"))
    revision = common.git_revision(None)
    agencies: list[Agency] = []
    try:
        common.prepare_environment(folder)
        with contextlib.ExitStack() as stack:
            for size in (SMALL, args.large):
                sub = folder / str(size)
                sub.mkdir()
                url = stack.enter_context(common.database(args.backend, sub))
                started = time.perf_counter()
                agencies.append(seed(url, size))
                print(f"{args.backend} seeded {size:,} candidates in {time.perf_counter() - started:.1f} s", flush=True)
            try:
                timings = measure(agencies[0], agencies[1], args.requests, args.warmup)
            finally:
                for agency in agencies:
                    with agency.app.app_context():
                        from database import db

                        db.session.remove()
                        db.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    command = common.command_line("benchmarks/growth.py", argv)
    date = common.utc_minute()
    sizes = (SMALL, args.large)
    failed = False
    for page, pair in timings.items():
        ratio = pair[1].median / pair[0].median
        met = ratio <= TARGET
        failed = failed or not met
        figure = line(page, pair, sizes)
        named = bottleneck(*pair)
        print(f"{figure}: {'met' if met else 'MISSED'}; bottleneck: {named}")
        if not args.no_record:
            detail = (
                f"{args.backend} {figure}; what grows: {named}; Flask test client, signed-in recruiter, "
                f"{args.requests} requests per page and size alternating; load {load[0]:.2f} at start"
            )
            target = f"<= {TARGET}x the 1,000 median"
            common.append_result(date, revision, command, detail.replace("|", "/"), target, "met" if met else "MISSED")
    if args.check and failed:
        print("FAILED: a page is more than 1.5x slower with 100,000 candidates", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
