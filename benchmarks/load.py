"""Capacity benchmark: thousands of candidates taking tests at once, at a fixed arrival rate, on SQLite and PostgreSQL.

Target (shared performance spec, "capacity"): on SQLite, >= 10,000 candidates taking tests at once on one
2-core machine, each autosaving every 15 s and loading a page every 60 s (about 830 requests/s), p99 <= 100 ms,
no error and no lost answer; on PostgreSQL on the same machine, the number of concurrent candidates held at
p99 <= 100 ms, measured and reported (goal >= 5,000).

Method:
- A fresh database per backend (a SQLite file in a temporary folder; a PostgreSQL database created and dropped
  here), migrated with the app's migrations. One published assessment of four items (benchmarks/http.py's),
  then the candidates in bulk: candidates, consented invitations and started attempts inserted with a few
  executemany statements, and for each candidate the session cookie and CSRF token the real consent and start
  pages would have given (made with the app's own session serializer and flask-wtf, in a request context).
- The real app under gunicorn with gunicorn.conf.py as production runs it (sync workers, max_requests
  recycling, no preload), WEB_CONCURRENCY=2 workers by default (--workers), on 127.0.0.1. The only addition is
  a wrapper config that keeps gunicorn.conf.py's settings and adds request hooks measuring, per request, the
  time in the worker, the worker's CPU, and on SQLite the wait for the write lock (the write queue and BEGIN
  IMMEDIATE), how long the lock is held (to the end of COMMIT) and the COMMIT itself (from the end of the last
  statement). They cost a few microseconds a request.
- An open-loop generator (asyncio, one process, a new connection per request as a sync worker closes it after
  each reply, the request written whole the moment it connects, as nginx hands requests on): every candidate
  autosaves every 15 s (POST /test/answers with the revision of its last acknowledged save) and loads an item
  page every 60 s (GET /test/item/<n>, which moves it to the next item), at random phases, so the arrival
  rate is fixed whatever the server does. Latency runs from the scheduled send time, so a slow server is not
  hidden by late sends. The first --warmup seconds are not counted.
- After the run, every acknowledged autosave (the last acknowledged answer per candidate and item) is compared
  with the answer row in the database: a row with a lower revision or another answer is a lost answer.
- CPU: the gunicorn arbiter and workers (recycled workers included, through the arbiter's reaped-children
  times), the generator (its own process time) and the whole machine (/proc/stat), over the measured window.
  The workers' CPU less the CPU between the hooks is gunicorn's own work a request (accepting, parsing, replying,
  closing); the workers' busy share counts it too, because a worker busy 75% between its hooks can be saturated.

On SQLite the --candidates count (10,000) is the target run; when it misses, lower counts are tried to report
the count that is held. On PostgreSQL the count is stepped up (500, 1,000, 1,500 and so on to 10,000)
until one misses.

    .venv/bin/python benchmarks/load.py --check [--backend sqlite|postgresql|both] [--seconds 30] [--candidates 10000]
    .venv/bin/python benchmarks/load.py --reference [--backend sqlite]

--reference drives the spec's minimal reference endpoints (benchmarks/http_reference.py, as benchmarks/http.py
serves them: one row read; one upsert and commit with the app's SQLite settings; no session, CSRF, tenant checks,
security headers or access log) with the same candidates and arrival pattern. The count they hold is the floor on
the machine at hand: the capacity target is an absolute count, and this reads the real app's count against it.

--seconds 120 or more also covers what a 30 s run can miss: at 20,000 requests a worker, gunicorn's max_requests
restarted each worker every 48 s at 10,000 candidates, and only a longer run showed what that did to the p99.

Prints one line per figure; with --check exits 1 when a target is missed. Appends rows to benchmarks/RESULTS.md
unless --no-record is given, with the bottleneck named from the measurements and the load average at start.
Everything started here (gunicorn, databases, temporary files) is stopped or removed on exit, errors included.
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
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import timedelta  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import common  # noqa: E402
from benchmarks import http as bench  # noqa: E402

SAVE_EVERY = 15.0  # seconds between a candidate's autosaves
PAGE_EVERY = 60.0  # seconds between a candidate's page loads
P99_TARGET_MS = 100.0
SQLITE_TARGET = 10_000
POSTGRES_GOAL = 5_000
# Steps close enough together near today's limits (1,000 to 5,000) that the count held is a measurement, not a
# rounding down to the step below.
POSTGRES_STEPS = (500, 1_000, 1_500, 2_000, 2_500, 3_000, 4_000, 5_000, 7_500, 10_000)
SQLITE_FALLBACK_STEPS = (7_500, 5_000, 4_000, 3_000, 2_500, 2_000, 1_500, 1_000, 500, 250)
REQUEST_TIMEOUT = 30.0
# The generator is one asyncio process: at most one core. Running late while using most of it, it is the limit;
# running late on less, it was kept waiting by the overloaded machine and the lateness is a symptom.
GENERATOR_BOUND_CORES = 0.8
ITEMS = len(bench.FORMATS)
REFERENCE_APP = "benchmarks.http_reference:create_reference_app()"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# The wrapper gunicorn config: gunicorn.conf.py's settings unchanged, plus measuring hooks (one line a request).
HOOKS = """
import os, time
from pathlib import Path

exec(compile(Path(os.environ["LOAD_GUNICORN_CONF"]).read_text(), os.environ["LOAD_GUNICORN_CONF"], "exec"))
wsgi_app = os.environ.get("LOAD_WSGI_APP") or wsgi_app  # --reference: the minimal reference app instead

_state = {"wait": 0.0, "held": 0.0, "commit": 0.0, "b0": None, "h0": None, "c0": None, "t0": 0.0, "p0": 0.0, "cpu": 0.0}
_out = []


def post_worker_init(worker):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    perf = time.perf_counter

    def begin(conn):
        # Engine-wide listeners run before the app's own: the wait counts the write queue (database.WriteQueue).
        _state["b0"] = perf()

    def before(conn, cursor, statement, params, context, executemany):
        if statement == "BEGIN":  # a read: no wait to count
            _state["b0"] = None

    def after(conn, cursor, statement, params, context, executemany):
        now = perf()
        if statement.startswith("BEGIN IMMEDIATE") and _state["b0"] is not None:
            _state["wait"] += now - _state["b0"]
            _state["b0"] = None
            _state["h0"] = now
        _state["c0"] = now  # the end of the transaction's last statement: what follows is the COMMIT

    def after_commit(session):
        now = perf()
        if _state["h0"] is not None:
            _state["held"] += now - _state["h0"]
            _state["h0"] = None
            if _state["c0"] is not None:
                _state["commit"] += now - _state["c0"]
        _state["c0"] = None

    def after_rollback(session):
        _state["h0"] = None

    event.listen(Engine, "begin", begin)
    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    event.listen(Session, "after_commit", after_commit)
    event.listen(Session, "after_soft_rollback", after_rollback)
    _out.append(open(os.path.join(os.environ["LOAD_STATS_DIR"], f"worker-{os.getpid()}.tsv"), "a", buffering=1 << 16))


def pre_request(worker, req):
    _state.update(wait=0.0, held=0.0, commit=0.0, b0=None, h0=None, c0=None)
    _state["t0"] = time.time()
    _state["p0"] = time.perf_counter()
    _state["cpu"] = time.process_time()


def post_request(worker, req, environ, resp):
    if not _out:
        return
    service = time.perf_counter() - _state["p0"]
    cpu = time.process_time() - _state["cpu"]
    status = getattr(resp, "status_code", None) or str(getattr(resp, "status", "0"))[:3]
    _out[0].write(
        f"{_state['t0']:.4f}\\t{req.method}\\t{service * 1000:.3f}\\t{cpu * 1000:.3f}\\t"
        f"{_state['wait'] * 1000:.3f}\\t{_state['held'] * 1000:.3f}\\t{_state['commit'] * 1000:.3f}\\t{status}\\n"
    )


def worker_exit(server, worker):
    for handle in _out:
        handle.flush()
        handle.close()
    _out.clear()
"""


# --- Seeding --------------------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One candidate as the generator drives it: its request headers and what it has saved."""

    index: int
    cookie: str
    csrf: str
    attempt_id: int
    item: int  # the item it is on (1-based)
    revisions: list[int]  # the last acknowledged revision per item
    acked: list[str | None]  # the last acknowledged answer (JSON) per item
    saving: bool = False


@dataclass
class Seeded:
    app: Any
    url: str
    version_ids: list[int]  # by item number - 1
    answers: list[tuple[str, str]]  # two valid answers per item
    candidates: list[Candidate]


def seed(url: str, count: int) -> Seeded:
    """Migrate a fresh database; one assessment of four items; `count` consented, started candidates in bulk."""
    from flask import session
    from flask_migrate import upgrade
    from flask_wtf.csrf import generate_csrf
    from sqlalchemy import insert, select

    from app import create_app
    from assessments.models import Assessment, Attempt, Invitation
    from benchmarks.http_reference import BenchItem, create_tables
    from candidates.models import Candidate as CandidateRow
    from database import db, new_public_id, unit_of_work, utcnow

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    now = utcnow()
    with app.app_context():
        upgrade()
        bench.build_assessment(0)
        with unit_of_work():
            assessment = db.session.scalars(select(Assessment)).one()
            version_ids = [item.version.id for item in assessment.items]
            labels = [[o.label for o in item.version.options] for item in assessment.items]
            formats = [item.version.response_format.value for item in assessment.items]
            reference_items = [
                {"id": n, "stem": item.version.stem, "options": [o.text for o in item.version.options]}
                for n, item in enumerate(assessment.items, start=1)
            ]
            people = db.session.execute(
                insert(CandidateRow).returning(CandidateRow.id, sort_by_parameter_order=True),
                [
                    {
                        "agency_id": assessment.agency_id,
                        "name": f"Load candidate {i}",
                        "email": f"load{i}@bench.example",
                        "created_at": now,
                    }
                    for i in range(count)
                ],
            ).all()
            public_ids = [new_public_id() for _ in range(count)]
            invitations = db.session.execute(
                insert(Invitation).returning(Invitation.id, sort_by_parameter_order=True),
                [
                    {
                        "public_id": public_ids[i],
                        "agency_id": assessment.agency_id,
                        "client_id": assessment.client_id,
                        "assessment_id": assessment.id,
                        "candidate_id": people[i].id,
                        "token_version": 1,
                        "expires_at": now + timedelta(days=7),
                        "consent_at": now,
                        "extra_time_percent": 0,
                        "reminders_sent": 0,
                        "created_at": now,
                    }
                    for i in range(count)
                ],
            ).all()
            attempts = db.session.execute(
                insert(Attempt).returning(Attempt.id, sort_by_parameter_order=True),
                [
                    {
                        "invitation_id": invitations[i].id,
                        "agency_id": assessment.agency_id,
                        "started_at": now,
                        "deadline": now + timedelta(hours=6),
                        "item_order": version_ids,
                    }
                    for i in range(count)
                ],
            ).all()
        create_tables(url)  # the reference endpoints' tables (--reference)
        with unit_of_work():
            db.session.execute(insert(BenchItem), reference_items)
        db.session.remove()
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    name = app.config["SESSION_COOKIE_NAME"]
    candidates = []
    for i in range(count):
        with app.test_request_context("/test"):
            session["candidate"] = {"i": public_ids[i], "v": 1}  # what the consent page puts there
            csrf = generate_csrf()
            cookie = f"{name}={serializer.dumps(dict(session))}"
        candidates.append(
            Candidate(
                index=i,
                cookie=cookie,
                csrf=csrf,
                attempt_id=attempts[i].id,
                item=i % ITEMS + 1,
                revisions=[0] * ITEMS,
                acked=[None] * ITEMS,
            )
        )
    answers = [bench.answers_for(fmt, lab) for fmt, lab in zip(formats, labels, strict=True)]
    seeded = Seeded(app=app, url=url, version_ids=version_ids, answers=answers, candidates=candidates)
    check_one(seeded)
    return seeded


def check_one(seeded: Seeded) -> None:
    """The first candidate's cookie opens its item page and saves through the real app, as a browser's would."""
    app, c = seeded.app, seeded.candidates[0]
    client = app.test_client()
    client.set_cookie(app.config["SESSION_COOKIE_NAME"], c.cookie.split("=", 1)[1])
    page = client.get(f"/test/item/{c.item}")
    common.expect(page.status_code == 200, f"a seeded candidate's item page answered {page.status_code}")
    body = f'{{"item":{c.item},"answer":{seeded.answers[c.item - 1][0]},"revision":0}}'
    saved = client.post("/test/answers", data=body, content_type="application/json", headers={"X-CSRFToken": c.csrf})
    common.expect(saved.status_code == 200, f"a seeded candidate's autosave answered {saved.status_code}")
    c.revisions[c.item - 1] = saved.get_json()["revision"]
    c.acked[c.item - 1] = seeded.answers[c.item - 1][0]


# --- The server ------------------------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    stats_dir: Path


@contextlib.contextmanager
def gunicorn(env: dict[str, str], folder: Path, workers: int, reference: bool = False) -> Iterator[Server]:
    """The real app (or the minimal reference app) under gunicorn with gunicorn.conf.py (plus the measuring hooks)
    until the block ends."""
    port = common.free_port()
    stats_dir = folder / f"stats-{port}"
    stats_dir.mkdir()
    config = folder / "gunicorn_load.conf.py"
    config.write_text(HOOKS, encoding="utf-8")
    env = {
        **env,
        "LOAD_GUNICORN_CONF": str(common.ROOT / "gunicorn.conf.py"),
        "LOAD_STATS_DIR": str(stats_dir),
        "WEB_CONCURRENCY": str(workers),
        "BIND": f"127.0.0.1:{port}",
        "LOAD_WSGI_APP": REFERENCE_APP if reference else "",
    }
    command = [common.gunicorn_binary(), "-c", str(config)]
    with common.serve(command, common.ROOT, env, folder / "gunicorn.log", port, stop_timeout=40) as process:
        yield Server(port=port, process=process, stats_dir=stats_dir)


def _proc_times(pid: int) -> tuple[int, int]:
    """(utime + stime, cutime + cstime) of a process in clock ticks; (0, 0) when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0, 0
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def worker_pids(arbiter: int) -> set[int]:
    try:
        return {int(p) for p in Path(f"/proc/{arbiter}/task/{arbiter}/children").read_text().split()}
    except OSError:
        return set()


def gunicorn_cpu(arbiter: int) -> float:
    """CPU seconds used so far by the arbiter, its live workers and the workers it has reaped."""
    own, reaped = _proc_times(arbiter)
    live = sum(_proc_times(pid)[0] for pid in worker_pids(arbiter))
    return (own + reaped + live) / CLOCK_TICKS


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


# --- The generator --------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the generator saw in the measured window."""

    save_ms: list[float] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    overlapped: int = 0  # a save due while the candidate's previous save was unanswered (counted as an error)
    worker_pids: set[int] = field(default_factory=set)
    window: tuple[float, float] = (0.0, 0.0)  # wall-clock start and end of the measured window
    seconds: float = 0.0  # its planned length
    generator_cpu: float = 0.0
    gunicorn_cpu: float = 0.0
    machine_busy: float = 0.0
    machine_total: float = 0.0
    late_ms: float = 0.0  # the generator's worst lag behind its schedule, sends included

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def schedule(count: int, seconds: float, rng: random.Random) -> list[tuple[float, int, bool]]:
    """(time, candidate, is_save) for every request of the run, in time order, each candidate at its own phases."""
    events: list[tuple[float, int, bool]] = []
    for index in range(count):
        for every, is_save in ((SAVE_EVERY, True), (PAGE_EVERY, False)):
            moment = rng.uniform(0, every)
            while moment < seconds:
                events.append((moment, index, is_save))
                moment += every
    events.sort()
    return events


async def exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """One request on a new connection, written whole as soon as it connects, as a buffering proxy (nginx, in
    docs/deploy.md) hands gunicorn each request. Not through asyncio.open_connection: that resumes the caller
    only after a turn of the event loop, and with thousands of requests in flight the request then reached the
    socket late, while the sync worker that had accepted the connection sat waiting for it (an artefact of the
    generator that idled the workers under overload)."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))  # on loopback, done at once: no turn of the loop
        await loop.sock_sendall(sock, request)  # fits the socket's buffer: written at once, too
        chunks = []
        while chunk := await loop.sock_recv(sock, 65536):
            chunks.append(chunk)
    finally:
        sock.close()
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head[9:12]) if head.startswith(b"HTTP/1.") else 0
    return status, body


async def drive(
    seeded: Seeded, count: int, port: int, arbiter: int, seconds: float, warmup: float, reference: bool = False
) -> Outcome:
    """Offer the fixed arrival rate for warmup + seconds; measure the last `seconds`. With reference, to the minimal
    reference endpoints (benchmarks/http_reference.py): the same requests without the session and tenant checks."""
    outcome = Outcome()
    candidates = seeded.candidates[:count]
    events = schedule(count, warmup + seconds, random.Random(count))
    loop = asyncio.get_running_loop()
    pending: dict[asyncio.Task[None], bool] = {}  # each request in flight, and whether it is counted
    item_path, save_path = ("/ref/item/", "/ref/answers") if reference else ("/test/item/", "/test/answers")
    gets = [
        [
            (
                f"GET {item_path}{n} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {c.cookie}\r\nConnection: close\r\n\r\n"
            ).encode()
            for n in range(1, ITEMS + 1)
        ]
        for c in candidates
    ]

    async def page(c: Candidate, scheduled: float, counted: bool) -> None:
        c.item = c.item % ITEMS + 1
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, _ = await exchange(port, gets[c.index][c.item - 1])
        except Exception as exc:  # refused, reset, timed out, a garbled reply: all errors
            if counted:
                outcome.error(f"page {type(exc).__name__}")
            return
        if counted:
            outcome.page_ms.append((loop.time() - scheduled) * 1000)
            if status != 200:
                outcome.error(f"page {status}")

    async def save(c: Candidate, scheduled: float, counted: bool) -> None:
        if c.saving:
            if counted:
                outcome.overlapped += 1
                outcome.error("save overlapped")
            return
        c.saving = True
        n = c.item
        answer = seeded.answers[n - 1][c.revisions[n - 1] % 2]
        body = f'{{"item":{n},"answer":{answer},"revision":{c.revisions[n - 1]}}}'.encode()
        request = (
            f"POST {save_path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {c.cookie}\r\nX-CSRFToken: {c.csrf}\r\n"
            + (f"X-Bench-Session: {c.index}\r\n" if reference else "")
            + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode() + body
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                status, reply = await exchange(port, request)
        except Exception as exc:  # refused, reset, timed out, a garbled reply: all errors
            if counted:
                outcome.error(f"save {type(exc).__name__}")
            return  # stays marked as saving: its outcome is unknown, so it is never built upon
        if counted:
            outcome.save_ms.append((loop.time() - scheduled) * 1000)
        if status == 200:
            c.revisions[n - 1] = json.loads(reply)["revision"]
            c.acked[n - 1] = answer
            c.saving = False
        elif counted:
            outcome.error(f"save {status}")

    async def watch_workers() -> None:
        while True:
            outcome.worker_pids |= worker_pids(arbiter)
            await asyncio.sleep(0.5)

    watcher = loop.create_task(watch_workers())
    start = loop.time() + 0.2
    counting = False
    i = 0
    while i < len(events):
        now = loop.time() - start
        if not counting and now >= warmup:
            counting = True
            outcome.window = (time.time(), 0.0)
            outcome.generator_cpu = -time.process_time()
            outcome.gunicorn_cpu = -gunicorn_cpu(arbiter)
            busy, total = machine_cpu()
            outcome.machine_busy, outcome.machine_total = -busy, -total
        while i < len(events) and events[i][0] <= now:
            moment, index, is_save = events[i]
            counted = moment >= warmup
            outcome.sent += counted
            if counted:
                outcome.late_ms = max(outcome.late_ms, (now - moment) * 1000)
            work = save if is_save else page
            task = loop.create_task(work(candidates[index], start + moment, counted))
            pending[task] = counted
            task.add_done_callback(lambda done: pending.pop(done, None))
            i += 1
        if i < len(events):
            await asyncio.sleep(max(0.0, events[i][0] - (loop.time() - start)))
    # The window (and the CPU figures) end with the schedule; the replies still due are waited for below.
    outcome.window = (outcome.window[0], time.time())
    outcome.seconds = seconds
    outcome.generator_cpu += time.process_time()
    outcome.gunicorn_cpu += gunicorn_cpu(arbiter)
    busy, total = machine_cpu()
    outcome.machine_busy += busy
    outcome.machine_total += total
    if pending:
        await asyncio.wait(list(pending), timeout=REQUEST_TIMEOUT + 5)
    for task, counted in list(pending.items()):
        if counted:
            outcome.error("unanswered at the end")
        task.cancel()
    watcher.cancel()
    return outcome


def stored_answers(seeded: Seeded, reference: bool) -> dict[tuple[int, int], tuple[int, Any]]:
    """(candidate index, item position) -> (revision, answer) as the database holds them: the app's answer rows,
    or with reference the reference endpoints' rows (keyed by the candidate's index)."""
    from sqlalchemy import select

    from assessments.models import Answer
    from benchmarks.http_reference import BenchAnswer
    from database import db

    stored: dict[tuple[int, int], tuple[int, Any]] = {}
    with seeded.app.app_context():
        if reference:
            rows = db.session.execute(
                select(BenchAnswer.candidate, BenchAnswer.item, BenchAnswer.revision, BenchAnswer.answer)
            )
            stored = {(index, item - 1): (revision, answer) for index, item, revision, answer in rows}
        else:
            index_of = {c.attempt_id: c.index for c in seeded.candidates}
            position = {version: n for n, version in enumerate(seeded.version_ids)}
            rows = db.session.execute(select(Answer.attempt_id, Answer.version_id, Answer.revision, Answer.answer))
            stored = {
                (index_of[attempt_id], position[version_id]): (revision, answer)
                for attempt_id, version_id, revision, answer in rows
            }
        db.session.remove()
    return stored


def lost_answers(seeded: Seeded, count: int, reference: bool = False) -> tuple[int, int]:
    """(lost, checked): every candidate's last acknowledged answer per item against the database's row."""
    stored = stored_answers(seeded, reference)
    lost = checked = 0
    for c in seeded.candidates[:count]:
        for n in range(ITEMS):
            if c.acked[n] is None:
                continue
            checked += 1
            row = stored.get((c.index, n))
            behind = row is None or row[0] < c.revisions[n]
            if behind or (row is not None and row[0] == c.revisions[n] and row[1] != json.loads(c.acked[n] or "null")):
                lost += 1
    return lost, checked


# --- Figures -----------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class ServerSide:
    """From the workers' hook lines in the measured window."""

    requests: int
    busy: float  # share of the workers' time spent serving requests
    service_p50_ms: float
    service_p99_ms: float
    cpu_ms: float  # mean worker CPU per request, between the hooks (the app)
    cpu_share: float  # CPU / service time
    lock_wait_mean_ms: float
    lock_wait_p99_ms: float
    lock_held_share: float  # share of wall time the SQLite write lock was held (1.0 = always)
    commit_mean_ms: float
    commit_max_ms: float = float("nan")  # the slowest COMMIT: a disk whose fsync stalls shows here
    held_mean_ms: float = float("nan")  # how long an autosave holds the write lock
    save_mean_ms: float = float("nan")  # an autosave's mean time in the worker
    save_cpu_ms: float = float("nan")  # and its mean CPU
    cpu_sum_ms: float = 0.0  # the workers' CPU between the hooks, all requests together
    stall_max_s: float = 0.0  # the longest stretch of the window in which no worker served anything
    stall_total_s: float = 0.0  # all such stretches over half a second, together


def server_side(stats_dir: Path, window: tuple[float, float], workers: int) -> ServerSide:
    service, cpu, wait, held, commit, save, save_cpu = [], [], [], [], [], [], []
    spans: list[tuple[float, float]] = []
    for path in stats_dir.glob("worker-*.tsv"):
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) != 8 or not window[0] <= float(parts[0]) <= window[1]:
                continue
            spans.append((float(parts[0]), float(parts[0]) + float(parts[2]) / 1000))
            service.append(float(parts[2]))
            cpu.append(float(parts[3]))
            if parts[1] == "POST":
                wait.append(float(parts[4]))
                held.append(float(parts[5]))
                commit.append(float(parts[6]))
                save.append(float(parts[2]))
                save_cpu.append(float(parts[3]))
    span = max(window[1] - window[0], 1e-9)
    total = sum(service)
    stalls = idle_stretches(spans, window)
    return ServerSide(
        requests=len(service),
        busy=total / 1000 / (span * workers),
        service_p50_ms=percentile(service, 50),
        service_p99_ms=percentile(service, 99),
        cpu_ms=sum(cpu) / max(len(cpu), 1),
        cpu_share=sum(cpu) / max(total, 1e-9),
        lock_wait_mean_ms=sum(wait) / max(len(wait), 1),
        lock_wait_p99_ms=percentile(wait, 99),
        lock_held_share=sum(held) / 1000 / span,
        commit_mean_ms=sum(commit) / max(len(commit), 1),
        commit_max_ms=max(commit, default=float("nan")),
        held_mean_ms=sum(held) / max(len(held), 1),
        save_mean_ms=sum(save) / max(len(save), 1),
        save_cpu_ms=sum(save_cpu) / max(len(save_cpu), 1),
        cpu_sum_ms=sum(cpu),
        stall_max_s=max(stalls, default=0.0),
        stall_total_s=sum(s for s in stalls if s > 0.5),
    )


def idle_stretches(spans: list[tuple[float, float]], window: tuple[float, float]) -> list[float]:
    """The lengths (s) of the stretches of the window in which no worker was serving a request. Under a steady
    load they are milliseconds; seconds long, with the accept queue full, they mark a collapse: the workers
    stood idle while the connections that would have fed them waited out their retransmission timers."""
    stretches = []
    end = window[0]
    for start, stop in sorted(spans):
        if start > end:
            stretches.append(start - end)
        end = max(end, stop)
    if window[1] > end:
        stretches.append(window[1] - end)
    return stretches


@dataclass
class Step:
    backend: str
    candidates: int
    outcome: Outcome
    server: ServerSide
    lost: int
    checked: int
    workers: int
    overflows: int = 0  # connections dropped at the full accept queue during the run (warm-up included)

    @property
    def latencies(self) -> list[float]:
        return self.outcome.save_ms + self.outcome.page_ms

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 99)

    @property
    def span(self) -> float:
        return max(self.outcome.window[1] - self.outcome.window[0], 1e-9)

    @property
    def held(self) -> bool:
        return self.p99 <= P99_TARGET_MS and self.outcome.error_count == 0 and self.lost == 0

    @property
    def offered(self) -> float:
        return self.candidates / SAVE_EVERY + self.candidates / PAGE_EVERY

    @property
    def outside_ms(self) -> float:
        """gunicorn's own CPU a request, outside the hooks: accepting the connection, reading and parsing the
        request, writing the reply, closing (the arbiter's little share included). The hooks cannot see it, and a
        worker busy 75% between its hooks can be saturated."""
        s = self.server
        return max(0.0, self.outcome.gunicorn_cpu * 1000 - s.cpu_sum_ms) / max(s.requests, 1)

    @property
    def busy_all(self) -> float:
        """The workers' busy share with gunicorn's own work added to the time between the hooks."""
        return self.server.busy + self.server.requests * self.outside_ms / 1000 / (self.span * self.workers)

    @property
    def request_cpu_ms(self) -> float:
        """A request's whole CPU in a worker: the app's and gunicorn's."""
        return self.server.cpu_ms + self.outside_ms

    @property
    def machine(self) -> float:
        """The whole machine's busy share over the window."""
        return self.outcome.machine_busy / max(self.outcome.machine_total, 1e-9)

    @property
    def restarts(self) -> int:
        """Workers replaced in the run (gunicorn's max_requests)."""
        return max(0, len(self.outcome.worker_pids) - self.workers)

    @property
    def other_cores(self) -> float:
        """The cores the rest of the machine used: on PostgreSQL, mostly its server processes."""
        o = self.outcome
        return max(0.0, self.machine * (os.cpu_count() or 1) - (o.gunicorn_cpu + o.generator_cpu) / self.span)

    @property
    def database_ms(self) -> float:
        """On PostgreSQL, its server's CPU a request served, taken as the rest of the machine's (0 on SQLite, whose
        work is in the workers' own CPU)."""
        if self.backend != "postgresql":
            return 0.0
        return self.other_cores * self.span * 1000 / max(self.server.requests, 1)

    def ceilings(self) -> tuple[int, int]:
        """The candidates the measurements allow: (by the write lock, by CPU). The lock: one save at a time, each
        holding it for the mean measured time (SQLite; 0 elsewhere). CPU: the machine's cores less the
        generator's, at the mean CPU a request (the workers', and on PostgreSQL its server's)."""
        per_candidate = 1 / SAVE_EVERY + 1 / PAGE_EVERY
        lock = 0
        if self.backend == "sqlite" and self.server.held_mean_ms > 0:
            lock = int(1000 / self.server.held_mean_ms * SAVE_EVERY)
        cores = (os.cpu_count() or 1) - self.outcome.generator_cpu / self.span
        per_request = self.request_cpu_ms + self.database_ms
        cpu = int(cores * 1000 / per_request / per_candidate) if per_request > 0 else 0
        return lock, cpu

    def bottleneck(self) -> str:
        """The resource the measurements point at, in words, with an autosave's time in the worker broken down."""
        s, o = self.server, self.outcome
        gunicorn_cores = o.gunicorn_cpu / self.span
        generator_cores = o.generator_cpu / self.span
        machine = self.machine
        cores = os.cpu_count() or 1
        other_cores = self.other_cores
        rate = o.sent / max(o.seconds, 1e-9)
        # What the workers (and on PostgreSQL its server) need at the offered rate.
        needed_cores = (self.request_cpu_ms + self.database_ms) / 1000 * rate
        spare_cores = cores - generator_cores
        rest = s.save_mean_ms - s.save_cpu_ms - s.lock_wait_mean_ms - s.commit_mean_ms
        save = (
            f"an autosave spends {s.save_mean_ms:.1f} ms in a worker: {s.save_cpu_ms:.1f} ms CPU, "
            + (
                f"{s.lock_wait_mean_ms:.1f} ms waiting for the write lock, {s.commit_mean_ms:.1f} ms in COMMIT "
                f"(fsync, synchronous=FULL), "
                if self.backend == "sqlite"
                else f"{s.commit_mean_ms:.1f} ms in COMMIT, "
            )
            + f"{max(rest, 0.0):.1f} ms otherwise waiting (for a core, or the database)"
        )
        lock, cpu = self.ceilings()
        limit = (
            f"ceilings from these measurements: the write lock (held {s.held_mean_ms:.1f} ms a save, one at a time) "
            f"{lock:,} candidates, CPU ({self.request_cpu_ms:.2f} ms a request on {cores} cores) {cpu:,} candidates"
            if self.backend == "sqlite"
            else f"ceiling from these measurements: CPU ({self.request_cpu_ms:.2f} ms a request in the workers and "
            f"{self.database_ms:.2f} ms in PostgreSQL, {cores} cores) {cpu:,} candidates"
        )
        save += f"; {limit}"
        if machine > 0.9 and gunicorn_cores < 0.75 * self.workers and other_cores > 0.3:
            first = "the SQLite write lock" if self.backend == "sqlite" and lock < cpu else "CPU per request"
            return (
                f"CPU contention: the machine was {machine:.0%} busy and the {self.workers} workers got only "
                f"{gunicorn_cores:.2f} cores (generator {generator_cores:.2f}, other work on the machine "
                f"{other_cores:.2f}); on an idle machine {first} would bind first; {save}"
            )
        if self.backend == "sqlite" and s.commit_max_ms > P99_TARGET_MS:
            dropped = (
                f", the accept queue filled and {self.overflows:,} connections were dropped and retried a second later"
                if self.overflows
                else ""
            )
            return (
                f"the disk: a COMMIT's fsync took up to {s.commit_max_ms:.0f} ms (mean {s.commit_mean_ms:.2f} ms), and "
                f"while it held the write lock every save waited{dropped}; {save}"
            )
        if self.backend == "sqlite" and (s.lock_held_share > 0.6 or lock < cpu):
            return (
                f"the SQLite write lock, held {s.lock_held_share:.0%} of the time (one writer; each COMMIT "
                f"waits for an fsync); {save}"
            )
        if o.late_ms > 50 and generator_cores >= GENERATOR_BOUND_CORES:
            return (
                f"the generator, {o.late_ms:.0f} ms behind its schedule at worst and CPU-bound ({generator_cores:.2f} "
                f"cores of its one); the server was not offered the planned rate; {save}"
            )
        dropped = (
            f"; the accept queue filled and {self.overflows:,} connections were dropped and retried a second later"
            if self.overflows
            else ""
        )
        if self.overflows and s.stall_max_s > 1.0:
            serving = max(self.span - s.stall_total_s, 1e-9)
            busy = self.busy_all * self.span / serving
            database = f" and PostgreSQL ({self.database_ms:.2f} ms)" if self.backend == "postgresql" else ""
            return (
                f"overload, then collapse: between the stalls the {self.workers} sync workers were busy {busy:.0%}, "
                f"and {rate:,.0f} req/s offered needed {needed_cores:.2f} cores for the workers "
                f"({self.request_cpu_ms:.2f} ms CPU a request){database}, of the {spare_cores:.2f} left beside the "
                f"generator; the accept queue filled, {self.overflows:,} connections were dropped, and for "
                f"{s.stall_total_s:.1f} s of the {self.span:.0f} s measured (up to {s.stall_max_s:.1f} s at a time) no "
                f"worker served anything while the dropped connections waited out their retransmission timers "
                f"(1 s, then 3 s, 7 s); {save}"
            )
        restarts = self.restarts
        if restarts and self.busy_all <= 0.85 and needed_cores <= spare_cores:
            return (
                f"worker recycling: {restarts} workers reached gunicorn's max_requests and were replaced in the run, "
                f"and while each new one imported the app the others served alone (workers busy {self.busy_all:.0%} "
                f"otherwise, machine {machine:.0%}){dropped}; {save}"
            )
        if self.busy_all > 0.85 or needed_cores > spare_cores:
            return (
                f"the {self.workers} gunicorn sync workers, busy {self.busy_all:.0%} of the time with gunicorn's own "
                f"work ({gunicorn_cores:.2f} of {cores} cores, {self.request_cpu_ms:.2f} ms CPU a request): "
                f"{rate:,.0f} req/s offered need {needed_cores:.2f} cores, {spare_cores:.2f} are left beside the "
                f"generator{dropped}; {save}"
            )
        return (
            f"none saturated (workers busy {self.busy_all:.0%}, machine {machine:.0%}): the tail is queueing behind "
            f"{self.workers} sync workers (service p99 {s.service_p99_ms:.1f} ms){dropped}; {save}"
        )

    def figure(self) -> str:
        o, s = self.outcome, self.server
        gunicorn_cores = o.gunicorn_cpu / self.span
        generator_cores = o.generator_cpu / self.span
        machine = self.machine
        answered = len(self.latencies)
        errors = ", ".join(f"{k} x{v}" for k, v in sorted(o.errors.items())) or "none"
        restarts = self.restarts
        text = (
            f"{self.candidates:,} candidates: {o.sent / max(o.seconds, 1e-9):,.0f} req/s offered ({self.offered:,.0f} "
            f"planned), {answered:,} of {o.sent:,} answered; p50 {percentile(self.latencies, 50):.1f} ms, "
            f"p99 {self.p99:.1f} ms "
            f"(autosave p99 {percentile(o.save_ms, 99):.1f} ms, page p99 {percentile(o.page_ms, 99):.1f} ms, "
            f"max {max(self.latencies, default=float('nan')):.0f} ms); errors {o.error_count}/{o.sent} ({errors}); "
            f"lost answers {self.lost}/{self.checked}; in the workers: service p50 {s.service_p50_ms:.1f} ms, "
            f"p99 {s.service_p99_ms:.1f} ms, {s.cpu_ms:.2f} ms CPU a request in the app and {self.outside_ms:.2f} ms "
            f"in gunicorn's own work, busy {s.busy:.0%} in the app and {self.busy_all:.0%} in all"
        )
        if self.backend == "sqlite":
            text += (
                f", write-lock wait mean {s.lock_wait_mean_ms:.2f} ms / p99 {s.lock_wait_p99_ms:.1f} ms, lock held "
                f"{s.lock_held_share:.0%} of the time, commit {s.commit_mean_ms:.2f} ms (max {s.commit_max_ms:.0f} ms)"
            )
        text += (
            f"; CPU: gunicorn {gunicorn_cores:.2f} cores, generator {generator_cores:.2f} cores, machine "
            f"{machine:.0%} busy; {restarts} worker restarts (max_requests); {self.overflows:,} connections "
            "dropped at the full accept queue (each retried 1 s later)"
        )
        return text


# --- The run ------------------------------------------------------------------------------------------


def resync(seeded: Seeded, reference: bool = False) -> None:
    """Each candidate's revisions and answers as the database holds them, nothing in flight: the state a
    browser has after reloading its page. Run between steps, with the server stopped."""
    stored = stored_answers(seeded, reference)
    for c in seeded.candidates:
        c.saving = False
        for n in range(ITEMS):
            if (c.index, n) in stored:
                revision, answer = stored[(c.index, n)]
                c.revisions[n] = revision
                c.acked[n] = json.dumps(answer, separators=(",", ":"))


def listen_overflows() -> int:
    """Connections the kernel has dropped since boot because a listening socket's accept queue was full
    (TcpExt ListenOverflows): each such client's connection waits for its SYN to be sent again, 1 s later."""
    try:
        rows = [
            line.split() for line in Path("/proc/net/netstat").read_text().splitlines() if line.startswith("TcpExt:")
        ]
        return int(dict(zip(rows[0], rows[1], strict=True))["ListenOverflows"])
    except (OSError, IndexError, KeyError, ValueError):
        return 0


def run_backend(
    backend: str,
    folder: Path,
    counts: list[int],
    seconds: float,
    warmup: float,
    workers: int,
    ascending: bool,
    reference: bool = False,
) -> list[Step]:
    """Seed the largest count once; run the counts in turn, each on a freshly started server (stopping at the
    first miss going up, or the first hold going down)."""
    from database import db

    steps: list[Step] = []
    with common.database(backend, folder) as url:
        started = time.perf_counter()
        seeded = seed(url, max(counts))
        print(f"{backend:<10} seeded {max(counts):,} started candidates in {time.perf_counter() - started:.1f} s")
        try:
            env = {**os.environ, "DATABASE_URL": url}
            for count in counts:
                with gunicorn(env, folder, workers, reference) as server:
                    overflows = listen_overflows()
                    outcome = asyncio.run(
                        drive(seeded, count, server.port, server.process.pid, seconds, warmup, reference)
                    )
                    overflows = listen_overflows() - overflows
                    lost, checked = lost_answers(seeded, count, reference)
                # The hook lines are complete once the workers have exited.
                found = server_side(server.stats_dir, outcome.window, workers)
                step = Step(backend, count, outcome, found, lost, checked, workers, overflows)
                steps.append(step)
                print(
                    f"{backend:<10} {count:,} candidates: p99 {step.p99:.1f} ms, errors "
                    f"{step.outcome.error_count}, lost {step.lost}: {'held' if step.held else 'not held'}",
                    flush=True,
                )
                if step.held != ascending:
                    break
                resync(seeded, reference)
        finally:
            with seeded.app.app_context():
                db.session.remove()
                db.engine.dispose()
    return steps


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures, record them, and with --check return 1 on a miss."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds of each run (30)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds at the full rate before measuring (10)")
    parser.add_argument("--candidates", type=int, default=SQLITE_TARGET, help="SQLite's candidates (10,000)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (WEB_CONCURRENCY, 2)")
    parser.add_argument(
        "--reference",
        action="store_true",
        help="drive the minimal reference endpoints (benchmarks/http_reference.py) instead: the floor on this machine",
    )
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    common.stop_cleanly_on_signals()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    load = os.getloadavg()
    print(
        f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores; gunicorn "
        f"-c gunicorn.conf.py, {args.workers} sync workers; open-loop: an autosave every {SAVE_EVERY:g} s and a "
        f"page every {PAGE_EVERY:g} s per candidate; {args.warmup:g} s warm-up, {args.seconds:g} s measured"
    )
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    folder = Path(tempfile.mkdtemp(prefix="rapport-load-bench-"))
    revision = common.git_revision(None)
    results: dict[str, list[Step]] = {}
    try:
        common.prepare_environment(folder)
        for backend in backends:
            if backend == "sqlite":
                counts = [args.candidates] + [n for n in SQLITE_FALLBACK_STEPS if n < args.candidates]
                results[backend] = run_backend(
                    backend, folder, counts, args.seconds, args.warmup, args.workers, False, args.reference
                )
            else:
                results[backend] = run_backend(
                    backend, folder, list(POSTGRES_STEPS), args.seconds, args.warmup, args.workers, True, args.reference
                )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    command = common.command_line("benchmarks/load.py", argv)
    date = common.utc_minute()
    context = f"load {load[0]:.2f} at start"
    failed = False
    for backend, steps in results.items():
        for step in steps:
            print(f"{backend:<10} {step.figure()}")
        held = [s.candidates for s in steps if s.held]
        best = max(held, default=0)
        # The run that names the bottleneck: the first one that missed, else the largest.
        limiting = next((s for s in steps if not s.held), steps[-1])
        bottleneck = limiting.bottleneck()
        print(f"{backend:<10} bottleneck at {limiting.candidates:,} candidates: {bottleneck}")
        if args.reference:
            # The floor, not the app: no target, and it fails nothing.
            verdict = "measured"
            figure = (
                f"{backend} REFERENCE endpoints (benchmarks/http_reference.py: one row read, one upsert and commit; "
                f"no session, CSRF, tenant checks, headers or logging) held {best:,} candidates at p99 <= "
                f"{P99_TARGET_MS:.0f} ms (steps "
                + "; ".join(
                    f"{s.candidates:,}: p99 {s.p99:.1f} ms, errors {s.outcome.error_count}, lost {s.lost}"
                    for s in steps
                )
                + f"); at {limiting.figure()}"
            )
            target = "the floor on this machine, to read the real app's capacity against"
        elif backend == "sqlite":
            main_step = steps[0]
            verdict = "met" if main_step.held else "MISSED"
            figure = f"sqlite capacity at {main_step.figure()}"
            if not main_step.held:
                figure += f"; held at most {best:,} candidates of {[s.candidates for s in steps]}"
            target = f">= {SQLITE_TARGET:,} candidates, p99 <= {P99_TARGET_MS:.0f} ms, no error, no lost answer"
            failed = failed or not main_step.held or main_step.candidates < SQLITE_TARGET
        else:
            verdict = "met" if best >= POSTGRES_GOAL else "MISSED"
            figure = (
                f"postgresql capacity: held {best:,} candidates at p99 <= {P99_TARGET_MS:.0f} ms (steps "
                + "; ".join(
                    f"{s.candidates:,}: p99 {s.p99:.1f} ms, errors {s.outcome.error_count}, lost {s.lost}"
                    for s in steps
                )
                + f"); at {limiting.figure()}"
            )
            target = f"measured; goal >= {POSTGRES_GOAL:,} candidates at p99 <= {P99_TARGET_MS:.0f} ms"
            failed = failed or best < POSTGRES_GOAL
        figure += f"; bottleneck: {bottleneck}; gunicorn.conf.py with {args.workers} sync workers; {context}"
        print(f"{backend:<10} {'capacity':<9} {verdict}: {figure}")
        if not args.no_record:
            common.append_result(date, revision, command, figure, target, verdict)
    if args.check and failed:
        print("FAILED: a capacity target is missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
