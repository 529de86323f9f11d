"""Shared fixtures: a fresh migrated database per test (SQLite, and PostgreSQL when reachable),
a real SMTP server (aiosmtpd), cheap test builders, and helpers that sign in and post with CSRF."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Before the application is imported: tasks run in-process, nothing reads a developer's settings.
_INSTANCE = tempfile.mkdtemp(prefix="rapport-tests-")
os.environ["RAPPORT_INSTANCE_PATH"] = _INSTANCE
os.environ["TASKS_IMMEDIATE"] = "1"
for _name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "RAPPORT_ENV", "BASE_URL", "SMTP_HOST", "SMTP_PORT"):
    os.environ.pop(_name, None)

from aiosmtpd.controller import Controller  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from itsdangerous import URLSafeTimedSerializer  # noqa: E402

CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_SECRET = "test-secret-key-" + "x" * 32
BASE_URL = "http://rapport.test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- A real SMTP server ---------------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that stores messages, and can be told to refuse the next ones."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.failures: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            if self.failures:
                return self.failures.pop(0)
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"

    def fail_next(self, reply: str, times: int = 1) -> None:
        """Answer the next `times` messages with an SMTP reply such as '451 try later' or '550 no such user'."""
        self.failures.extend([reply] * times)

    def clear(self) -> None:
        self.messages.clear()
        self.failures.clear()

    def links(self) -> list[str]:
        return [m for msg in self.messages for m in re.findall(r"https?://\S+", msg.get_content())]


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


@pytest.fixture
def mailbox(smtp_server: tuple[Mailbox, int]) -> Mailbox:
    box = smtp_server[0]
    box.clear()
    return box


# --- Databases ------------------------------------------------------------------------------


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else the reason."""
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL.split('@')[-1]} ({type(exc).__name__})"


def _migrate(url: str) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from database import db

    app = create_app(_base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="rapport-sqlite-"))
    path = folder / "template.db"
    _migrate(f"sqlite:///{path}")
    yield path
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    reason = postgres_reachable()
    if reason:
        if CI:
            pytest.fail(f"{reason}; CI=true requires PostgreSQL")
        pytest.skip(reason)
    import psycopg

    name = f"rapport_tpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    _migrate(_pg_url(name))
    yield name
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_url(name: str) -> str:
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database for one test, on each backend."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "rapport.db"
        shutil.copyfile(template, target)
        yield f"sqlite:///{target}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    import psycopg

    name = f"rapport_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    yield _pg_url(name)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _base_config(url: str, smtp_port: int = 1) -> dict[str, Any]:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": TEST_SECRET,
        "TESTING": True,
        "BASE_URL": BASE_URL,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp_port,
        "SMTP_TIMEOUT": 5,
        "TASKS_IMMEDIATE": True,
        # Reports render in the test process; tests of the consumer's pool ask for it with REPORT_RENDERER=None.
        "REPORT_RENDERER": "inline",
        "REDIS_URL": None,
        # Argon2id still, with a test-sized cost (production uses RFC 9106's profile).
        "ARGON2_TIME_COST": 1,
        "ARGON2_MEMORY_COST": 8192,
        "ARGON2_PARALLELISM": 1,
    }


@pytest.fixture
def app(request: pytest.FixtureRequest, database_url: str, smtp_server: tuple[Mailbox, int]) -> Iterator[Flask]:
    """The application on a fresh database. `@pytest.mark.app_config(KEY=value)` overrides settings."""
    from app import create_app
    from database import db

    config = _base_config(database_url, smtp_server[1])
    marker = request.node.get_closest_marker("app_config")
    if marker:
        config.update(marker.kwargs)
    application = create_app(config)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context for service-level tests."""
    with app.app_context():
        yield app


def pytest_collection_finish(session: pytest.Session) -> None:
    """Refuse two tests with one node id: pytest-xdist (make test) would run one of them for both."""
    seen: dict[str, int] = {}
    for item in session.items:
        seen[item.nodeid] = seen.get(item.nodeid, 0) + 1
    twice = sorted(nodeid for nodeid, count in seen.items() if count > 1)
    if twice:
        raise pytest.UsageError(f"tests share a node id, so some would not run under pytest-xdist: {twice[:3]}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "app_config(**settings): override application settings for one test")


# --- Builders ---------------------------------------------------------------------------------

PASSWORD = "correct horse battery"
# build_tenant's admins use two-factor sign-in with this authenticator secret; sign_in() enters their codes.
TOTP_SECRET = "RAPPORTTESTSECRETRAPPORTTESTSECR"


@dataclass
class Tenant:
    agency_id: str
    agency_name: str
    admin: dict[str, str]
    recruiter: dict[str, str]
    client_id: str
    client_name: str
    client_user: dict[str, str]
    email_id: str
    competency_id: str = ""
    scenario_id: str = ""
    position_id: str = ""
    assessment_id: str = ""
    invitation_id: str = ""
    candidate_id: str = ""
    transfer_id: str = ""
    secrets: list[str] = field(default_factory=list)


STEM = (
    "You are a payroll officer at a mid-sized firm. On the last day before the monthly cut-off, a team leader "
    "asks you to add a pay rise for one of their staff. The signed approval form is missing, and the HR manager "
    "who signs such forms is away until next week. The team leader says the rise was agreed and that the member "
    "of staff has already been told. The payroll procedure says that every change needs a signed form before it "
    "is processed. The cut-off is at 17:00 today, and it is now 14:00."
)
OPTIONS = (
    "Explain the procedure, and ask the team leader to get the form signed by the deputy HR manager today.",
    "Add the rise now, and ask the team leader to send the signed form as soon as the HR manager is back.",
    "Leave the rise out of this month, and tell the member of staff directly that the form is missing.",
    "Ask your own manager to decide, and add the rise only if they agree to take responsibility for it.",
)


def make_scenario(
    agency: Any,
    code: str,
    *,
    weights: dict[str, float],
    stem: str = STEM,
    response_format: str = "rate",
    key: tuple[float, ...] = (5.6, 1.4, 2.5, 3.4),
    status: str | None = "operational",
    now: Any = None,
) -> Any:
    """A keyed scenario in the agency's bank, published unless status is None (call inside a unit of work)."""
    from database import utcnow
    from scenarios import services as bank
    from scenarios.models import Instruction, KeyType, ResponseFormat, Status

    now = now or utcnow()
    data = bank.ScenarioInput(
        role="payroll",
        role_context="Payroll officer; monthly cut-off; pay changes need a signed form.",
        situation_type="S12",
        stem=stem,
        instruction=Instruction.SHOULD_DO,
        response_format=ResponseFormat(response_format),
        options=tuple(
            bank.OptionInput(label, text, f"Rationale {label}") for label, text in zip("ABCD", OPTIONS, strict=True)
        ),
        weights=weights,
        provenance_author="Test author",
        provenance_source="A late pay change without approval",
        provenance_date=now.date(),
        key_type=KeyType.PROVISIONAL_SINGLE_AUTHOR,
    )
    scenario = bank.create_scenario(agency, code, data, by=None, now=now)
    bank.set_ratings(
        scenario.latest,
        {label: [("Author", value)] for label, value in zip("ABCD", key, strict=True)},
        KeyType.PROVISIONAL_SINGLE_AUTHOR,
        by=None,
        now=now,
    )
    if status is not None:
        bank.publish(scenario.latest, Status(status), by=None, now=now)
    return scenario


def build_tenant(app: Flask, label: str, suffix: str | None = None) -> Tenant:
    """An agency with an admin, a recruiter, a client with a client user, and one outbox email.

    Names carry a random suffix unless one is given (browser tests give "" for stable screenshots).
    """
    from sqlalchemy import select

    from accounts import services
    from accounts.models import Role, User
    from database import db, unit_of_work, utcnow
    from mailer import queue_email

    suffix = uuid.uuid4().hex[:6] if suffix is None else suffix
    tag = f" {suffix}" if suffix else ""
    dash = f"-{suffix}" if suffix else ""
    now = utcnow()
    with app.app_context(), unit_of_work():
        agency = services.create_agency(f"{label} Agency{tag}", now)
        agency.privacy_contact = f"privacy{dash}@{label.lower()}.example"
        client = services.create_client(
            agency, name=f"{label} Client{tag}", contact_email=None, notes="", by=None, now=now
        )
        people = {}
        for role in (Role.ADMIN, Role.RECRUITER, Role.CLIENT):
            user = services.create_user(
                agency,
                email=f"{role.value}{dash}@{label.lower()}.example",
                name=f"{label} {role.value.title()}{tag}",
                role=role,
                client=client if role is Role.CLIENT else None,
                now=now,
                by=None,
                password=PASSWORD,
                send_setup_email=False,
            )
            if role is Role.ADMIN:  # admins must use two-factor sign-in
                user.totp_secret, user.two_factor_enabled_at = TOTP_SECRET, now
            people[role] = {"email": user.email, "name": user.name, "public_id": user.public_id}
        from assessments import services as assessments
        from positions.models import Position
        from scenarios import services as bank

        bank.seed_competencies(agency, now)
        competency = bank.save_competency(
            agency,
            bank.CompetencyInput(f"tact_{label.lower()}", f"{label} Tact{tag}", f"{label} definition{tag}", ""),
            competency=None,
            by=None,
            now=now,
        )
        scenario = make_scenario(
            agency, f"{label}-SJT{dash}", weights={"professionalism": 1.0, competency.code: 0.5}, now=now
        )
        position = Position(
            agency_id=agency.id,
            client_id=client.id,
            title=f"{label} Position{tag}",
            responsibilities="",
            created_at=now,
        )
        db.session.add(position)
        db.session.flush()
        admin = db.session.scalar(select(User).where(User.public_id == people[Role.ADMIN]["public_id"]))
        assessment = assessments.create_assessment(position, f"{label} Assessment{tag}", by=admin, now=now)
        assessments.add_item(assessment, scenario.latest, by=admin, now=now)
        from datetime import timedelta

        from assessments.models import Invitation
        from candidates.models import Candidate

        candidate = Candidate(
            agency_id=agency.id,
            name=f"{label} Candidate{tag}",
            email=f"candidate{dash}@{label.lower()}.example",
            created_at=now,
        )
        invitation = Invitation(
            agency_id=agency.id,
            client_id=client.id,
            assessment=assessment,
            candidate=candidate,
            token_version=1,
            expires_at=now + timedelta(days=7),
            extra_time_percent=0,
            created_at=now,
        )
        db.session.add(invitation)
        from datetime import date

        from positions.models import SkillTransfer

        transfer = SkillTransfer(
            agency_id=agency.id,
            from_skill="answer incoming calls",
            to_skill="handle customer complaints",
            credit=0.6,
            rationale=f"{label} rationale{tag}: both ask for calm listening before acting.",
            source="expert",
            reviewer=f"{label} Reviewer{tag}",
            reviewed_on=date(2026, 1, 5),
        )
        db.session.add(transfer)
        db.session.flush()
        message = queue_email(
            to=f"someone{dash}@{label.lower()}.example",
            template="password_reset",
            values={"name": f"{label} Reader{tag}", "link": "https://example.invalid/x", "minutes": "30"},
            now=now,
            agency_id=agency.id,
        )
    tenant = Tenant(
        agency_id=agency.public_id,
        agency_name=agency.name,
        admin=people[Role.ADMIN],
        recruiter=people[Role.RECRUITER],
        client_id=client.public_id,
        client_name=client.name,
        client_user=people[Role.CLIENT],
        email_id=message.public_id,
        competency_id=competency.public_id,
        scenario_id=scenario.public_id,
        position_id=position.public_id,
        assessment_id=assessment.public_id,
        invitation_id=invitation.public_id,
        candidate_id=candidate.public_id,
        transfer_id=transfer.public_id,
    )
    tenant.secrets = [
        competency.name,
        scenario.code,
        position.title,
        assessment.title,
        tenant.competency_id,
        tenant.scenario_id,
        tenant.position_id,
        tenant.assessment_id,
        tenant.invitation_id,
        tenant.candidate_id,
        tenant.transfer_id,
        transfer.rationale,
        transfer.reviewer,
        candidate.name,
        candidate.email,
        tenant.agency_name,
        tenant.client_name,
        *(p[k] for p in (tenant.admin, tenant.recruiter, tenant.client_user) for k in ("email", "name", "public_id")),
        tenant.client_id,
        tenant.email_id,
        agency.privacy_contact or "",
    ]
    return tenant


@pytest.fixture
def tenant_a(app: Flask, mailbox: Mailbox) -> Tenant:
    tenant = build_tenant(app, "Alpha")
    mailbox.clear()  # the tenant's own outbox email is not what a test looks for
    return tenant


@pytest.fixture
def tenant_b(app: Flask, mailbox: Mailbox) -> Tenant:
    tenant = build_tenant(app, "Beta")
    mailbox.clear()
    return tenant


# --- Clients that sign in and post with CSRF ---------------------------------------------------


def csrf_token(client: FlaskClient, app: Flask) -> str:
    """A valid CSRF token for this client's session, as flask-wtf would put in a form."""
    import hashlib

    with client.session_transaction() as sess:
        raw = sess.get("csrf_token")
        if raw is None:
            raw = hashlib.sha1(os.urandom(64)).hexdigest()  # noqa: S324 (flask-wtf's own format)
            sess["csrf_token"] = raw
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def post(client: FlaskClient, app: Flask, url: str, data: dict[str, Any] | None = None, **kw: Any) -> Any:
    """POST a form with a valid CSRF token."""
    return client.post(url, data={**(data or {}), "csrf_token": csrf_token(client, app)}, **kw)


def two_factor_code(app: Flask, email_address: str) -> str:
    """A code the app accepts for this user now: the authenticator code of the step after the last accepted one
    (a code works once; the current step and the next are accepted), else a recovery code added for the purpose."""
    import pyotp
    from sqlalchemy import select

    from accounts import two_factor
    from accounts.models import RecoveryCode, User
    from database import db, unit_of_work, utcnow

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email_address.strip().lower()))
        assert user is not None and user.totp_secret, f"{email_address} has no two-factor secret"
        totp = pyotp.TOTP(user.totp_secret)
        current = totp.timecode(utcnow())
        step = max(current, (user.totp_last_step or 0) + 1)
        if step <= current + two_factor.WINDOW:
            return totp.generate_otp(step)
        code = two_factor.new_recovery_code()  # two sign-ins within 30 seconds used both steps up
        with unit_of_work():
            db.session.add(
                RecoveryCode(user_id=user.id, code_sha256=two_factor.recovery_code_sha256(code), created_at=utcnow())
            )
        return code


def sign_in(client: FlaskClient, app: Flask, email_address: str, password: str = PASSWORD) -> Any:
    """Sign in, entering a two-factor code when the app asks for one; returns the last response (a redirect)."""
    response = post(client, app, "/login", {"email": email_address, "password": password})
    assert response.status_code == 302, response.status_code
    if response.headers["Location"] == "/login/two-factor":
        response = post(client, app, "/login/two-factor", {"code": two_factor_code(app, email_address)})
        assert response.status_code == 302, response.status_code
    return response


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
