"""Sign-in, sign-out, password resets and account set-up, the staff home page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from accounts import audit, queries, services, tokens
from accounts.access import access, current_scope
from accounts.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, LogoutForm, NewPasswordForm
from accounts.models import STAFF_ROLES, Role, User
from database import db, unit_of_work, utcnow
from extensions import login_manager

bp = Blueprint("accounts", __name__)
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
        return Response(body, status=429, headers={"Retry-After": str(exc.retry_after)})
    try:
        user = services.authenticate(email, password)
    except services.AccountError as exc:
        services.record_failed_sign_in(email, client_address(), now, services.find_user_by_email(email))
        return render_template("accounts/login.html", form=form, error=str(exc)), 401
    with unit_of_work():
        services.complete_sign_in(user, password, now)
    session.clear()  # a new session at sign-in: nothing from before carries over
    login_user(user)
    session["auth_at"] = now.timestamp()
    return redirect(safe_next(request.args.get("next"), user))


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
        return Response(body, status=429, headers={"Retry-After": str(exc.retry_after)})
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
