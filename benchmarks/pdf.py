"""PDF benchmark: the client dossier's warm render time against a 3-page reference report, and batch throughput.

Targets (shared performance spec):
- client report, warm render: <= 1.3x the per-page time of the 3-page reference report, rendered in the
  same run, cache off;
- report batch: >= 25 report pages per second with 2 worker processes, cache off.

Method: a throwaway instance (a temporary RAPPORT_INSTANCE_PATH holding a SQLite database) is migrated and
seeded with the app's own commands (`flask db upgrade`, `flask seed-demo`). The seeded candidate (--candidate,
"Nia Campbell" by default) must have a submitted, scored attempt and a profile; their dossier report is
created (reports.services.ensure_report) with a few lines of recruiter's notes, and its print HTML and
stylesheet are built from the report context as the app builds them (reports.context.dossier_context,
reports.render.html_for and stylesheet_for). The reference is benchmarks/reference_report/reference.html and
reference.css (3 A4 pages: inline SVG bar and radar charts, a 20-row table, paragraphs, @page numbering),
which must come out at exactly 3 pages.

Both documents go through the same reports.pdf.render_pdf (the packaged fonts, the restricted fetcher,
PDF/UA) in reports.pool render children, never through the PDF cache. Warm render: in a 1-process pool (a
fresh interpreter that loads WeasyPrint and not the app, like the production children; renders in this
process, which holds the app, are up to 1.6x slower), after --warmup discarded renders of each, --runs
renders of each, one at a time and alternating reference and dossier so that both see the same machine,
timed by the child around render_pdf (RenderedPdf.render_ms); the median per document, divided by its pages,
gives ms per page, and the ratio is dossier / reference. Batch: a reports.pool.RenderPool with 2 processes,
warmed with one render per child, renders --batch documents submitted from 2 threads (so both children are
busy) --rounds times; pages per second is the median over the rounds of the batch's pages divided by its
wall-clock time (sending the HTML and receiving the PDF included). The reference's own batch throughput is
measured the same way, for context.

    .venv/bin/python benchmarks/pdf.py --check [--write] [--commit REV] [--runs 15] [--batch 20] [--profile]

By default the working tree is measured (the commit column then says +dirty when tracked files differ from
HEAD); --commit REV measures a clean export of that commit instead (`git archive`). Prints one line per
figure; with --check exits 1 when a target is missed. --write appends rows to benchmarks/RESULTS.md (date,
commit, command, figure, target, result). --save DIR writes the measured dossier's HTML and CSS to DIR, to try
variants of them with the same render function. --profile also profiles the dossier render in-process (cProfile
around reports.pdf.render_pdf) and prints where the time goes. The machine has 2 cores: do not run this
while another benchmark runs. Everything started here (render children, temporary files) is stopped or
removed on exit, errors included.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Run as a script, this file's folder comes first on sys.path, where "pdf.py" and "http.py" would hide
# modules of the same name. Put the repository there instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import gc  # noqa: E402
import io  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import secrets  # noqa: E402
import shlex  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from benchmarks import common  # noqa: E402

REFERENCE_HTML = HERE / "reference_report" / "reference.html"
REFERENCE_CSS = HERE / "reference_report" / "reference.css"
REFERENCE_PAGES = 3
RATIO_TARGET = 1.3  # dossier ms/page <= 1.3x the reference's
PAGES_PER_SECOND_TARGET = 25.0  # with 2 worker processes
PROCESSES = 2
ENGINE = ("reports/pdf.py", "reports/pool.py", "reports/render.py", "reports/assets/fonts.css")
APP_ROOT = ROOT  # where the measured app lives: the repository, or an export of --commit
CANDIDATE = "Nia Campbell"
NOTES = (
    "Spoke with Nia on the phone on Tuesday: clear, calm and well prepared.\n"
    "Available from the first of next month; notice period of four weeks.\n"
    "Asked about the supplier master data clean-up; has done similar work at the hotel.\n"
    "Salary expectation within the client's range."
)


class BenchmarkError(RuntimeError):
    """The benchmark could not be set up (the run measured nothing)."""


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise BenchmarkError(message)


# --- Setup ----------------------------------------------------------------------------------------


def prepare_environment(folder: Path) -> dict[str, str]:
    """The settings the app reads: a throwaway instance folder and secret key; returns the environment."""
    for name in ("DATABASE_URL", "REDIS_URL", "RAPPORT_ENV", "BASE_URL", "TASKS_IMMEDIATE", "HUEY_SQLITE_PATH"):
        os.environ.pop(name, None)
    for name in ("REPORT_RENDER_PROCESSES", "REPORT_RENDER_TIMEOUT", "REPORT_RENDER_MEMORY_MB"):
        os.environ.pop(name, None)
    instance = folder / "instance"
    instance.mkdir()
    os.environ["RAPPORT_INSTANCE_PATH"] = str(instance)
    os.environ["SECRET_KEY"] = secrets.token_hex(32)
    os.environ["FLASK_APP"] = "app"
    return dict(os.environ)


def export_commit(revision: str, folder: Path) -> Path:
    """A clean copy of the commit's tree (git archive); the reference report is read from this checkout."""
    global APP_ROOT
    tree = folder / "tree"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    missing = [name for name in ENGINE if not (tree / name).exists()]
    expect(not missing, f"commit {revision} has no {', '.join(missing)}: nothing to measure there")
    sys.path[:] = [str(tree), *(p for p in sys.path if Path(p or ".").resolve() != ROOT)]
    APP_ROOT = tree
    return tree


def flask(env: dict[str, str], *args: str) -> None:
    """Run one of the app's commands as an operator would (scripts/run-demo), in the measured tree."""
    binary = Path(sys.executable).with_name("flask")
    command = [str(binary) if binary.exists() else "flask", *args]
    done = subprocess.run(command, cwd=APP_ROOT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise BenchmarkError(f"`flask {' '.join(args)}` failed (exit {done.returncode}):\n{tail}")


@dataclass(frozen=True)
class Document:
    name: str
    html: str
    stylesheet: str


def dossier(candidate: str) -> Document:
    """The candidate's dossier (created with notes if the seed did not create it), as print HTML and CSS."""
    from sqlalchemy import select

    from app import create_app
    from assessments.models import Invitation
    from candidates.models import Candidate
    from database import db, unit_of_work, utcnow
    from reports import services
    from reports.context import dossier_context
    from reports.render import html_for, stylesheet_for

    app = create_app()
    with app.app_context():
        named = select(Invitation).join(Candidate, Invitation.candidate_id == Candidate.id)
        invitations = db.session.scalars(named.where(Candidate.name == candidate).order_by(Invitation.id)).all()
        expect(bool(invitations), f"the demo seed has no candidate named {candidate!r}")
        with unit_of_work():
            report = None
            for invitation in invitations:
                try:
                    report = services.ensure_report(invitation, utcnow())
                    break
                except services.ReportError:
                    continue
            expect(report is not None, f"{candidate} has no submitted, scored attempt")
            assert report is not None
            report.notes = services.check_notes(NOTES)
            report.updated_at = utcnow()
        context = dossier_context(report)
        expect(context.overall is not None, f"{candidate}'s dossier has no overall result")
        expect(context.fit is not None and not context.fit.unavailable, f"{candidate}'s dossier has no fit")
        no_profile = any("no skills, education or experience" in m for m in context.missing)
        expect(not no_profile, f"{candidate} has no skills, education or experience on record")
        expect(bool(context.notes), "the dossier does not show the recruiter's notes")
        return Document(f"dossier ({candidate})", html_for(context), stylesheet_for(context))


def reference() -> Document:
    return Document("reference", REFERENCE_HTML.read_text(encoding="utf-8"), REFERENCE_CSS.read_text(encoding="utf-8"))


# --- Measurement ----------------------------------------------------------------------------------


@dataclass
class Warm:
    """Warm in-process renders of one document."""

    document: Document
    pages: int
    times_ms: list[float]

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def per_page_ms(self) -> float:
        return self.median_ms / self.pages

    @property
    def spread(self) -> str:
        ordered = sorted(self.times_ms)
        return f"min {ordered[0]:.0f}, max {ordered[-1]:.0f}"


def warm_renders(pool: Any, documents: list[Document], runs: int, warmup: int) -> list[Warm]:
    """Render each document `warmup` times (discarded), then `runs` times, alternating between documents, one
    at a time in a render child; the time is the child's own (RenderedPdf.render_ms, around render_pdf)."""
    results = [Warm(document, 0, []) for document in documents]
    for round_number in range(warmup + runs):
        for warm in results:
            rendered = pool.render(warm.document.html, warm.document.stylesheet)
            expect(warm.pages in (0, rendered.pages), f"{warm.document.name}: the page count changed between renders")
            warm.pages = rendered.pages
            if round_number >= warmup:
                warm.times_ms.append(float(rendered.render_ms))
    return results


@dataclass
class Batch:
    """Batches of one document rendered by a 2-process pool."""

    document: Document
    documents: int
    pages: int  # per batch
    seconds: list[float]

    @property
    def pages_per_second(self) -> float:
        return statistics.median(self.pages / s for s in self.seconds)

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)


def batch_renders(pool: Any, document: Document, size: int, rounds: int) -> Batch:
    """`rounds` batches of `size` renders of `document`, submitted from PROCESSES threads."""
    result = Batch(document, size, 0, [])
    with ThreadPoolExecutor(max_workers=PROCESSES) as threads:
        # One render per child first, so that each child has rendered this document before the clock starts.
        list(threads.map(lambda _: pool.render(document.html, document.stylesheet), range(PROCESSES)))
        for _ in range(rounds):
            started = time.perf_counter()
            rendered = list(threads.map(lambda _: pool.render(document.html, document.stylesheet), range(size)))
            result.seconds.append(time.perf_counter() - started)
            result.pages = sum(r.pages for r in rendered)
    return result


def profile_render(document: Document, runs: int = 5, top: int = 30) -> None:
    """cProfile around reports.pdf.render_pdf for a warm document; print the costliest functions."""
    from reports.pdf import render_pdf

    render_pdf(document.html, document.stylesheet)
    # This process also holds the app; keep the garbage collector off its objects, as in a render child.
    gc.collect()
    gc.freeze()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        render_pdf(document.html, document.stylesheet)
    profiler.disable()
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print(f"--- profile of {runs} warm renders of the {document.name}, by {order} ---")
        print(out.getvalue().split("\n", 5)[-1].rstrip())


# --- Reporting ------------------------------------------------------------------------------------


@dataclass
class Figures:
    reference: Warm
    dossier: Warm
    batch: Batch
    reference_batch: Batch
    harfbuzz_subset: bool
    weasyprint: str
    load: tuple[float, float, float]

    @property
    def ratio(self) -> float:
        return self.dossier.per_page_ms / self.reference.per_page_ms

    @property
    def ratio_met(self) -> bool:
        return self.ratio <= RATIO_TARGET

    @property
    def batch_met(self) -> bool:
        return self.batch.pages_per_second >= PAGES_PER_SECOND_TARGET


def verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def warm_line(warm: Warm) -> str:
    return (
        f"warm render, {warm.document.name}: {warm.pages} pages, median {warm.median_ms:.0f} ms per document "
        f"({warm.spread}, {len(warm.times_ms)} runs) = {warm.per_page_ms:.1f} ms per page"
    )


def batch_line(batch: Batch) -> str:
    return (
        f"batch, {batch.document.name}: {PROCESSES} processes, {batch.documents} documents ({batch.pages} pages) "
        f"in {batch.median_seconds:.2f} s (median of {len(batch.seconds)}) = {batch.pages_per_second:.1f} pages/s"
    )


def record(command: str, f: Figures, revision: str | None) -> None:
    """Append the two rows (warm render ratio, batch throughput) to benchmarks/RESULTS.md."""
    date = common.utc_minute()
    setting = (
        f"WeasyPrint {f.weasyprint}, harfbuzz-subset {'yes' if f.harfbuzz_subset else 'NO'}, cache off, "
        f"load {f.load[0]:.2f} at start"
    )
    warm = (
        f"dossier warm render: {f.dossier.per_page_ms:.1f} ms/page ({f.dossier.pages} pages, median "
        f"{f.dossier.median_ms:.0f} ms) vs reference {f.reference.per_page_ms:.1f} ms/page ({f.reference.pages} "
        f"pages, median {f.reference.median_ms:.0f} ms) = {f.ratio:.2f}x; median of {len(f.dossier.times_ms)} runs "
        "in a render child; "
        f"{setting}"
    )
    batch = (
        f"dossier batch: {f.batch.pages_per_second:.1f} pages/s ({f.batch.documents} x {f.dossier.pages} pages, "
        f"{PROCESSES} processes, median of {len(f.batch.seconds)}); reference batch "
        f"{f.reference_batch.pages_per_second:.1f} pages/s; {setting}"
    )
    rows = [
        (warm, f"<= {RATIO_TARGET}x reference ms/page", verdict(f.ratio_met)),
        (batch, f">= {PAGES_PER_SECOND_TARGET:.0f} pages/s", verdict(f.batch_met)),
    ]
    commit = common.git_revision(revision)
    for figure, target, result in rows:
        common.append_result(date, commit, command, figure, target, result)


# --- Main -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace, env: dict[str, str], say: Callable[[str], None]) -> Figures:
    flask(env, "db", "upgrade")
    flask(env, "seed-demo")
    documents = [reference(), dossier(args.candidate)]
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        (args.save / "dossier.html").write_text(documents[1].html, encoding="utf-8")
        (args.save / "dossier.css").write_text(documents[1].stylesheet, encoding="utf-8")

    import weasyprint

    from reports.pdf import harfbuzz_subset_available
    from reports.pool import RenderPool

    load = os.getloadavg()
    say(f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start")
    say(f"WeasyPrint {weasyprint.__version__}; libharfbuzz-subset available: {harfbuzz_subset_available()}")
    single = RenderPool(processes=1)
    try:
        reference_warm, dossier_warm = warm_renders(single, documents, args.runs, args.warmup)
    finally:
        single.close()
    expect(
        reference_warm.pages == REFERENCE_PAGES,
        f"the reference report came out at {reference_warm.pages} pages, not {REFERENCE_PAGES}: the run is void",
    )
    say(warm_line(reference_warm))
    say(warm_line(dossier_warm))
    ratio = dossier_warm.per_page_ms / reference_warm.per_page_ms
    say(f"warm render ratio, dossier / reference per page: {ratio:.2f}x (target <= {RATIO_TARGET}x)")
    pool = RenderPool(processes=PROCESSES)
    try:
        dossier_batch = batch_renders(pool, documents[1], args.batch, args.rounds)
        reference_batch = batch_renders(pool, documents[0], args.batch, args.rounds)
    finally:
        pool.close()
    say(batch_line(dossier_batch) + f" (target >= {PAGES_PER_SECOND_TARGET:.0f} pages/s)")
    say(batch_line(reference_batch) + " (context)")
    if args.profile:
        profile_render(documents[1])
    return Figures(
        reference=reference_warm,
        dossier=dossier_warm,
        batch=dossier_batch,
        reference_batch=reference_batch,
        harfbuzz_subset=harfbuzz_subset_available(),
        weasyprint=weasyprint.__version__,
        load=load,
    )


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # run the finally blocks: stop the render children, remove the folder


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the figures, record them with --write, and with --check return 1 on a miss."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--write", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    parser.add_argument("--commit", help="measure a clean export of this commit instead of the working tree")
    parser.add_argument("--runs", type=int, default=15, help="measured warm renders of each document (15)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded warm-up renders of each document (1)")
    parser.add_argument("--batch", type=int, default=20, help="documents per batch through the pool (20)")
    parser.add_argument("--rounds", type=int, default=3, help="batches of each document; the median counts (3)")
    parser.add_argument("--candidate", default=CANDIDATE, help=f"the seeded candidate's name ({CANDIDATE})")
    parser.add_argument("--profile", action="store_true", help="also cProfile the dossier render in-process")
    parser.add_argument("--save", type=Path, metavar="DIR", help="also write the measured dossier's HTML and CSS there")
    args = parser.parse_args(argv)
    if min(args.runs, args.batch, args.rounds) < 1 or args.warmup < 0:
        parser.error("--runs, --batch and --rounds must be at least 1, --warmup at least 0")
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    # Warnings only, as in the render children: the app would log at INFO, and WeasyPrint logs every step of
    # every render at INFO, which would be measured too. (The app leaves logging alone once it is set up.)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    folder = Path(tempfile.mkdtemp(prefix="rapport-pdf-bench-"))
    try:
        env = prepare_environment(folder)
        if args.commit:
            export_commit(args.commit, folder)
        figures = run(args, env, print)
    except BenchmarkError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"target, warm render <= {RATIO_TARGET}x the reference per page: {verdict(figures.ratio_met)}")
    print(
        f"target, batch >= {PAGES_PER_SECOND_TARGET:.0f} pages/s, {PROCESSES} processes: {verdict(figures.batch_met)}"
    )
    if args.write:
        record(shlex.join(["benchmarks/pdf.py", *(argv if argv is not None else sys.argv[1:])]), figures, args.commit)
    if args.check and not (figures.ratio_met and figures.batch_met):
        print("FAILED: a PDF target is missed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
