"""Flask CLI commands: thin wrappers around services."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from accounts import services, tokens, two_factor
from accounts.models import Agency, Role
from assessments import rescoring
from backup import BackupError, head_revision, inspect_backup, make_backup, prune, restore
from candidates import privacy
from database import db, describe_database_error, unit_of_work, utcnow
from positions.services import seed_transfer_table
from scenarios.services import seed_competencies


def register(app: Flask) -> None:
    app.cli.add_command(create_agency_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(reset_two_factor_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(sweep_outbox_command)
    app.cli.add_command(rescore_command)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(retention_command)
    for command in app.cli.commands.values():
        report_database_errors(command)
    app.cli.add_command(MigrationCommands(name="db"))


def report_database_errors(command: click.Command) -> None:
    """Make a database that cannot be reached or written (down, full, read-only) end the command with one plain
    line and exit code 1, rather than a traceback."""
    callback = command.callback
    if callback is None:
        return

    @functools.wraps(callback)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except OperationalError as exc:
            raise click.ClickException(describe_database_error(exc)) from None

    command.callback = wrapped


class MigrationCommands(click.Group):
    """`flask db`: Flask-Migrate's commands (wrapped by DatabaseErrorsGroup), imported when the command runs, so
    that a web worker, which never migrates, does not import Alembic (extensions.init_migrations)."""

    @functools.cached_property
    def _real(self) -> click.Group:
        from flask_migrate.cli import db as migrate_commands

        return DatabaseErrorsGroup.around(migrate_commands)

    def get_short_help_str(self, limit: int = 45) -> str:
        return "Perform database migrations."

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        return self._real.make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        return self._real.invoke(ctx)


class DatabaseErrorsGroup(click.Group):
    """A command group (Flask-Migrate's `flask db`) whose commands end with one plain line and exit code 1 when the
    database cannot be reached or written, as the app's own commands do."""

    @classmethod
    def around(cls, group: click.Group) -> DatabaseErrorsGroup:
        """A group of this app's own with the same options, callback and commands as `group`."""
        return cls(
            name=group.name, commands=group.commands, callback=group.callback, params=group.params, help=group.help
        )

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OperationalError as exc:
            raise click.ClickException(describe_database_error(exc)) from None


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
    from email_validator import EmailNotValidError, validate_email

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


@click.command("reset-two-factor")
@with_appcontext
@click.argument("email")
def reset_two_factor_command(email: str) -> None:
    """Turn off a user's two-factor sign-in (a lost phone): their recovery codes and sessions end too.

    Check who is asking first. An admin is asked to set it up again at their next sign-in.
    """
    user = services.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user has the email address {email.strip()!r}")
    had = user.has_two_factor
    with unit_of_work():
        two_factor.reset(user, utcnow())
    if had:
        click.echo(f"Two-factor sign-in is off for {user.email}; their sessions have ended.")
    else:
        click.echo(f"{user.email} did not use two-factor sign-in; their sessions have ended.")
    if user.is_admin:
        click.echo("As an agency admin, they will be asked to set it up again when they next sign in.")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Create or refresh the demo agencies and users (idempotent)."""
    from demo import seed_demo  # the demo's data and helpers load for this command only

    logins = seed_demo(utcnow())
    for line in logins:
        click.echo(line)


@click.command("worker")
@with_appcontext
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
@click.option(
    "--shutdown-timeout",
    default=90.0,
    show_default=True,
    help="Seconds a graceful stop waits for running tasks (a render may take REPORT_RENDER_TIMEOUT, 60).",
)
@click.option(
    "--periodic/--no-periodic",
    default=True,
    show_default=True,
    help="Schedule the periodic sweeps and reminders. With many consumers, on exactly one of them.",
)
def worker_command(workers: int, shutdown_timeout: float, periodic: bool) -> None:
    """Run the task consumer: email delivery, report rendering, and the periodic sweeps.

    SIGTERM (systemd, containers) and SIGINT (Ctrl-C) both stop it gracefully: no new task starts,
    running ones finish (for up to --shutdown-timeout seconds), then the render children are stopped.
    A second signal of the same kind stops it at once; a task cut short is re-run by the sweeps.
    """
    import signal

    from reports.pool import get_pool
    from tasks import bind_app, huey, queue_problem

    # The consumer's tasks run in this app: the one the command was given (create_app found the queue unloaded).
    bind_app(current_app._get_current_object())  # type: ignore[attr-defined]
    problem = queue_problem()
    if problem:  # otherwise the consumer would start and log a traceback a second, forever
        raise click.ClickException(problem)
    # The consumer owns the pool of long-lived render processes (started now, so the first report is quick).
    pool = get_pool()
    consumer = huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=periodic,
        graceful_signal="TERM",
        shutdown_timeout=shutdown_timeout,
    )
    # Huey makes its graceful signal (SIGTERM here, as with `huey_consumer -g SIGTERM`) graceful and the
    # other one immediate, which would lose a task running when Ctrl-C is pressed: both are graceful.
    # The mapping is Huey's {signal: (restart, graceful)}; tests/test_serving.py checks both signals.
    consumer._signal_actions[signal.SIGINT] = (False, True)
    try:
        consumer.run()
    finally:
        pool.close()  # no orphaned render children, whatever ended the consumer


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


@click.command("backup")
@with_appcontext
@click.option("--to", "directory", type=click.Path(path_type=Path), help="Directory for the backup [BACKUP_DIR].")
@click.option("--keep", type=click.IntRange(min=1), help="Then delete the oldest backups beyond this many.")
def backup_command(directory: Path | None, keep: int | None) -> None:
    """Copy the live database (consistent while the app runs): SQLite backup API, or pg_dump (docs/backup.md)."""
    target = directory or Path(current_app.config["BACKUP_DIR"])
    try:
        made = make_backup(current_app.config["SQLALCHEMY_DATABASE_URI"], target, utcnow())
        pruned = prune(target, keep) if keep else []
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backed up to {made.path} ({made.size} bytes, schema revision {made.revision or 'none'}).")
    for path in pruned:
        click.echo(f"Deleted the older backup {path.name}.")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm that the current database is to be replaced.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the whole database with a backup made by `flask backup`.

    Stop the web app and the worker first: nothing may use the database during a restore.
    The file is checked (integrity, a schema revision this code knows) before anything is replaced.
    """
    uri = current_app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        if not yes:
            revision = inspect_backup(uri, path)
            raise click.ClickException(
                f"{path} is a sound backup at schema revision {revision}. Restoring it replaces everything in "
                "the current database: stop the app and the worker, then run this again with --yes."
            )
        revision = restore(uri, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    db.engine.dispose()  # no pooled connection keeps a view of the replaced database
    click.echo(f"Restored {path} (schema revision {revision}).")
    if revision != head_revision():
        click.echo("The backup predates this release: run `flask db upgrade` before starting the app.")


@click.command("retention")
@with_appcontext
@click.option("--dry-run", is_flag=True, help="Count, per agency, the candidates due for erasure; erase nothing.")
def retention_command(dry_run: bool) -> None:
    """Erase the candidates whose agency's retention period has passed since their last activity."""
    report = privacy.enforce_retention(utcnow(), dry_run=dry_run)
    for line in report.lines():
        click.echo(line)
