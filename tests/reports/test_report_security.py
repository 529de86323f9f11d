"""Hostile text in every user-written field that reaches a report stays text (security.md INV-8, E items 41, 42
and 47 for text): nothing is fetched from the filesystem or the network, nothing is attached, no template is
evaluated, and the PDF is still made, tagged, with the hostile text printed literally.

The real report job runs (request_render, then run_job through the immediate queue) for the dossier, the
feedback report and the shortlist, once rendering in-process and once in the real pool of render children.
"""

from __future__ import annotations

import dataclasses
import http.server
import io
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

import reports.pool as pool_module
from accounts.models import Agency, Client
from assessments.models import Assessment, Invitation
from database import db, unit_of_work
from positions.models import Position
from reports import jobs
from reports.context import dossier_context, feedback_context, shortlist_context
from reports.models import JobStatus, Report, ReportJob, ReportKind
from scenarios.models import Competency
from tests.reports.pdftools import pdf_uncompressed
from tests.reports.report_scene import NOW, build_world, flat_text, freeze_norms

pytestmark = pytest.mark.app_config(REPORT_RENDERER="inline")

# Each field's longest value (the column's length; Text columns get a generous cap of our own).
LIMITS = {
    "candidate name": 120,
    "notes": 3000,
    "position title": 160,
    "client name": 120,
    "agency name": 120,
    "assessment title": 160,
    "competency name": 80,
    "competency definition": 3000,
    "skill evidence": 3000,
    "job title": 200,
    "employer": 200,
    "education": 200,
    "education field": 200,
    "norm table label": 160,
}
# Never shown in a PDF (so only the canary checks apply to it); every other field is printed somewhere.
NOT_PRINTED = {"competency definition", "education field"}
TEMPLATE_MARKERS = ("{{ 7*7 }}", "{{ 7*1931 }}")  # 7*1931 = 13517: if it were ever evaluated, 13517 would show
LITERAL_FRAGMENTS = (
    "<img src=",
    "<link rel=",
    '<a rel="attachment"',
    "<style>@import url(",
    "<svg><image href=",
    "</style><script>alert(1)</script>",
    "<embed src=",
    *TEMPLATE_MARKERS,
)


@dataclass
class Canary:
    path: Path
    content: str


@pytest.fixture
def canary(tmp_path_factory) -> Canary:
    """A file of random content, in a short folder so that its URL fits the shorter fields."""
    content = "CANARY" + secrets.token_hex(16)
    path = tmp_path_factory.mktemp("c") / "c"
    path.write_text(content, encoding="utf-8")
    return Canary(path, content)


@pytest.fixture
def canary_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP server on loopback recording every request it receives: (port, hits)."""
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def _record(self) -> None:
            hits.append(f"{self.command} {self.path}")
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.end_headers()
            self.wfile.write(b"body { background: url(/again); }")

        do_GET = do_POST = do_HEAD = _record

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def payloads(canary: Path, port: int) -> list[str]:
    file_url = f"file://{canary}"
    web = f"http://127.0.0.1:{port}"
    return [
        f'<img src="{file_url}">',
        f'<link rel="attachment" href="{file_url}">',
        f'<a rel="attachment" href="{file_url}">x</a>',
        f"<style>@import url({web}/css)</style>",
        f'<svg><image href="{web}/svg"/></svg>',
        f"{web}/plain",
        "</style><script>alert(1)</script>",
        f'<embed src="{file_url}">',
        f'<img src="{web}/img">',
    ]


def hostile_values(canary: Path, port: int) -> dict[str, str]:
    """Each field: both template markers, then the payloads from a different starting point per field, as many
    as fit its length, so every payload lands in several fields and every field holds at least one."""
    pool = payloads(canary, port)
    values = {}
    for index, (field, limit) in enumerate(LIMITS.items()):
        value = " ".join(TEMPLATE_MARKERS)
        for step in range(len(pool)):
            candidate = f"{value} {pool[(index + step) % len(pool)]}"
            if len(candidate) > limit:
                break
            value = candidate
        assert value != " ".join(TEMPLATE_MARKERS), f"no payload fits the {field} ({limit} characters)"
        values[field] = value
    printed = " ".join(v for k, v in values.items() if k not in NOT_PRINTED)
    assert all(p in printed for p in pool), "a payload reaches no printed field"
    return values


def seed(app, tenant, canary: Canary, port: int) -> tuple[Any, dict[str, str]]:
    values = hostile_values(canary.path, port)
    world = build_world(app, tenant, names=("Ada Able",), released=("Ada Able",), norms=False)
    with app.app_context(), unit_of_work():
        report = db.session.get_one(Report, world.reports["Ada Able"])
        report.notes = values["notes"]
        candidate = db.session.get_one(Invitation, report.invitation_id).candidate
        candidate.name = values["candidate name"]
        for skill in candidate.skills:
            skill.evidence = values["skill evidence"]
        for job in candidate.experience:
            job.role, job.employer = values["job title"], values["employer"]
        for education in candidate.education:
            education.original_text, education.field = values["education"], values["education field"]
        position = db.session.get_one(Position, world.position_id)
        position.title = values["position title"]
        db.session.get_one(Client, world.client_id).name = values["client name"]
        db.session.get_one(Agency, world.agency_id).name = values["agency name"]
        assessment = db.session.get_one(Assessment, world.assessment_id)
        assessment.title = values["assessment title"]
        professionalism = db.session.scalars(
            select(Competency).where(Competency.agency_id == world.agency_id, Competency.code == "professionalism")
        ).one()
        professionalism.name, professionalism.definition = values["competency name"], values["competency definition"]
        freeze_norms(assessment, label=values["norm table label"])
    return world, values


def strings(value: Any) -> Iterator[str]:
    """Every text inside a context (dataclasses.asdict output)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def render_all(world: Any) -> dict[str, bytes]:
    """Request the three reports; the immediate queue runs each job after its commit. Their PDFs by kind."""
    ids = {}
    for kind in (ReportKind.DOSSIER, ReportKind.FEEDBACK, ReportKind.SHORTLIST):
        with unit_of_work():
            report = db.session.get_one(Report, world.reports["Ada Able"]) if kind is not ReportKind.SHORTLIST else None
            position = db.session.get_one(Position, world.position_id)
            ids[kind.value] = jobs.request_render(kind, report=report, position=position, by=None, now=NOW).id
    db.session.expire_all()
    found = {}
    for kind, job_id in ids.items():
        job = db.session.get_one(ReportJob, job_id)
        assert job.status is JobStatus.DONE, (kind, job.status, job.error)
        assert job.file is not None
        found[kind] = job.file.pdf
    return found


@pytest.mark.parametrize("renderer", ["inline", "pool"])
def test_hostile_text_in_every_field_stays_text_in_every_report(
    app, tenant_a, canary, canary_server, monkeypatch, renderer
):
    port, hits = canary_server
    world, values = seed(app, tenant_a, canary, port)

    with app.app_context():
        # The hostile values are what the reports are made of (the test would prove nothing otherwise).
        report = db.session.get_one(Report, world.reports["Ada Able"])
        texts = list(strings(dataclasses.asdict(dossier_context(report))))
        # (The education field is shown only when the original text is empty; it is seeded all the same.)
        missing = [
            field
            for field, value in values.items()
            if field != "education field" and not any(value in text for text in texts)
        ]
        assert not missing, f"not in the dossier context: {missing}"
        assert values["candidate name"].split()[0] == feedback_context(report).first_name
        shortlist = shortlist_context(db.session.get_one(Position, world.position_id), NOW.date())
        assert [row.candidate_name for row in shortlist.rows] == [values["candidate name"]]

        if renderer == "pool":
            # The real pool of render children, as the consumer runs it; rendering in this process is refused.
            app.config["REPORT_RENDERER"] = None
            monkeypatch.setattr(pool_module, "_pool", None)
            monkeypatch.setenv("REPORT_RENDER_PROCESSES", "1")

            def not_here(html: str, stylesheet: str) -> Any:
                raise AssertionError("rendered in the test process instead of the pool")

            monkeypatch.setattr(pool_module, "render_in_process", not_here)
        try:
            pdfs = render_all(world)
            if renderer == "pool":
                assert pool_module._pool is not None and len(pool_module._pool.pids()) == 1
        finally:
            if renderer == "pool":
                pool_module._close_process_pool()

    assert hits == [], f"the canary server was asked for {hits}"
    for kind, pdf in pdfs.items():
        text = flat_text(pdf)
        raw = pdf_uncompressed(pdf)
        assert canary.content not in text, kind
        assert canary.content.encode() not in raw and canary.content.encode() not in pdf, kind

        reader = PdfReader(io.BytesIO(pdf))
        root = reader.trailer["/Root"]
        assert reader.attachments == {}, kind
        assert "/EmbeddedFiles" not in (root.get("/Names") or {}), kind
        for needle in (b"/EmbeddedFile", b"/FileAttachment", b"/JavaScript", b"/JS ", b"/Launch", b"/Subtype /Image"):
            assert needle not in raw, (kind, needle)
        for page in reader.pages:
            for annotation in page.get("/Annots") or []:
                assert annotation.get_object().get("/Subtype") != "/FileAttachment", kind
        assert "/StructTreeRoot" in root or "/MarkInfo" in root, f"{kind} is not tagged"

        # Printed as text: the template markers everywhere, never evaluated.
        assert "{{ 7*7 }}" in text and "{{ 7*1931 }}" in text, kind
        assert "13517" not in text, kind
    dossier = flat_text(pdfs["dossier"])
    for fragment in LITERAL_FRAGMENTS:
        assert fragment in dossier, fragment
    assert "<img src=" in flat_text(pdfs["shortlist"]) or "<svg><image" in flat_text(pdfs["shortlist"])
