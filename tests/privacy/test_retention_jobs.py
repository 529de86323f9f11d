"""The retention command (with its dry run) and the daily task that enforces retention."""

from __future__ import annotations

from datetime import datetime, timedelta

import tasks
from database import db, unit_of_work, utcnow
from tests.privacy.builders import add_candidate_at, candidate_by


def add_old_candidate(app, tenant, name: str) -> str:
    """A candidate created three years ago and never invited: due under any agency's period of up to 35 months."""
    with app.app_context(), unit_of_work():
        return add_candidate_at(tenant, name, created=utcnow() - timedelta(days=3 * 365))


def test_the_command_reports_a_dry_run_without_names_then_erases(app, tenant_a, tenant_b):
    old = add_old_candidate(app, tenant_a, "Ottoline Vantongeren")
    runner = app.test_cli_runner()

    result = runner.invoke(args=["retention", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert (
        f"{tenant_a.agency_name} ({tenant_a.agency_id}), 12 months: 1 would be erased (1 profile only)" in result.output
    )
    assert f"{tenant_b.agency_name} ({tenant_b.agency_id}), 12 months: 0 would be erased (none due)" in result.output
    assert "Dry run: 1 due in all, 0 erased." in result.output
    assert "Ottoline" not in result.output and "vantongeren" not in result.output.lower()
    with app.app_context():
        assert candidate_by(old) is not None

    result = runner.invoke(args=["retention"])
    assert result.exit_code == 0, result.output
    assert "1 due (1 profile only); 1 erased, 0 failed" in result.output
    with app.app_context():
        assert candidate_by(old) is None
        assert candidate_by(tenant_a.candidate_id) is not None  # invited a moment ago


def test_the_daily_task_erases_who_is_due(app, tenant_a):
    old = add_old_candidate(app, tenant_a, "Wilhelmina Ashcombe")
    due_at = tasks.retention_task.s().validate_datetime  # a periodic task, daily at 03:00 UTC
    at_three = datetime(2027, 5, 4, 3, 0)
    assert due_at(at_three)
    assert not due_at(at_three + timedelta(hours=1)) and not due_at(at_three + timedelta(minutes=1))

    tasks.retention_task()  # immediate mode: runs now, in this thread

    with app.app_context():
        db.session.remove()
        assert candidate_by(old) is None
        assert candidate_by(tenant_a.candidate_id) is not None
