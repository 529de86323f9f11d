"""A report is created on its first use (notes, a PDF, release). Two first uses at once, from two web processes
(a double click, two recruiters), must both get the one report, never an IntegrityError (a 500) from the
second insert. PostgreSQL only: SQLite's writers are serial, so the second cannot look before the first
commits."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select

from assessments.models import Invitation
from database import db, unit_of_work
from reports import services as report_services
from reports.models import Report
from tests.reports.report_scene import NOW, build_world, count

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def test_two_first_uses_at_once_share_one_report(app, tenant_a, monkeypatch):
    world = build_world(app, tenant_a, names=("Ada Able",))
    with app.app_context(), unit_of_work():  # scored, but no report yet
        db.session.execute(delete(Report).where(Report.id == world.reports["Ada Able"]))

    both_looked = threading.Barrier(2, timeout=2)
    look = report_services.report_for

    def look_then_wait(invitation: Invitation) -> Report | None:
        found = look(invitation)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other request waits for this one's commit
            both_looked.wait()
        return found

    monkeypatch.setattr(report_services, "report_for", look_then_wait)

    def first_use() -> int:
        with app.app_context(), unit_of_work():
            invitation = db.session.scalars(
                select(Invitation).where(Invitation.public_id == world.invitations["Ada Able"])
            ).one()
            return report_services.ensure_report(invitation, NOW).id

    with ThreadPoolExecutor(max_workers=2) as pool:
        made = [future.result() for future in [pool.submit(first_use) for _ in range(2)]]
    assert made[0] == made[1]
    with app.app_context():
        assert count(Report) == 1
