"""The application factory: `flask --app app` finds create_app()."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any

from flask import Flask, abort, request
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import Rule

import http_security
import observability
from config import INSTANCE, load_config
from database import configure_sqlite, db
from extensions import csrf, init_migrations, login_manager


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with config overriding it (tests)."""
    app = Flask(__name__, instance_path=str(INSTANCE), instance_relative_config=False)
    app.url_rule_class = LazyBuilderRule
    app.config.from_mapping(load_config(config))
    configure_logging(app)
    observability.install(app)  # first: its hooks see every request, including ones refused by later hooks
    configure_extensions(app)
    configure_templates(app)
    configure_blueprints(app)
    configure_access_default_deny(app)
    http_security.install(app)
    configure_commands(app)
    configure_tasks(app)
    return app


class LazyBuilderRule(Rule):
    """A URL rule that writes its url_for() builders on first use instead of when it is added.

    Werkzeug compiles two Python functions for every rule as it is added: with the app's 158 rules that was
    about 65 ms of each web worker's start, for builders a page mostly never calls (a page links to a handful
    of endpoints). Matching is untouched; the builder Werkzeug would have compiled is the one that runs.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        name = "_build_unknown" if append_unknown else "_build"

        def build_on_first_use(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            builder = Rule._compile_builder(rule, append_unknown).__get__(rule, None)
            setattr(rule, name, builder)  # every later url_for() calls Werkzeug's builder directly
            return builder(*args, **kwargs)

        return build_on_first_use


class TemplateCache(FileSystemBytecodeCache):
    """Compiled page templates on disk, so a new web process loads them instead of compiling them again.

    Compiling is most of a template's first use in a process: the sign-in page's three templates took about
    40 ms of a new worker's first reply. Jinja keys each entry by the template's name and checks it against a
    checksum of the source, so an edited template is compiled again; an entry is written to a temporary file
    and renamed, so processes sharing the folder never read half of one. The folder sits beside the database,
    private to the app's user, as code loaded from it runs in the app.

    The cache only saves time: a folder that cannot be written (full, read-only) means each process compiles
    as if there were none, and a page never fails for it.
    """

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError as exc:
            logging.getLogger("rapport.templates").warning("Compiled template not cached: %s", exc.strerror)


def configure_templates(app: Flask) -> None:
    folder = app.config["TEMPLATE_CACHE_DIR"]
    if not folder:
        return
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError as exc:
        logging.getLogger("rapport.templates").warning("No template cache in %s: %s", folder, exc.strerror)
        return
    app.jinja_env.bytecode_cache = TemplateCache(folder)


def configure_logging(app: Flask) -> None:
    observability.configure_logging(app.config["LOG_FORMAT"])
    # WeasyPrint narrates every step of every render at INFO; its warnings and errors still show.
    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    # Alembic names each of its plugins at INFO when it is first imported (`flask db`, which imports it late).
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def configure_extensions(app: Flask) -> None:
    if app.config["PROXY_FIX_X_FOR"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"], x_proto=1, x_host=0)  # type: ignore[method-assign]
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):
        INSTANCE.mkdir(parents=True, exist_ok=True)
    else:
        # No pre-ping: it costs a round trip on every request. A connection found dead raises OperationalError,
        # which answers 503 with Retry-After (http_security.py), and SQLAlchemy then empties the pool.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_recycle": 1800})
    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    init_migrations(app, db, directory=str(app.root_path + "/migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"


def configure_blueprints(app: Flask) -> None:
    from accounts.admin_views import bp as admin_bp
    from accounts.views import bp as accounts_bp
    from analytics.fairness_views import bp as fairness_bp
    from analytics.views import bp as analytics_bp
    from api.admin_views import bp as api_admin_bp
    from api.views import bp as api_bp
    from assessments.take_views import bp as take_bp
    from assessments.views import bp as assessments_bp
    from candidates.views import bp as candidates_bp
    from health import bp as health_bp
    from positions.views import bp as positions_bp
    from reports.portal_views import bp as portal_bp
    from reports.views import bp as reports_bp
    from scenarios.views import bp as scenarios_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(scenarios_bp)
    app.register_blueprint(positions_bp)
    app.register_blueprint(candidates_bp)
    app.register_blueprint(assessments_bp)
    app.register_blueprint(take_bp)
    app.register_blueprint(fairness_bp)
    app.register_blueprint(analytics_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_admin_bp)


def configure_access_default_deny(app: Flask) -> None:
    """An endpoint that declared no access policy answers 404: new routes are closed until declared."""
    from accounts.access import policy_of

    @app.before_request
    def _require_policy() -> None:
        if request.endpoint is None or request.endpoint == "static":
            return
        view = app.view_functions.get(request.endpoint)
        if view is None or policy_of(view) is None:
            abort(404)


def configure_commands(app: Flask) -> None:
    from commands import register

    register(app)


def configure_tasks(app: Flask) -> None:
    """Bind the task queue to this app where it is loaded already (the consumer imports it first) or must run
    tasks in the request (TASKS_IMMEDIATE). A web worker otherwise loads it when it first queues a task: Huey
    and its storage drivers are a tenth of a second or more of its start."""
    if not app.config.get("TASKS_IMMEDIATE") and "tasks" not in sys.modules:
        return
    import tasks

    if app.config.get("TASKS_IMMEDIATE"):
        tasks.huey.immediate = True
    tasks.bind_app(app)
