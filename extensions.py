"""Extension instances only; create_app() binds them with init_app(). Migrations (Flask-Migrate, Alembic) are bound
by init_migrations() and loaded on first use."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from flask import Flask
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
MIGRATE_OPTIONS = {"render_as_batch": True, "compare_type": True}


def init_migrations(app: Flask, db: Any, directory: str) -> None:
    """What Migrate(app, db, directory).init_app does, without importing Alembic until something migrates.

    Flask-Migrate brings in Alembic, Mako and Pygments: about a quarter of a second of every web worker's start,
    for commands a web worker never runs. app.extensions["migrate"] (read by flask_migrate.upgrade() and
    migrations/env.py) stands in for Flask-Migrate's own until first read, then hands over to it; `flask db` is
    commands.MigrationCommands.
    """
    app.extensions["migrate"] = _Migrations(app, db, directory)


class _Migrations:
    """app.extensions["migrate"] until first read: then Flask-Migrate's own, made by Migrate.init_app."""

    def __init__(self, app: Flask, db: Any, directory: str) -> None:
        self._app, self._db, self._directory = app, db, directory

    @cached_property
    def _real(self) -> Any:
        from flask_migrate import Migrate

        own_commands = self._app.cli.commands.get("db")
        Migrate(**MIGRATE_OPTIONS).init_app(self._app, self._db, directory=self._directory)
        if own_commands is not None:  # init_app adds Flask-Migrate's bare group: keep the app's (commands.py)
            self._app.cli.commands["db"] = own_commands
        return self._app.extensions["migrate"]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)
