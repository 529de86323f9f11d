"""Two-factor sign-in: authenticator codes (TOTP, RFC 6238, via pyotp) and single-use recovery codes.

Plain functions; the caller holds the unit of work; time is passed in. Codes and secrets never reach the
audit trail or the log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
from sqlalchemy import delete, func, or_, select, update

from accounts import audit, throttle
from accounts.models import RecoveryCode, User
from accounts.passwords import verify_password
from database import db

ISSUER = "Rapport"
# Steps either side of the current one that are accepted: a phone clock a little off, or a code typed as it
# changed. A step at or before the last accepted one never is, so each code works once.
WINDOW = 1
RECOVERY_CODE_COUNT = 10
# 16 characters from these 30 (no 0, o, 1, l, i or u, which are easily confused): 78 random bits, so a plain SHA-256
# is enough to store them.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstvwxyz23456789"
RECOVERY_GROUPS, RECOVERY_GROUP_LENGTH = 4, 4


class TwoFactorError(Exception):
    """A rule of two-factor sign-in refused the request; the message is safe to show."""


class WrongCode(TwoFactorError):
    """The code is not a current authenticator code or an unused recovery code of this user."""

    def __init__(self) -> None:
        super().__init__("That code is not right. Enter the newest code your app shows for Rapport.")


class WrongPassword(TwoFactorError):
    """Turning two-factor sign-in off or making new recovery codes needs the password."""

    def __init__(self) -> None:
        super().__init__("Your password is not right.")


class TwoFactorRequired(TwoFactorError):
    """Agency admins must keep two-factor sign-in on."""

    def __init__(self) -> None:
        super().__init__("Agency admins must keep two-factor sign-in on.")


def group(secret: str, size: int = 4) -> str:
    """The secret in groups of four characters, for typing into an app by hand."""
    return " ".join(secret[i : i + size] for i in range(0, len(secret), size))


def provisioning_uri(user: User) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code; raises TwoFactorError without a secret."""
    if user.totp_secret is None:
        raise TwoFactorError("Two-factor set-up has not started.")
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """The URI as an SVG QR code in a data: URI (an <img>, so no script and no markup of ours)."""
    import segno  # the QR code is drawn only while setting up an authenticator

    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff"))


def start_setup(user: User) -> str:
    """Choose the secret for a user who is setting two-factor sign-in up (kept until they confirm it).

    Raises TwoFactorError when it is already on.
    """
    if user.has_two_factor:
        raise TwoFactorError("Two-factor sign-in is already on.")
    if user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()
        user.totp_last_step = None
    return user.totp_secret


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _accept_totp(user: User, code: str, now: datetime) -> bool:
    """Accept a current code not used before, recording its step in one conditional UPDATE (a race loses)."""
    if user.totp_secret is None or len(code) != 6 or not code.isdigit():
        return False
    step = _matching_step(user.totp_secret, code, now, user.totp_last_step)
    if step is None:
        return False
    result = db.session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    user.totp_last_step = step
    db.session.flush()
    return True


def recovery_code_sha256(code: str) -> str:
    """What is stored of a recovery code: the SHA-256 of it without spaces, dashes or capitals."""
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def _accept_recovery_code(user: User, code: str, now: datetime) -> bool:
    """Spend an unused recovery code, in one conditional UPDATE (two requests with one code: one wins)."""
    if len(code) != RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH:
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_sha256 == recovery_code_sha256(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def new_recovery_code() -> str:
    """One random recovery code, as shown to the user: four groups of four."""
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_GROUPS * RECOVERY_GROUP_LENGTH))
    return "-".join(raw[i : i + RECOVERY_GROUP_LENGTH] for i in range(0, len(raw), RECOVERY_GROUP_LENGTH))


def _replace_recovery_codes(user: User, now: datetime) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_sha256=recovery_code_sha256(c), created_at=now) for c in codes
    )
    db.session.flush()
    return codes


def recovery_codes_left(user: User) -> int:
    """How many of the user's recovery codes are unused."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


def _record(action: str, user: User, now: datetime, *, by_user: bool = True) -> None:
    audit.record(
        action,
        now=now,
        agency_public_id=user.agency.public_id,
        actor_public_id=user.public_id if by_user else None,
        object_type="user",
        object_public_id=user.public_id,
    )


def enable(user: User, code: str, now: datetime) -> list[str]:
    """Turn two-factor sign-in on once a code from the new secret checks out; returns the recovery codes,
    which are shown once. Raises TwoFactorError (not started, already on) and WrongCode."""
    if user.has_two_factor:
        raise TwoFactorError("Two-factor sign-in is already on.")
    if user.totp_secret is None:
        raise TwoFactorError("Two-factor set-up has not started.")
    if not _accept_totp(user, _normalise(code), now):
        raise WrongCode
    user.two_factor_enabled_at = now
    codes = _replace_recovery_codes(user, now)
    _record("two_factor.enabled", user, now)
    return codes


def disable(user: User, password: str, now: datetime) -> None:
    """Turn two-factor sign-in off after checking the password. Raises WrongPassword and TwoFactorRequired."""
    if not verify_password(user.password_hash, password):
        raise WrongPassword
    if user.is_admin:
        raise TwoFactorRequired
    _clear(user)
    _record("two_factor.disabled", user, now)


def regenerate_recovery_codes(user: User, password: str, now: datetime) -> list[str]:
    """New recovery codes after checking the password; the old ones stop working. Raises WrongPassword."""
    if not verify_password(user.password_hash, password):
        raise WrongPassword
    if not user.has_two_factor:
        raise TwoFactorError("Two-factor sign-in is off.")
    codes = _replace_recovery_codes(user, now)
    _record("two_factor.recovery_codes_regenerated", user, now)
    return codes


def verify_sign_in(user: User, code: str, now: datetime) -> str:
    """Check the second step of a sign-in: "totp" or "recovery_code" for the kind of code accepted.

    Raises WrongCode for anything else, a code used before included.
    """
    code = _normalise(code)
    if not user.has_two_factor:
        raise WrongCode
    if _accept_totp(user, code, now):
        return "totp"
    if _accept_recovery_code(user, code, now):
        audit.record(
            "login.recovery_code_used",
            now=now,
            agency_public_id=user.agency.public_id,
            actor_public_id=user.public_id,
        )
        return "recovery_code"
    raise WrongCode


def check_throttle(user: User, address: str, now: datetime) -> int | None:
    """Seconds to wait when the account or the address has entered too many wrong codes, else None."""
    waits = [
        throttle.retry_after(throttle.TWO_FACTOR_PER_ACCOUNT, user.public_id, now),
        throttle.retry_after(throttle.TWO_FACTOR_PER_ACCOUNT_DAY, user.public_id, now),
        throttle.retry_after(throttle.TWO_FACTOR_PER_ADDRESS, address, now),
    ]
    return max((w for w in waits if w), default=None)


def record_wrong_code(user: User, address: str, now: datetime) -> None:
    """Count a wrong code against the account and the address and audit it, in units of work of their own."""
    throttle.count_hit(throttle.TWO_FACTOR_PER_ACCOUNT, user.public_id, now)
    throttle.count_hit(throttle.TWO_FACTOR_PER_ACCOUNT_DAY, user.public_id, now)
    throttle.count_hit(throttle.TWO_FACTOR_PER_ADDRESS, address, now)
    audit.record_now(
        "login.two_factor_failed", now=now, agency_public_id=user.agency.public_id, actor_public_id=user.public_id
    )


def _clear(user: User) -> None:
    user.totp_secret = None
    user.two_factor_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def reset(user: User, now: datetime) -> None:
    """Operations' way back in for a lost phone: two-factor sign-in off, recovery codes gone, every
    session ended. An admin is asked to set it up again at their next sign-in."""
    _clear(user)
    user.session_version += 1
    _record("two_factor.reset", user, now, by_user=False)
