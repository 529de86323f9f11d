"""Flask CLI commands: thin wrappers around services."""

from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from accounts import services, tokens
from accounts.models import Agency, Role
from assessments import rescoring
from database import db, unit_of_work, utcnow
from demo import seed_demo
from positions.services import seed_transfer_table
from scenarios.services import seed_competencies


def register(app: Flask) -> None:
    app.cli.add_command(create_agency_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(sweep_outbox_command)
    app.cli.add_command(rescore_command)


@click.command("create-agency")
@with_appcontext
@click.argument("name")
@click.option("--admin-email", required=True, help="Email address of the agency's first admin.")
@click.option("--admin-name", required=True, help="Full name of the agency's first admin.")
def create_agency_command(name: str, admin_email: str, admin_name: str) -> None:
    """Create an agency and its first admin, who is emailed a link to choose a password."""
    name = name.strip()
    if not name or len(name) > 120:
        raise click.BadParameter("give a name of 1 to 120 characters", param_hint="NAME")
    admin_name = admin_name.strip()
    if not admin_name or len(admin_name) > 120:
        raise click.BadParameter("give a name of 1 to 120 characters", param_hint="--admin-name")
    try:
        validate_email(admin_email, check_deliverability=False)  # as the admin's user form does
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="--admin-email") from None
    if db.session.scalar(select(Agency.id).where(Agency.name == name)) is not None:
        raise click.ClickException(f"an agency named {name!r} already exists")
    now = utcnow()
    try:
        with unit_of_work():
            agency = services.create_agency(name, now)
            seed_competencies(agency, now)
            seed_transfer_table(agency, now)
            admin = services.create_user(
                agency, email=admin_email, name=admin_name, role=Role.ADMIN, client=None, now=now, by=None
            )
    except services.AccountError as exc:
        raise click.ClickException(str(exc)) from None
    link = services.link_for(tokens.ACCOUNT_SETUP, admin, "/password/setup")
    click.echo(f"Created agency {agency.name!r} ({agency.public_id}).")
    click.echo(f"An email with a set-up link is queued for {admin.email}. The link, valid for 72 hours:")
    click.echo(link)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create or refresh the demo agencies and users (idempotent)."""
    logins = seed_demo(utcnow())
    for line in logins:
        click.echo(line)


@click.command("worker")
@with_appcontext
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
def worker_command(workers: int) -> None:
    """Run the task consumer: email delivery, report rendering, and the periodic sweeps."""
    from reports.pool import get_pool
    from tasks import huey

    # The consumer owns the pool of long-lived render processes (started now, so the first report is quick).
    get_pool()
    consumer = huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


@click.command("sweep-outbox")
@with_appcontext
def sweep_outbox_command() -> None:
    """Send every email that is due now, without the consumer (for operators)."""
    from mailer import deliver_email, sweep_outbox

    now = utcnow()
    due = sweep_outbox(now)
    sent = sum(1 for message_id in due if deliver_email(message_id, now))
    click.echo(f"{len(due)} due, {sent} attempted.")


# Public ids may begin with "-": unknown "options" are taken as the id rather than refused.
@click.command("rescore", context_settings={"ignore_unknown_options": True})
@with_appcontext
@click.argument("assessment_public_id")
@click.option("--dry-run", is_flag=True, help="Compute and report the changes without writing anything.")
def rescore_command(assessment_public_id: str, dry_run: bool) -> None:
    """Re-score an assessment's submitted attempts with the current keys as a new score version."""
    try:
        if dry_run:
            report = rescoring.rescore(assessment_public_id, now=utcnow(), dry_run=True)
            db.session.rollback()
        else:
            with unit_of_work():
                report = rescoring.rescore(assessment_public_id, now=utcnow())
    except rescoring.RescoreError as exc:
        raise click.ClickException(str(exc)) from None
    for line in report.lines():
        click.echo(line)
