"""Start-up benchmark: how long a new web process takes to answer its first request, and what it imports.

Target (shared performance spec, "start-up"): the web process imports no WeasyPrint, numpy or scipy until it
needs them; first request under 1 s after start.

Method: a migrated SQLite database in a temporary folder. Then, --runs times, a new Python process (the one a
gunicorn worker is: the same interpreter, the app imported and built, then one request) that:
imports `wsgi` (gunicorn's entry point, which imports the app and builds it with the garbage collector
paused) and asks for the sign-in page through the app (Flask test client: the
whole request, session, access policy, template, security headers). The parent times the process from its
start (fork and exec included) to the first reply (its exit is not counted), and the child reports its
phases and which of numpy, scipy, weasyprint (and alembic, huey, Pillow, segno) it had imported by then. The
sign-in page reads no table, and SQLAlchemy sets its mappers up on the first query unless that was done at
start (wsgi.py does it); the child then times whatever set-up is left, and the first reply that reads the
database (the first reply plus that set-up) must also come within 1 s.

Python keeps compiled bytecode as a deployment does (PYTHONDONTWRITEBYTECODE is cleared for the children,
and one unmeasured run writes it first): without it every worker would compile the app's modules again. The
same run fills the compiled-template cache in the instance folder (app.TemplateCache), as the first worker
on a machine does for every later one.

    .venv/bin/python benchmarks/startup.py --check [--runs 7]

Prints one line; with --check exits 1 when the target is missed. Appends a row to benchmarks/RESULTS.md unless
--no-record is given, with the slowest imports named.
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
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from benchmarks import common  # noqa: E402

TARGET_MS = 1000.0
HEAVY = ("numpy", "scipy", "weasyprint", "alembic", "huey", "PIL", "segno")  # the spec names the first three

# The child: the web process's work up to its first reply, timed by phase, and what it had imported by then.
CHILD = """
import json, sys, time
started = time.perf_counter()
import wsgi  # what gunicorn.conf.py serves: imports the app and builds it, the garbage collector paused
created = time.perf_counter()
reply = wsgi.application.test_client().get("/login")
answered = time.perf_counter()
replied_at = time.time()
heavy = sorted(name for name in %(heavy)r if name in sys.modules)
from sqlalchemy.orm import configure_mappers
mapping = time.perf_counter()
configure_mappers()  # what the first request that reads the database would add (none when done at start)
mapped = time.perf_counter()
print(json.dumps({
    "status": reply.status_code,
    "build_ms": (created - started) * 1000,
    "request_ms": (answered - created) * 1000,
    "mappers_ms": (mapped - mapping) * 1000,
    "heavy": heavy,
    "replied_at": replied_at,
}))
"""


# The floor, for reading a figure taken on a slow hour: the stack alone, a Flask app with Flask-SQLAlchemy and one
# model answering one request, timed the same way, its runs taken between the app's.
FLOOR = """
import json, os, time
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Mapped, mapped_column

floor = Flask("floor")
floor.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
db = SQLAlchemy(floor)


class Row(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)


floor.add_url_rule("/", "hello", lambda: "hello")
reply = floor.test_client().get("/")
print(json.dumps({"status": reply.status_code, "replied_at": time.time()}))
"""


def run_floor(env: dict[str, str]) -> float:
    """ms from the start of the floor's process to its first reply."""
    started = time.time()
    done = subprocess.run([sys.executable, "-c", FLOOR], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    common.expect(done.returncode == 0, f"the floor failed to start: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    common.expect(report["status"] == 200, f"the floor answered {report['status']}")
    return (float(report["replied_at"]) - started) * 1000


def child_environment(folder: Path, url: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": url, "RAPPORT_INSTANCE_PATH": str(folder)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def run_child(env: dict[str, str], importtime: bool = False) -> tuple[float, dict[str, object], str]:
    """(ms from the start of the process to its first reply, the child's report, its stderr)."""
    command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-c", CHILD % {"heavy": HEAVY}]
    started = time.time()  # the child's reply is stamped with the same clock: its exit is not counted
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    common.expect(done.returncode == 0, f"the web process failed to start: {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    wall = (float(report["replied_at"]) - started) * 1000
    common.expect(report["status"] == 200, f"the first request answered {report['status']}")
    return wall, report, done.stderr


def slowest_imports(stderr: str, count: int = 5) -> list[tuple[str, float]]:
    """The top-level packages that took longest to import (their own time, summed), from -X importtime."""
    totals: dict[str, float] = {}
    for row in stderr.splitlines():
        if not row.startswith("import time:") or "self [us]" in row:
            continue
        own, _, name = row.split(":", 1)[1].split("|")
        package = name.strip().split(".")[0]
        totals[package] = totals.get(package, 0.0) + int(own) / 1000
    return sorted(totals.items(), key=lambda item: -item[1])[:count]


def main(argv: list[str] | None = None) -> int:
    """Start the web process --runs times, print and record the median; with --check return 1 on a miss."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    parser.add_argument("--runs", type=int, default=7, help="measured starts (7)")
    parser.add_argument("--no-record", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    common.stop_cleanly_on_signals()
    load = os.getloadavg()
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    folder = Path(tempfile.mkdtemp(prefix="rapport-startup-bench-"))
    revision = common.git_revision(None)
    try:
        common.prepare_environment(folder)
        with common.database("sqlite", folder) as url:
            migrated = subprocess.run(
                [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": url},
                capture_output=True,
                text=True,
                check=False,
            )
            common.expect(migrated.returncode == 0, f"flask db upgrade failed: {migrated.stderr[-2000:]}")
            env = child_environment(folder, url)
            run_child(env)  # writes the bytecode caches; not measured
            run_floor(env)
            runs, floors = [], []
            for _ in range(args.runs):
                runs.append(run_child(env))
                floors.append(run_floor(env))
            _, _, importtime = run_child(env, importtime=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    walls = [wall for wall, _, _ in runs]
    median = statistics.median(walls)
    floor = statistics.median(floors)
    # The sign-in page reads no table: mapper set-up left undone at start would fall to the first request that
    # does. Both must come within the target: the first reply, and the first reply that reads the database.
    reading = statistics.median(wall + float(report["mappers_ms"]) for wall, report, _ in runs)  # type: ignore[arg-type]
    middle = sorted(runs, key=lambda run: run[0])[len(runs) // 2][1]
    heavy = sorted({name for _, report, _ in runs for name in report["heavy"]})  # type: ignore[attr-defined]
    slow = ", ".join(f"{name} {ms:.0f} ms" for name, ms in slowest_imports(importtime))
    met = max(median, reading) <= TARGET_MS and not heavy
    figure = (
        f"first request {median:.0f} ms after the process starts (median of {args.runs}; min {min(walls):.0f}, "
        f"max {max(walls):.0f}), the first that reads the database {reading:.0f} ms: the app imported and built "
        f"(wsgi.py) in {middle['build_ms']:.0f} ms, "
        f"first request {middle['request_ms']:.0f} ms, the rest is the interpreter's start, mapper set-up "
        f"{middle['mappers_ms']:.0f} ms on the first database read; imported by then: "
        f"{', '.join(heavy) if heavy else 'none'} of {', '.join(HEAVY)}; slowest imports (own time): {slow}; "
        f"the floor (Flask, Flask-SQLAlchemy, one model, one reply) {floor:.0f} ms in the same minutes, "
        f"so the app is {median / floor:.2f}x the floor"
    )
    print(f"start-up: {figure}: {'met' if met else 'MISSED'}")
    if not args.no_record:
        command = common.command_line("benchmarks/startup.py", argv)
        detail = f"{figure}; bytecode cached; load {load[0]:.2f} at start"
        target = f"no {', '.join(HEAVY)} imported; first request, and first database read, <= {TARGET_MS:.0f} ms"
        common.append_result(common.utc_minute(), revision, command, detail, target, "met" if met else "MISSED")
    if args.check and not met:
        print("FAILED: the web process starts too slowly or imports what it does not need yet", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
