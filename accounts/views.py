"""Sign-in (with its two-factor step), sign-out, password resets, account set-up, two-factor set-up, the staff
home page."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from accounts import audit, queries, services, throttle, tokens, two_factor
from accounts.access import access, current_scope, policy_of
from accounts.forms import (
    ChangePasswordForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
    NewPasswordForm,
    SignInCodeForm,
    TwoFactorSetupForm,
)
from accounts.models import STAFF_ROLES, Role, User
from database import db, unit_of_work, utcnow
from extensions import login_manager
from http_security import render_error

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)
SIGNED_IN_ROLES = frozenset(Role)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user a session cookie names, if that session is still valid (same session version)."""
    public_id, _, version = user_id.partition(":")
    user = db.session.scalar(select(User).where(User.public_id == public_id))
    if user is None or not user.is_active or str(user.session_version) != version:
        return None
    return user


@bp.before_app_request
def end_sessions_past_their_lifetime() -> Response | None:
    """Sessions last at most SESSION_ABSOLUTE_HOURS after sign-in, whatever the activity."""
    started = session.get("auth_at")
    if started is None or not current_user.is_authenticated:
        return None
    limit = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    if utcnow() - datetime.fromtimestamp(float(started), UTC) > limit:
        logout_user()
        session.clear()
        flash("Your session has ended. Please sign in again.", "info")
        return redirect(url_for("accounts.login"))
    return None


# What an admin without two-factor sign-in may still reach (besides public pages and static files).
TWO_FACTOR_SETUP_ENDPOINTS = frozenset({"accounts.two_factor_setup", "accounts.logout"})


@bp.before_app_request
def require_two_factor_for_admins() -> Response | None:
    """An agency admin without two-factor sign-in is sent to set it up, from every page that needs a sign-in."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static" or endpoint in TWO_FACTOR_SETUP_ENDPOINTS:
        return None
    view = current_app.view_functions.get(endpoint)
    policy = policy_of(view) if view is not None else None
    if policy is None or policy.roles is None:
        # Public pages, the API (keys, not cookies) and undeclared routes (404) decide for themselves; they are
        # looked at first so that a candidate's pages never load a user (which would rewrite their session).
        return None
    if not current_user.is_authenticated or not current_user.needs_two_factor_setup:
        return None
    return redirect(url_for("accounts.two_factor_setup"), 303 if request.method != "GET" else 302)


def client_address() -> str:
    return request.remote_addr or "unknown"


def landing_page(user: User) -> str:
    """Where a signed-in user starts: the client portal for client users, the staff home for the others."""
    return url_for("portal.index") if user.role is Role.CLIENT else url_for("accounts.home")


def safe_next(target: str | None, user: User) -> str:
    """A same-site path to return to after sign-in; anything else goes to the user's landing page."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return landing_page(user)


THROTTLE_RETRY_SECONDS = 30


@bp.app_errorhandler(throttle.ThrottleUnavailable)
def _throttle_unavailable(error: throttle.ThrottleUnavailable) -> Response:
    """The rate limits' Redis did not answer: fail closed with a plain 503 (sign-in, codes, resets, share links)."""
    log.warning("rate limits unavailable on %s %s: %s", request.method, request.url_rule, error)
    db.session.rollback()
    detail = (
        "Sign-in is briefly unavailable. Please try again in a minute."
        if request.blueprint == "accounts"
        else "This page is briefly unavailable. Please try again in a minute."
    )
    body, status = render_error(503, detail)
    return Response(body, status=status, mimetype="text/html", headers={"Retry-After": str(THROTTLE_RETRY_SECONDS)})


@bp.route("/login", methods=["GET", "POST"])
@access(roles=None)
def login() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(landing_page(current_user))
    form = LoginForm()
    if request.method == "GET":
        return render_template("accounts/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("accounts/login.html", form=form), 422
    now = utcnow()
    email, password = form.email.data or "", form.password.data or ""
    try:
        services.check_sign_in_throttle(email, client_address(), now)
    except services.Throttled as exc:
        audit.record_now("login.throttled", now=now)
        minutes = max(1, round(exc.retry_after / 60))
        message = f"Too many attempts. Please wait {minutes} minute{'s' if minutes > 1 else ''} and try again."
        body = render_template("accounts/login.html", form=form, error=message)
        return Response(body, status=429, mimetype="text/html", headers={"Retry-After": str(exc.retry_after)})
    try:
        user = services.authenticate(email, password)
    except services.AccountError as exc:
        services.record_failed_sign_in(email, client_address(), now, services.find_user_by_email(email))
        return render_template("accounts/login.html", form=form, error=str(exc)), 401
    if user.has_two_factor:
        with unit_of_work():
            services.accept_password(user, password)
        # Not signed in yet: the session holds only who passed the first step, when, and where to go next.
        session.clear()
        marker = {"u": user.public_id, "v": user.session_version, "at": now.timestamp()}
        if request.args.get("next"):
            marker["next"] = request.args["next"]
        session[PENDING] = marker
        return redirect(url_for("accounts.login_two_factor"))
    with unit_of_work():
        services.complete_sign_in(user, password, now)
    _start_session(user, now)
    if user.needs_two_factor_setup:
        return redirect(url_for("accounts.two_factor_setup"))
    return redirect(safe_next(request.args.get("next"), user))


def _start_session(user: User, now: datetime) -> None:
    session.clear()  # a new session at sign-in: nothing from before carries over
    login_user(user)
    session["auth_at"] = now.timestamp()


PENDING = "two_factor_pending"
PENDING_LIFETIME = timedelta(minutes=5)


def _pending_sign_in(now: datetime) -> tuple[User, str | None] | None:
    """The user who passed the password step less than five minutes ago in this session, and where they go next."""
    marker = session.get(PENDING)
    if not isinstance(marker, dict):
        return None
    try:
        started = datetime.fromtimestamp(float(marker["at"]), UTC)
    except (KeyError, TypeError, ValueError):
        return None
    if not timedelta(0) <= now - started <= PENDING_LIFETIME:
        return None
    user = db.session.scalar(select(User).where(User.public_id == str(marker.get("u"))))
    if user is None or not user.is_active or user.session_version != marker.get("v") or not user.has_two_factor:
        return None
    return user, marker.get("next")


def _too_many_codes(form: SignInCodeForm, retry_after: int) -> Response:
    minutes = max(1, round(retry_after / 60))
    message = f"Too many wrong codes. Please wait {minutes} minute{'s' if minutes > 1 else ''} and try again."
    body = render_template("accounts/login_two_factor.html", form=form, error=message)
    return Response(body, status=429, mimetype="text/html", headers={"Retry-After": str(retry_after)})


@bp.route("/login/two-factor", methods=["GET", "POST"])
@access(roles=None)
def login_two_factor() -> Response | tuple[str, int] | str:
    if current_user.is_authenticated:
        return redirect(landing_page(current_user))
    now = utcnow()
    pending = _pending_sign_in(now)
    if pending is None:
        session.pop(PENDING, None)
        flash("Your sign-in has timed out. Please sign in again.", "info")
        return redirect(url_for("accounts.login"))
    user, next_page = pending
    form = SignInCodeForm()
    template = "accounts/login_two_factor.html"
    if request.method == "GET":
        return render_template(template, form=form)
    if not form.validate_on_submit():
        return render_template(template, form=form), 422
    wait = two_factor.check_throttle(user, client_address(), now)
    if wait:
        audit.record_now(
            "login.two_factor_throttled",
            now=now,
            agency_public_id=user.agency.public_id,
            actor_public_id=user.public_id,
        )
        return _too_many_codes(form, wait)
    try:
        with unit_of_work():
            kind = two_factor.verify_sign_in(user, form.code.data or "", now)
            services.record_sign_in(user, now, second_factor=kind)
    except two_factor.WrongCode as exc:
        two_factor.record_wrong_code(user, client_address(), now)
        form.code.errors = [str(exc)]
        return render_template(template, form=form), 401
    _start_session(user, now)
    if kind == "recovery_code":
        left = two_factor.recovery_codes_left(user)
        flash(
            f"You signed in with a recovery code, which now no longer works. You have {left} left. "
            "If you have lost your phone, set two-factor sign-in up again or make new recovery codes.",
            "info",
        )
    return redirect(safe_next(next_page, user))


@bp.post("/logout")
@access(roles=SIGNED_IN_ROLES)
def logout() -> Response:
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    with unit_of_work():
        services.sign_out(current_user, utcnow())
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@access(roles=None)
def forgot_password() -> Response | tuple[str, int] | str:
    form = ForgotPasswordForm()
    if request.method == "GET":
        return render_template("accounts/forgot_password.html", form=form)
    if not form.validate_on_submit():
        return render_template("accounts/forgot_password.html", form=form), 422
    try:
        with unit_of_work():
            services.request_password_reset(form.email.data or "", client_address(), utcnow())
    except services.Throttled as exc:
        body = render_template("accounts/forgot_password.html", form=form, error=str(exc))
        return Response(body, status=429, mimetype="text/html", headers={"Retry-After": str(exc.retry_after)})
    flash(
        "If an account uses that address, we have sent it a link to choose a new password. "
        "The link works once, for 30 minutes.",
        "info",
    )
    return redirect(url_for("accounts.login"))


PURPOSES = {"reset": tokens.PASSWORD_RESET, "setup": tokens.ACCOUNT_SETUP}


def _token_user(kind: str) -> User | None:
    token = session.get(f"{kind}_token")
    if not token:
        return None
    try:
        return services.user_for_token(PURPOSES[kind], token)
    except tokens.InvalidToken:
        return None


def _link_landing(kind: str, token: str) -> Response | tuple[str, int]:
    """Check the emailed link, keep it in the session, and continue on a URL without the token."""
    try:
        services.user_for_token(PURPOSES[kind], token)
    except tokens.InvalidToken:
        return render_template("accounts/link_invalid.html"), 404
    session[f"{kind}_token"] = token
    return redirect(url_for(f"accounts.{kind}_password"))


def _choose_password(kind: str) -> Response | tuple[str, int] | str:
    user = _token_user(kind)
    if user is None:
        return render_template("accounts/link_invalid.html"), 404
    form = NewPasswordForm()
    template = "accounts/choose_password.html"
    if request.method == "GET":
        return render_template(template, form=form, kind=kind, user=user)
    if not form.validate_on_submit():
        return render_template(template, form=form, kind=kind, user=user), 422
    try:
        with unit_of_work():
            services.set_password(user, form.password.data or "", utcnow(), action=f"password.{kind}")
    except services.WeakPassword as exc:
        form.password.errors = [str(exc)]
        return render_template(template, form=form, kind=kind, user=user), 422
    session.pop(f"{kind}_token", None)
    flash("Your password is set. Please sign in.", "success")
    return redirect(url_for("accounts.login"))


@bp.get("/password/reset/<token>")
@access(roles=None)
def reset_link(token: str) -> Response | tuple[str, int]:
    return _link_landing("reset", token)


@bp.route("/password/reset", methods=["GET", "POST"])
@access(roles=None)
def reset_password() -> Response | tuple[str, int] | str:
    return _choose_password("reset")


@bp.get("/password/setup/<token>")
@access(roles=None)
def setup_link(token: str) -> Response | tuple[str, int]:
    return _link_landing("setup", token)


@bp.route("/password/setup", methods=["GET", "POST"])
@access(roles=None)
def setup_password() -> Response | tuple[str, int] | str:
    return _choose_password("setup")


@bp.route("/account/password", methods=["GET", "POST"])
@access(roles=STAFF_ROLES)
def change_password() -> Response | tuple[str, int] | str:
    form = ChangePasswordForm()
    if request.method == "GET":
        return render_template("accounts/change_password.html", form=form)
    if not form.validate_on_submit():
        return render_template("accounts/change_password.html", form=form), 422
    user: User = current_user
    try:
        with unit_of_work():
            services.change_password(user, form.current.data or "", form.password.data or "", utcnow())
    except services.WeakPassword as exc:
        form.password.errors = [str(exc)]
        return render_template("accounts/change_password.html", form=form), 422
    except services.AccountError as exc:
        form.current.errors = [str(exc)]
        return render_template("accounts/change_password.html", form=form), 422
    # Every session ended with the change, this one too: start a fresh one.
    session.clear()
    login_user(user)
    session["auth_at"] = utcnow().timestamp()
    flash("Your password is changed. Other devices have been signed out.", "success")
    return redirect(url_for("accounts.home"))


@bp.get("/")
@access(roles=SIGNED_IN_ROLES)
def home() -> Response | str:
    if current_user.role is Role.CLIENT:
        return redirect(url_for("portal.index"))
    scope = current_scope()
    return render_template(
        "accounts/home.html",
        agency=queries.agency_for(scope),
        counts=queries.dashboard_counts(scope),
        clients=queries.list_clients(scope),
    )


# --- Two-factor sign-in: set-up, recovery codes, turning it off --------------------------------------


def _recovery_codes_page(codes: list[str]) -> Response:
    body = render_template("accounts/recovery_codes.html", codes=codes)
    # Shown once: never stored by a browser or a proxy (every page is no-store; this one must be).
    return Response(body, status=200, mimetype="text/html", headers={"Cache-Control": "no-store, private"})


def _two_factor_page(
    user: User, *, regenerate: ConfirmPasswordForm | None = None, disable: ConfirmPasswordForm | None = None
) -> str:
    """The two-factor settings page with its two forms: the one posted (with its errors) if given, else blank."""
    if regenerate is None:
        regenerate = ConfirmPasswordForm(prefix="regenerate", formdata=None)
    if disable is None:
        disable = ConfirmPasswordForm(prefix="disable", formdata=None)
    return render_template(
        "accounts/two_factor.html",
        codes_left=two_factor.recovery_codes_left(user) if user.has_two_factor else 0,
        regenerate_form=regenerate,
        disable_form=disable,
    )


@bp.get("/account/two-factor")
@access(roles=SIGNED_IN_ROLES)
def two_factor_settings() -> str:
    return _two_factor_page(current_user)


def _setup_page(form: TwoFactorSetupForm, user: User) -> str:
    return render_template(
        "accounts/two_factor_setup.html",
        form=form,
        secret=two_factor.group(user.totp_secret or ""),
        qr_code=two_factor.qr_code_data_uri(two_factor.provisioning_uri(user)),
        required=user.needs_two_factor_setup,
    )


@bp.route("/account/two-factor/setup", methods=["GET", "POST"])
@access(roles=SIGNED_IN_ROLES)
def two_factor_setup() -> Response | tuple[str, int] | str:
    user: User = current_user
    if user.has_two_factor:
        return redirect(url_for("accounts.two_factor_settings"))
    form = TwoFactorSetupForm()
    if request.method == "GET" or user.totp_secret is None:
        with unit_of_work():
            two_factor.start_setup(user)
        return _setup_page(form, user)
    if not form.validate_on_submit():
        return _setup_page(form, user), 422
    try:
        with unit_of_work():
            codes = two_factor.enable(user, form.code.data or "", utcnow())
    except two_factor.TwoFactorError as exc:
        form.code.errors = [str(exc)]
        return _setup_page(form, user), 422
    return _recovery_codes_page(codes)


@bp.post("/account/two-factor/recovery-codes")
@access(roles=SIGNED_IN_ROLES)
def regenerate_recovery_codes() -> Response | tuple[str, int]:
    user: User = current_user
    form = ConfirmPasswordForm(prefix="regenerate")
    if not form.validate_on_submit():
        return _two_factor_page(user, regenerate=form), 422
    try:
        with unit_of_work():
            codes = two_factor.regenerate_recovery_codes(user, form.password.data or "", utcnow())
    except two_factor.TwoFactorError as exc:
        form.password.errors = [str(exc)]
        return _two_factor_page(user, regenerate=form), 422
    return _recovery_codes_page(codes)


@bp.post("/account/two-factor/disable")
@access(roles=SIGNED_IN_ROLES)
def disable_two_factor() -> Response | tuple[str, int]:
    user: User = current_user
    form = ConfirmPasswordForm(prefix="disable")
    if not form.validate_on_submit():
        return _two_factor_page(user, disable=form), 422
    try:
        with unit_of_work():
            two_factor.disable(user, form.password.data or "", utcnow())
    except two_factor.TwoFactorError as exc:
        form.password.errors = [str(exc)]
        return _two_factor_page(user, disable=form), 422
    flash("Two-factor sign-in is off. You sign in with your password only.", "success")
    return redirect(url_for("accounts.two_factor_settings"))
