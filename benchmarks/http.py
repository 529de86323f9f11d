"""HTTP benchmark: the candidate's item page and autosave against minimal references, on SQLite and PostgreSQL.

Targets (shared performance spec):
- candidate item page (GET /test/item/<n>, the real app) >= 0.5x the minimal item page's req/s, p99 <= 2.5x
  the reference's p99;
- autosave (POST /test/answers, the real app) >= 0.5x the minimal autosave's req/s, p99 <= 2.5x the
  reference's p99; on SQLite and on PostgreSQL.
The references must reach half of Flask hello's req/s in the same run, or the run is void.

Method: a fresh database per backend (a SQLite file in a temporary folder; a PostgreSQL database created
and dropped here), migrated with the app's migrations and seeded with one published assessment (four
items, one per response format, each with a ~1 KB stem and 5 options) and one started attempt per
candidate session, each obtained through the real pages (link, consent, start) with the Flask test
client. The real app and the reference app (benchmarks/http_reference.py) then run under gunicorn with 2
sync workers on 127.0.0.1, with the same environment; wrk drives each endpoint with `-t2 -c32 --latency`
for --duration seconds after a warm-up, one after the other. Requests carry the candidates' own session
cookies and CSRF tokens (64 sessions, 32 per wrk thread); an autosave session has one save in flight at
most and tracks its revision from the JSON replies (benchmarks/http_get.lua, http_autosave.lua), so 409s
do not appear unless the app refuses a save it should accept. A run with more than 1% errors (non-200
replies, 409s included, or socket errors) fails.

    .venv/bin/python benchmarks/http.py --check [--backend sqlite|postgresql|both] [--duration 10] [--commit REV]

By default the working tree is measured (the commit column then says +dirty when tracked files differ
from HEAD); --commit REV measures a clean export of that commit instead (`git archive`), which is what to
use while others are editing the tree.

Prints one line per figure; with --check exits 1 when a target is missed or the run is void. Appends
rows to benchmarks/RESULTS.md unless --no-record is given. --profile also profiles both real endpoints
in-process (cProfile, the Flask test client on the same seeded database) and prints where the time goes.
Everything started here (gunicorn, databases, temporary files) is stopped or removed on exit, errors
included.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this file's folder comes first on sys.path, where "http.py" would hide the standard
# library's http package from everything imported afterwards (urllib, werkzeug). Put the repository there.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import contextlib  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks.common import (  # noqa: E402
    append_result,
    command_line,
    database,
    expect,
    free_port,
    git_revision,
    gunicorn_binary,
    prepare_environment,
    serve,
    stop_cleanly_on_signals,
    utc_minute,
)

GET_SCRIPT = HERE / "http_get.lua"
AUTOSAVE_SCRIPT = HERE / "http_autosave.lua"
THREADS = 2
CONNECTIONS = 32
APP_ROOT = ROOT  # where the measured app lives: the repository, or an export of --commit
SESSIONS = 64  # twice the connections: an autosave session waits for its reply before its next save
WORKERS = 2
RPS_TARGET = 0.5  # real >= 0.5x the reference's req/s
P99_TARGET = 2.5  # real p99 <= 2.5x the reference's p99
HONEST = 0.5  # references >= 0.5x Flask hello's req/s, or the run is void
MAX_ERRORS = 0.01

STEM = (
    "You are a payroll officer at a mid-sized logistics firm. It is the last working day before the monthly "
    "cut-off, and the payroll system closes at 17:00; it is now 14:10. A team leader from the warehouse "
    "comes to your desk and asks you to add a pay rise for one of their staff, backdated two months. They "
    "say the rise was agreed with the operations director at the annual review, and that the member of "
    "staff has already been told it will be in this month's pay. The signed approval form is missing. The "
    "HR manager who signs such forms is on leave until next Tuesday, and their deputy is in meetings all "
    "afternoon but answers email between them. The payroll procedure says that every change to pay needs a "
    "signed form before it is processed, and that backdated changes also need a note from finance. The "
    "team leader is visibly frustrated: the member of staff has a mortgage payment due and was counting on "
    "the money. Your own manager is in the building. Two colleagues are waiting for your help with the "
    "month-end reconciliation, which must also be finished today."
)
OPTIONS = (
    "Explain the procedure, and ask the team leader to get the form signed by the deputy HR manager today.",
    "Add the rise now, and ask the team leader to send the signed form as soon as the HR manager is back.",
    "Leave the rise out of this month, and tell the member of staff directly that the form is missing.",
    "Ask your own manager to decide, and add the rise only if they agree to take responsibility for it.",
    "Email the deputy HR manager and finance at once, and add the rise only if both approvals arrive by 16:30.",
)
FORMATS = ("rate", "most_least", "rank", "single_best")
KEYS = {
    "rate": (5.6, 1.4, 2.5, 3.4, 4.6),
    "most_least": (5.6, 1.4, 2.5, 3.4, 4.6),
    "rank": (5.6, 4.5, 3.7, 2.1, 1.3),
    "single_best": (5.6, 1.4, 2.5, 3.4, 4.1),
}


# --- Seeding ------------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One candidate session: what wrk sends, and where its answer lives."""

    index: int
    cookie: str  # the Cookie header value
    csrf: str  # the X-CSRFToken header value
    item: int  # the item number it shows and saves
    attempt_id: int
    version_id: int
    answers: tuple[str, str]  # two valid answers (JSON) to alternate between

    @property
    def key(self) -> str:
        """The first part of the signed CSRF token: the same in every token of this session."""
        return self.csrf.split(".", 1)[0]


@dataclass
class Seeded:
    app: Any  # the Flask app bound to this database (for reading revisions and profiling)
    url: str
    candidates: list[Candidate]


def answers_for(fmt: str, labels: list[str]) -> tuple[str, str]:
    """Two different complete answers in the stored shape, as JSON."""
    if fmt == "rate":
        first = {"ratings": {label: 1 + (i * 2) % 6 for i, label in enumerate(labels)}}
        second = {"ratings": {label: 6 - (i * 2) % 6 for i, label in enumerate(labels)}}
    elif fmt == "rank":
        first = {"ranks": {label: i + 1 for i, label in enumerate(labels)}}
        second = {"ranks": {label: len(labels) - i for i, label in enumerate(labels)}}
    elif fmt == "most_least":
        first, second = {"most": labels[0], "least": labels[1]}, {"most": labels[2], "least": labels[0]}
    else:
        first, second = {"choice": labels[0]}, {"choice": labels[3]}
    return json.dumps(first, separators=(",", ":")), json.dumps(second, separators=(",", ":"))


def build_assessment(count: int) -> list[str]:
    """A published assessment with four items (one per format) and `count` invitations; their link paths."""
    from sqlalchemy import select

    from accounts import services as accounts
    from accounts.models import Role
    from assessments import invitations
    from assessments import services as builder
    from database import db, unit_of_work, utcnow
    from positions.models import Position
    from scenarios import services as bank
    from scenarios.models import Competency, Instruction, KeyType, ResponseFormat, Status

    now = utcnow()
    with unit_of_work():
        agency = accounts.create_agency("Benchmark Agency", now)
        agency.privacy_contact = "privacy@bench.example"
        client = accounts.create_client(agency, name="Benchmark Client", contact_email=None, notes="", by=None, now=now)
        admin = accounts.create_user(
            agency,
            email="admin@bench.example",
            name="Benchmark Admin",
            role=Role.ADMIN,
            client=None,
            now=now,
            by=None,
            password=secrets.token_urlsafe(16),
            send_setup_email=False,
        )
        bank.seed_competencies(agency, now)
        versions = []
        for number, fmt in enumerate(FORMATS, start=1):
            data = bank.ScenarioInput(
                role="payroll",
                role_context="Payroll officer; monthly cut-off; pay changes need a signed form.",
                situation_type="S12",
                stem=STEM,
                instruction=Instruction.SHOULD_DO,
                response_format=ResponseFormat(fmt),
                options=tuple(
                    bank.OptionInput(label, text, f"Rationale {label}")
                    for label, text in zip("ABCDE", OPTIONS, strict=True)
                ),
                weights={"professionalism": 1.0},
                provenance_author="Benchmark author",
                provenance_source="A late pay change without approval",
                provenance_date=now.date(),
                key_type=KeyType.PROVISIONAL_SINGLE_AUTHOR,
            )
            scenario = bank.create_scenario(agency, f"BENCH-{number}", data, by=None, now=now)
            bank.set_ratings(
                scenario.latest,
                {label: [("Author", value)] for label, value in zip("ABCDE", KEYS[fmt], strict=True)},
                KeyType.PROVISIONAL_SINGLE_AUTHOR,
                by=None,
                now=now,
            )
            bank.publish(scenario.latest, Status.OPERATIONAL, by=None, now=now)
            versions.append(scenario.latest)
        position = Position(
            agency_id=agency.id, client_id=client.id, title="Payroll officer", responsibilities="", created_at=now
        )
        db.session.add(position)
        db.session.flush()
        assessment = builder.create_assessment(position, "Benchmark assessment", by=admin, now=now)
        for version in versions:
            builder.add_item(assessment, version, by=admin, now=now)
        assessment.reported = [
            db.session.scalar(
                select(Competency).where(Competency.agency_id == agency.id, Competency.code == "professionalism")
            )
        ]
        assessment.time_limit_minutes = 240
        builder.publish(assessment, by=admin, now=now)
        links = [
            invitations.link_for(
                invitations.invite(
                    assessment, name=f"Candidate {i}", email=f"candidate{i}@bench.example", by=admin, now=now
                )
            )
            for i in range(count)
        ]
    return ["/t/" + link.split("/t/", 1)[1] for link in links]


CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(response: Any) -> str:
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    if match is None:
        raise RuntimeError(f"no CSRF token on the page (status {response.status_code})")
    return match.group(1)


def start_candidate(app: Any, path: str, index: int) -> Candidate:
    """Open the link, consent and start through the real pages; return the session as wrk will use it."""
    from sqlalchemy import select

    from assessments.models import Attempt, Invitation
    from database import db
    from scenarios.models import ScenarioVersion

    client = app.test_client()
    landing = client.get(path)
    expect(landing.status_code == 200, f"landing page answered {landing.status_code}")
    accepted = client.post(path, data={"consent": "yes", "extra_time": "0", "csrf_token": _csrf(landing)})
    expect(accepted.status_code == 302, f"consent answered {accepted.status_code}")
    overview = client.get("/test")
    expect(overview.status_code == 200, f"/test answered {overview.status_code}")
    started = client.post("/test/start", data={"csrf_token": _csrf(overview)})
    expect(started.status_code == 302, f"/test/start answered {started.status_code}")
    number = index % len(FORMATS) + 1
    page = client.get(f"/test/item/{number}")
    expect(page.status_code == 200, f"/test/item/{number} answered {page.status_code}")
    csrf = _csrf(page)
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name)
    expect(cookie is not None, "no session cookie")
    with app.app_context():
        with client.session_transaction() as held:
            public_id = held["candidate"]["i"]
        invitation = db.session.scalar(select(Invitation).where(Invitation.public_id == public_id))
        attempt = db.session.scalar(select(Attempt).where(Attempt.invitation_id == invitation.id))
        version = db.session.get_one(ScenarioVersion, attempt.item_order[number - 1])
        labels = [o.label for o in version.options]
        return Candidate(
            index=index,
            cookie=f"{name}={cookie.value}",
            csrf=csrf,
            item=number,
            attempt_id=attempt.id,
            version_id=version.id,
            answers=answers_for(version.response_format.value, labels),
        )


def seed(url: str, count: int) -> Seeded:
    """Migrate a fresh database, build the assessment and start `count` candidates; fill the reference tables."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from app import create_app
    from assessments.models import Assessment
    from benchmarks.http_reference import BenchItem, create_tables
    from database import db, unit_of_work

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        paths = build_assessment(count)
    candidates = [start_candidate(app, path, index) for index, path in enumerate(paths)]
    create_tables(url)
    with app.app_context(), unit_of_work():
        assessment = db.session.query(Assessment).one()
        rows = [
            {"id": n, "stem": item.version.stem, "options": [o.text for o in item.version.options]}
            for n, item in enumerate(assessment.items, start=1)
        ]
        db.session.execute(insert(BenchItem), rows)
    return Seeded(app=app, url=url, candidates=candidates)


def write_sessions(path: Path, seeded: Seeded, revisions: dict[int, int]) -> None:
    """The sessions file the wrk scripts read: one candidate a line, tab-separated."""
    lines = []
    for c in seeded.candidates:
        fields = [str(c.index), c.cookie, c.csrf, c.key, str(c.item), str(c.item), str(revisions.get(c.index, 0))]
        lines.append("\t".join([*fields, *c.answers]))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def real_revisions(seeded: Seeded) -> dict[int, int]:
    """Each candidate's current revision of the answer it saves, in the real app's tables."""
    from assessments.models import Answer
    from database import db

    with seeded.app.app_context():
        found = {}
        for c in seeded.candidates:
            answer = db.session.get(Answer, (c.attempt_id, c.version_id))
            found[c.index] = answer.revision if answer else 0
        db.session.remove()
    return found


def reference_revisions(seeded: Seeded) -> dict[int, int]:
    """Each candidate's current revision in the reference's table."""
    from sqlalchemy import text

    from database import db

    with seeded.app.app_context():
        rows = db.session.execute(text("SELECT candidate, revision FROM bench_answer")).all()
        db.session.remove()
    return dict(rows)  # type: ignore[arg-type]


# --- Servers, databases, wrk ----------------------------------------------------------------------


@contextlib.contextmanager
def gunicorn(target: str, env: dict[str, str], log: Path) -> Iterator[int]:
    """Run `target` under gunicorn (2 sync workers, 127.0.0.1) until the block ends; yield its port.

    gunicorn also reads the tree's gunicorn.conf.py. Its max_requests is off here: each server serves two or three
    cases in a row, and a worker restart (a new worker importing its app) falling inside one case and not another
    skews the ratios, which compare steady serving. benchmarks/load.py keeps production's setting."""
    port = free_port()
    command = [gunicorn_binary(), "--workers", str(WORKERS), "--worker-class", "sync", "--max-requests", "0"]
    command += ["--bind", f"127.0.0.1:{port}", "--log-level", "warning", target]
    with serve(command, APP_ROOT, env, log, port, stop_timeout=20):
        yield port


@dataclass
class Figures:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    ok: int
    conflict: int
    other: int
    socket_errors: int

    @property
    def errors(self) -> int:
        return self.conflict + self.other + self.socket_errors

    @property
    def error_rate(self) -> float:
        return self.errors / max(self.requests, 1)


UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> Figures:
    """Requests/sec, p50 and p99 (--latency), the request count, socket errors and the script's STATUS line."""

    def find(pattern: str) -> re.Match[str]:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"wrk output lacks {pattern!r}:\n{output}")
        return match

    status = find(r"^STATUS ok=(\d+) conflict=(\d+) other=(\d+) unmatched=(\d+)")
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Figures(
        rps=float(find(r"^Requests/sec:\s+([\d.]+)").group(1)),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)").group(1)),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)").group(1)),
        requests=int(find(r"^\s+(\d+) requests in").group(1)),
        ok=int(status.group(1)),
        conflict=int(status.group(2)),
        other=int(status.group(3)) + int(status.group(4)),
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0,
    )


def wrk(port: int, script: Path, path: str, sessions: Path, seconds: float) -> Figures:
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds:g}s", "--latency", "-s", str(script)]
    command += [f"http://127.0.0.1:{port}", "--", str(sessions), str(THREADS), path]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


@dataclass
class Case:
    label: str
    script: Path
    path: str
    revisions: Callable[[Seeded], dict[int, int]] | None = None  # autosave: read before each wrk run


def settled_revisions(case: Case, seeded: Seeded) -> dict[int, int]:
    """The current revisions once the saves wrk left in flight have been committed (two equal reads)."""
    assert case.revisions is not None
    previous = case.revisions(seeded)
    for _ in range(40):
        time.sleep(0.5)
        current = case.revisions(seeded)
        if current == previous:
            return current
        previous = current
    raise RuntimeError("the revisions kept changing after wrk stopped")


def measure(port: int, case: Case, seeded: Seeded, folder: Path, seconds: float, warmup: float) -> Figures:
    """A warm-up, then the measured run, each starting from the sessions' current revisions."""
    sessions = folder / "sessions.tsv"
    for length in (warmup, seconds):
        write_sessions(sessions, seeded, settled_revisions(case, seeded) if case.revisions else {})
        figures = wrk(port, case.script, case.path, sessions, length)
    return figures


# --- The run ----------------------------------------------------------------------------------------

HELLO = Case("Flask hello", GET_SCRIPT, "/hello")
REF_ITEM = Case("reference item page", GET_SCRIPT, "/ref/item/{n}")
REAL_ITEM = Case("real item page", GET_SCRIPT, "/test/item/{n}")
REF_SAVE = Case("reference autosave", AUTOSAVE_SCRIPT, "/ref/answers", reference_revisions)
REAL_SAVE = Case("real autosave", AUTOSAVE_SCRIPT, "/test/answers", real_revisions)


@dataclass
class Comparison:
    what: str
    real: Figures
    reference: Figures
    hello: Figures

    @property
    def rps_ratio(self) -> float:
        return self.real.rps / self.reference.rps if self.reference.rps else 0.0

    @property
    def p99_ratio(self) -> float:
        return self.real.p99_ms / self.reference.p99_ms if self.reference.p99_ms else float("inf")

    @property
    def honesty(self) -> float:
        return self.reference.rps / self.hello.rps if self.hello.rps else 0.0

    @property
    def void(self) -> bool:
        return self.honesty < HONEST

    @property
    def errors_ok(self) -> bool:
        return all(f.error_rate <= MAX_ERRORS for f in (self.real, self.reference, self.hello))

    @property
    def met(self) -> bool:
        return self.rps_ratio >= RPS_TARGET and self.p99_ratio <= P99_TARGET and self.errors_ok

    @property
    def verdict(self) -> str:
        """met or MISSED on the ratios (FAILED on errors), then VOID when the reference is below half of hello."""
        if not self.errors_ok:
            verdict = f"FAILED (more than {MAX_ERRORS:.0%} errors)"
        else:
            verdict = "met" if self.met else "MISSED"
        if self.void:
            verdict += f"; VOID run: reference {self.honesty:.2f}x Flask hello (< {HONEST}x)"
        return verdict


def line(backend: str, label: str, f: Figures) -> str:
    extra = f", 409s: {f.conflict:,}, other non-200: {f.other:,}, socket errors: {f.socket_errors:,}"
    return (
        f"{backend:<10} {label + ':':<21} {f.rps:>9,.0f} req/s  p50 {f.p50_ms:6.2f} ms  p99 {f.p99_ms:6.2f} ms"
        f"  ({f.errors:,} errors of {f.requests:,} = {f.error_rate:.2%}{extra})"
    )


def run_backend(backend: str, folder: Path, seconds: float, warmup: float, profile: bool) -> list[Comparison]:
    """Seed a fresh database, serve the real and the reference app, measure the five cases in turn."""
    from database import db

    with database(backend, folder) as url:
        started = time.perf_counter()
        seeded = seed(url, SESSIONS)
        print(
            f"{backend:<10} seeded {len(seeded.candidates)} started candidates in {time.perf_counter() - started:.1f} s"
        )
        try:
            env = {**os.environ, "DATABASE_URL": url}
            log = folder / f"gunicorn-{backend}.log"
            figures: dict[str, Figures] = {}
            with (
                gunicorn("wsgi:application", env, log) as real_port,
                gunicorn("benchmarks.http_reference:create_reference_app()", env, log) as ref_port,
            ):
                for case, port in (
                    (HELLO, ref_port),
                    (REF_ITEM, ref_port),
                    (REAL_ITEM, real_port),
                    (REF_SAVE, ref_port),
                    (REAL_SAVE, real_port),
                ):
                    figures[case.label] = measure(port, case, seeded, folder, seconds, warmup)
                    print(line(backend, case.label, figures[case.label]), flush=True)
            if profile:
                profile_endpoints(backend, seeded)
        finally:
            with seeded.app.app_context():
                db.session.remove()
                db.engine.dispose()
    hello = figures[HELLO.label]
    return [
        Comparison("item page", figures[REAL_ITEM.label], figures[REF_ITEM.label], hello),
        Comparison("autosave", figures[REAL_SAVE.label], figures[REF_SAVE.label], hello),
    ]


def report(backend: str, comparison: Comparison) -> str:
    return (
        f"{backend:<10} {comparison.what} ratio: req/s {comparison.rps_ratio:.2f}x (target >= {RPS_TARGET}x), "
        f"p99 {comparison.p99_ratio:.2f}x (target <= {P99_TARGET}x); reference {comparison.honesty:.2f}x "
        f"Flask hello (>= {HONEST}x or void): {comparison.verdict}"
    )


# --- Profiling (--profile) ---------------------------------------------------------------------------


def profile_endpoints(backend: str, seeded: Seeded, requests: int = 1000) -> None:
    """Time the real endpoints and the references in-process (Flask test client, same database), count their
    SQL statements per request, then cProfile the real ones: the server-side cost without wrk's noise."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from benchmarks.http_reference import create_reference_app

    app = seeded.app
    os.environ["DATABASE_URL"] = seeded.url
    try:
        reference = create_reference_app().test_client()
    finally:
        os.environ.pop("DATABASE_URL", None)
    name = app.config["SESSION_COOKIE_NAME"]
    revisions = real_revisions(seeded)
    clients = []
    for c in seeded.candidates:
        client = app.test_client()
        client.set_cookie(name, c.cookie.split("=", 1)[1])
        clients.append(client)

    def body(c: Candidate, revision: int) -> str:
        return f'{{"item":{c.item},"answer":{c.answers[revision % 2]},"revision":{revision}}}'

    def real_item(n: int) -> None:
        c = seeded.candidates[n % len(clients)]
        assert clients[n % len(clients)].get(f"/test/item/{c.item}").status_code == 200

    def real_save(n: int) -> None:
        c = seeded.candidates[n % len(clients)]
        headers = {"X-CSRFToken": c.csrf}
        reply = clients[n % len(clients)].post(
            "/test/answers", data=body(c, revisions[c.index]), content_type="application/json", headers=headers
        )
        assert reply.status_code == 200, reply.get_data(as_text=True)
        revisions[c.index] = reply.get_json()["revision"]

    def ref_item(n: int) -> None:
        c = seeded.candidates[n % len(clients)]
        assert reference.get(f"/ref/item/{c.item}").status_code == 200

    def ref_save(n: int) -> None:
        c = seeded.candidates[n % len(clients)]
        headers = {"X-CSRFToken": c.csrf, "X-Bench-Session": str(c.index)}
        reply = reference.post("/ref/answers", data=body(c, 0), content_type="application/json", headers=headers)
        assert reply.status_code == 200

    statements = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    def timed(work: Callable[[int], None]) -> tuple[float, float]:
        for n in range(requests // 5):
            work(n)  # warm
        statements[0] = 0
        event.listen(Engine, "before_cursor_execute", count)
        started = time.perf_counter()
        try:
            for n in range(requests):
                work(n)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        return (time.perf_counter() - started) / requests * 1000, statements[0] / requests

    print(f"\n{backend:<10} in-process, per request (Flask test client, {requests} requests, no profiler):")
    for label, work in (
        ("reference item page", ref_item),
        ("real item page", real_item),
        ("reference autosave", ref_save),
        ("real autosave", real_save),
    ):
        ms, per = timed(work)
        print(f"{backend:<10} {label + ':':<21} {ms:6.2f} ms, {per:4.1f} SQL statements")
    for label, work in (("item page", real_item), ("autosave", real_save)):
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(requests):
            work(n)
        profiler.disable()
        for sort, restriction, title in (
            ("cumulative", f"^{re.escape(str(APP_ROOT))}/(?!\\.venv/)", "the app's own functions by cumulative time"),
            ("tottime", "", "all functions by own time"),
            ("cumulative", "", "all functions by cumulative time"),
        ):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out).sort_stats(sort)
            stats.print_stats(*([restriction] if restriction else []), 22)
            print(f"\n{backend} cProfile of the real {label}, {title}:")
            print(out.getvalue().split("\n", 6)[-1].rstrip().replace(str(APP_ROOT) + "/", ""))


# --- Recording ----------------------------------------------------------------------------------------


def record(command: str, backend: str, comparison: Comparison, seconds: float, revision: str | None) -> None:
    """Append one row to benchmarks/RESULTS.md (its header is written by benchmarks/scoring.py's format)."""
    c = comparison
    figure = (
        f"{backend} {c.what}: real {c.real.rps:,.0f} req/s, p99 {c.real.p99_ms:.1f} ms vs reference "
        f"{c.reference.rps:,.0f} req/s, p99 {c.reference.p99_ms:.1f} ms = {c.rps_ratio:.2f}x req/s, "
        f"{c.p99_ratio:.2f}x p99; errors {c.real.errors}/{c.real.requests}; Flask hello {c.hello.rps:,.0f} req/s, "
        f"reference {c.honesty:.2f}x hello (gunicorn 2 sync workers, wrk -t2 -c32 -d{seconds:g}s)"
    )
    target = f">= {RPS_TARGET}x req/s, p99 <= {P99_TARGET}x"
    append_result(utc_minute(), git_revision(revision), command, figure, target, c.verdict)


# --- Main -----------------------------------------------------------------------------------------------


def export_commit(revision: str, folder: Path) -> Path:
    """A clean copy of the commit's tree (git archive) with this benchmark's reference app added."""
    global APP_ROOT
    tree = folder / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    (tree / "benchmarks").mkdir(exist_ok=True)
    shutil.copy2(HERE / "http_reference.py", tree / "benchmarks" / "http_reference.py")
    sys.path[:] = [str(tree), *(p for p in sys.path if Path(p or ".").resolve() != ROOT)]
    APP_ROOT = tree
    return tree


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures, record them, and with --check return 1 on a miss or a void run."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed or the run is void")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--duration", type=float, default=10, help="seconds of each measured wrk run (10)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of the warm-up before each run (3)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the real endpoints in-process")
    parser.add_argument("--commit", help="measure a clean export of this commit instead of the working tree")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian package wrk)", file=sys.stderr)
        return 2
    stop_cleanly_on_signals()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    folder = Path(tempfile.mkdtemp(prefix="rapport-http-bench-"))
    results: dict[str, list[Comparison]] = {}
    try:
        prepare_environment(folder)
        if args.commit:
            export_commit(args.commit, folder)
        print(
            f"gunicorn {WORKERS} sync workers on 127.0.0.1; wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration:g}s "
            f"--latency after a {args.warmup:g} s warm-up; {SESSIONS} candidate sessions"
        )
        for backend in backends:
            results[backend] = run_backend(backend, folder, args.duration, args.warmup, args.profile)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    command = command_line("benchmarks/http.py", argv)
    failed = False
    for backend, comparisons in results.items():
        for comparison in comparisons:
            print(report(backend, comparison))
            failed = failed or comparison.void or not comparison.met
            if not args.no_record:
                record(command, backend, comparison, args.duration, args.commit)
    if args.check and failed:
        print("FAILED: an HTTP target is missed or the run is void", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
