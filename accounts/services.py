"""Account rules: agencies, users, clients, sign-in, password resets. Plain functions; the caller
holds the unit of work; time is passed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from accounts import audit, throttle, tokens
from accounts.models import Agency, Client, Role, User
from accounts.passwords import hash_password, needs_rehash, password_problem, verify_password
from database import db
from mailer import queue_email


class AccountError(Exception):
    """A rule of the accounts domain refused the request; the message is safe to show."""


class SignInRefused(AccountError):
    """Wrong email or password, or an account that may not sign in. One message for all."""


class Throttled(AccountError):
    """Too many attempts; retry_after says when to come back."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("Too many attempts. Please wait and try again.")
        self.retry_after = retry_after


class WeakPassword(AccountError):
    """The new password breaks the password policy."""


class EmailTaken(AccountError):
    """Another account already uses this email address."""


class LastAdmin(AccountError):
    """The change would leave the agency without an active admin."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    """The account with this email, whatever its agency (sign-in and resets only)."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def check_sign_in_throttle(email: str, address: str, now: datetime) -> None:
    """Raise Throttled when the account or the address has had too many failures."""
    waits = [
        throttle.retry_after(throttle.LOGIN_PER_ACCOUNT, normalise_email(email), now),
        throttle.retry_after(throttle.LOGIN_PER_ADDRESS, address, now),
    ]
    if any(waits):
        raise Throttled(max(w for w in waits if w))


def authenticate(email: str, password: str) -> User:
    """The active user (staff or client) with these credentials; raises SignInRefused."""
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise SignInRefused("The email or password is not right.")
    if not user.is_active:
        raise SignInRefused("The email or password is not right.")
    return user


def record_failed_sign_in(email: str, address: str, now: datetime, user: User | None) -> None:
    """Count the failure against the account and the address and audit it, in a unit of work of its own."""
    throttle.count_hit(throttle.LOGIN_PER_ACCOUNT, normalise_email(email), now)
    throttle.count_hit(throttle.LOGIN_PER_ADDRESS, address, now)
    audit.record_now(
        "login.failed",
        now=now,
        agency_public_id=user.agency.public_id if user else None,
        actor_public_id=user.public_id if user else None,
    )


def accept_password(user: User, password: str) -> None:
    """The password was right: forget the account's failures; upgrade the hash when its parameters are outdated."""
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    throttle.clear(throttle.LOGIN_PER_ACCOUNT, user.email)


def record_sign_in(user: User, now: datetime, *, second_factor: str | None = None) -> None:
    """Record a completed sign-in, and the kind of second-step code when there was one."""
    user.last_login_at = now
    audit.record(
        "login.succeeded",
        now=now,
        agency_public_id=user.agency.public_id,
        actor_public_id=user.public_id,
        details={"second_factor": second_factor} if second_factor else None,
    )


def complete_sign_in(user: User, password: str, now: datetime) -> None:
    """Record a successful sign-in without a second step; upgrade the password hash when it is outdated."""
    accept_password(user, password)
    record_sign_in(user, now)


def sign_out(user: User, now: datetime) -> None:
    """End every session of this user (sessions are signed cookies, so the version in them is bumped)."""
    user.session_version += 1
    audit.record("logout", now=now, agency_public_id=user.agency.public_id, actor_public_id=user.public_id)


def set_password(user: User, password: str, now: datetime, *, action: str) -> None:
    """Set a new password; ends every session and every outstanding reset link. Raises WeakPassword."""
    problem = password_problem(password, email=user.email, name=user.name)
    if problem:
        raise WeakPassword(problem)
    user.password_hash = hash_password(password)
    user.password_version += 1
    user.session_version += 1
    audit.record(action, now=now, agency_public_id=user.agency.public_id, actor_public_id=user.public_id)


def change_password(user: User, current: str, new: str, now: datetime) -> None:
    """Change one's own password after checking the current one."""
    if not verify_password(user.password_hash, current):
        raise AccountError("Your current password is not right.")
    set_password(user, new, now, action="password.changed")


def link_for(purpose: tokens.Purpose, user: User, endpoint_path: str) -> str:
    """An absolute link built from the configured base URL, never from the request's Host header."""
    token = tokens.mint(purpose, {"u": user.public_id, "v": user.password_version})
    return f"{current_app.config['BASE_URL']}{endpoint_path}/{token}"


def request_password_reset(email: str, address: str, now: datetime) -> None:
    """Email a single-use reset link when the account exists and may sign in; the caller learns nothing.

    Raises Throttled only for the per-address limit, which does not reveal whether the account exists.
    """
    wait = throttle.retry_after(throttle.RESET_PER_ADDRESS, address, now)
    if wait:
        raise Throttled(wait)
    throttle.count_hit(throttle.RESET_PER_ADDRESS, address, now, session=db.session())
    if throttle.retry_after(throttle.RESET_PER_ACCOUNT, normalise_email(email), now):
        return
    throttle.count_hit(throttle.RESET_PER_ACCOUNT, normalise_email(email), now, session=db.session())
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    queue_email(
        to=user.email,
        template="password_reset",
        values={
            "name": user.name,
            "link": link_for(tokens.PASSWORD_RESET, user, "/password/reset"),
            "minutes": str(tokens.PASSWORD_RESET.max_age_seconds // 60),
        },
        now=now,
        agency_id=user.agency_id,
    )
    audit.record(
        "password.reset_requested", now=now, agency_public_id=user.agency.public_id, actor_public_id=user.public_id
    )


def user_for_token(purpose: tokens.Purpose, token: str) -> User:
    """The user a link was minted for, if the link is still valid; raises tokens.InvalidToken."""
    payload = tokens.read(purpose, token)
    user = db.session.scalar(select(User).where(User.public_id == str(payload.get("u"))))
    if user is None or not user.is_active or user.password_version != payload.get("v"):
        raise tokens.InvalidToken
    return user


# --- Agencies, users, clients (agency admins) -------------------------------------------------


@dataclass(frozen=True)
class AgencySettings:
    name: str
    privacy_contact: str | None
    retention_months: int


def create_agency(name: str, now: datetime) -> Agency:
    """A new tenant with the default settings."""
    agency = Agency(name=name.strip(), created_at=now, retention_months=12)
    db.session.add(agency)
    db.session.flush()
    audit.record(
        "agency.created",
        now=now,
        agency_public_id=agency.public_id,
        object_type="agency",
        object_public_id=agency.public_id,
    )
    return agency


def update_agency_settings(agency: Agency, settings: AgencySettings, *, by: User, now: datetime) -> None:
    """Change the agency's name, privacy contact and retention period."""
    agency.name = settings.name.strip()
    agency.privacy_contact = normalise_email(settings.privacy_contact) if settings.privacy_contact else None
    agency.retention_months = settings.retention_months
    audit.record(
        "agency.settings_updated",
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id,
        object_type="agency",
        object_public_id=agency.public_id,
    )


def create_user(
    agency: Agency,
    *,
    email: str,
    name: str,
    role: Role,
    client: Client | None,
    now: datetime,
    by: User | None,
    password: str | None = None,
    send_setup_email: bool = True,
) -> User:
    """Add a user to the agency; emails a link to choose a password unless one is given."""
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise EmailTaken("Another account already uses this email address.")
    if (role is Role.CLIENT) != (client is not None):
        raise AccountError("A client user needs a client; other roles must not have one.")
    if client is not None and client.agency_id != agency.id:
        raise AccountError("That client belongs to another agency.")
    user = User(
        agency=agency,
        email=email,
        name=name.strip(),
        role=role,
        client=client,
        created_at=now,
        is_active=True,
        session_version=1,
        password_version=1,
    )
    if password is not None:
        problem = password_problem(password, email=email, name=name)
        if problem:
            raise WeakPassword(problem)
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    if send_setup_email:
        queue_email(
            to=user.email,
            template="account_setup",
            values={
                "name": user.name,
                "agency": agency.name,
                "link": link_for(tokens.ACCOUNT_SETUP, user, "/password/setup"),
                "hours": str(tokens.ACCOUNT_SETUP.max_age_seconds // 3600),
            },
            now=now,
            agency_id=agency.id,
        )
    audit.record(
        "user.created",
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id if by else None,
        object_type="user",
        object_public_id=user.public_id,
    )
    return user


def active_admin_count(agency_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.agency_id == agency_id, User.role == Role.ADMIN, User.is_active.is_(True))
        )
        or 0
    )


def update_user(
    user: User, *, name: str, role: Role, client: Client | None, is_active: bool, by: User, now: datetime
) -> None:
    """Change a user's name, role, client and whether they may sign in; a demotion or deactivation
    ends their sessions at once. Raises LastAdmin and AccountError."""
    if (role is Role.CLIENT) != (client is not None):
        raise AccountError("A client user needs a client; other roles must not have one.")
    if client is not None and client.agency_id != user.agency_id:
        raise AccountError("That client belongs to another agency.")
    losing_admin = user.role is Role.ADMIN and user.is_active and (role is not Role.ADMIN or not is_active)
    if losing_admin and active_admin_count(user.agency_id) <= 1:
        raise LastAdmin("The agency needs at least one active admin.")
    if role is not user.role or (user.is_active and not is_active):
        user.session_version += 1
    user.name = name.strip()
    user.role = role
    user.client = client
    user.is_active = is_active
    audit.record(
        "user.updated" if is_active else "user.deactivated",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="user",
        object_public_id=user.public_id,
    )


def create_client(
    agency: Agency, *, name: str, contact_email: str | None, notes: str, by: User | None, now: datetime
) -> Client:
    """Add a hiring company to the agency. Raises AccountError when the name is taken."""
    name = name.strip()
    taken = db.session.scalar(select(Client.id).where(Client.agency_id == agency.id, Client.name == name))
    if taken is not None:
        raise AccountError("The agency already has a client with this name.")
    client = Client(
        agency=agency,
        name=name,
        contact_email=normalise_email(contact_email) if contact_email else None,
        notes=notes.strip(),
        created_at=now,
    )
    db.session.add(client)
    db.session.flush()
    audit.record(
        "client.created",
        now=now,
        agency_public_id=agency.public_id,
        actor_public_id=by.public_id if by else None,
        object_type="client",
        object_public_id=client.public_id,
    )
    return client


def update_client(client: Client, *, name: str, contact_email: str | None, notes: str, by: User, now: datetime) -> None:
    """Change a client's details. Raises AccountError when the new name is taken."""
    name = name.strip()
    taken = db.session.scalar(
        select(Client.id).where(Client.agency_id == client.agency_id, Client.name == name, Client.id != client.id)
    )
    if taken is not None:
        raise AccountError("The agency already has a client with this name.")
    client.name = name
    client.contact_email = normalise_email(contact_email) if contact_email else None
    client.notes = notes.strip()
    audit.record(
        "client.updated",
        now=now,
        agency_public_id=by.agency.public_id,
        actor_public_id=by.public_id,
        object_type="client",
        object_public_id=client.public_id,
    )
