"""Settings from environment variables, documented in .env.example."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
INSTANCE = Path(os.environ.get("RAPPORT_INSTANCE_PATH", ROOT / "instance"))

# Values that look like a secret but are not: refused in production.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "development", "please-change-me", "insecure"}
)
MIN_SECRET_LENGTH = 32


class ConfigurationError(RuntimeError):
    """Raised when the settings cannot run the application safely."""


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def _development_secret() -> str:
    """Return a per-machine secret kept under instance/, created on first use (never in production)."""
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def default_database_url() -> str:
    """SQLite under instance/ unless DATABASE_URL says otherwise."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{INSTANCE / 'rapport.db'}"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _template_cache_dir() -> str:
    folder = os.environ.get("TEMPLATE_CACHE_DIR") or str(INSTANCE / "template-cache")
    return "" if folder.strip().lower() == "off" else folder


def load_config(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Build the Flask configuration from the environment, then apply overrides; check it is safe."""
    env = os.environ.get("RAPPORT_ENV", "development")
    production = env == "production"
    config: dict[str, Any] = {
        "RAPPORT_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        # Earlier keys, comma-separated, still accepted for cookies and links during a key rotation.
        "SECRET_KEY_FALLBACKS": [k for k in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if k.strip()],
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(default_database_url()),
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "HUEY_SQLITE_PATH": os.environ.get("HUEY_SQLITE_PATH", str(INSTANCE / "huey.db")),
        "BASE_URL": os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        "MAIL_FROM": os.environ.get("MAIL_FROM", "Rapport <no-reply@rapport.localhost>"),
        "SMTP_HOST": os.environ.get("SMTP_HOST", "127.0.0.1"),
        "SMTP_PORT": _int("SMTP_PORT", 8025),
        "SMTP_USERNAME": os.environ.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool("SMTP_STARTTLS", False),
        "SMTP_TIMEOUT": _int("SMTP_TIMEOUT", 15),
        "EMAIL_MAX_ATTEMPTS": _int("EMAIL_MAX_ATTEMPTS", 8),
        "EMAIL_LEASE_SECONDS": _int("EMAIL_LEASE_SECONDS", 300),
        # Webhooks: loopback targets (tests only), per-attempt timeout, attempts before failing, worker lease.
        "API_RATE_LIMIT_PER_MINUTE": _int("API_RATE_LIMIT_PER_MINUTE", 600),
        "WEBHOOK_ALLOW_LOOPBACK": _bool("WEBHOOK_ALLOW_LOOPBACK", False),
        "WEBHOOK_TIMEOUT": _int("WEBHOOK_TIMEOUT", 10),
        "WEBHOOK_MAX_ATTEMPTS": _int("WEBHOOK_MAX_ATTEMPTS", 8),
        "WEBHOOK_LEASE_SECONDS": _int("WEBHOOK_LEASE_SECONDS", 120),
        "PROXY_FIX_X_FOR": _int("PROXY_FIX_X_FOR", 0),
        # Logs: one JSON object a line (production default) or readable text; see docs/operations.md.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT") or ("json" if production else "text"),
        # /healthz answers 503 when an email or webhook has waited longer than this past its due time.
        "OUTBOX_BACKLOG_ALERT_SECONDS": _int("OUTBOX_BACKLOG_ALERT_SECONDS", 900),
        # Where `flask backup` writes its copies (docs/backup.md): they hold personal data, so keep it private.
        "BACKUP_DIR": os.environ.get("BACKUP_DIR") or str(INSTANCE / "backups"),
        # Compiled page templates, shared by the web processes of one machine so that each new one skips
        # compiling them again (app.py, TemplateCache). "off": no cache, each process compiles its own.
        "TEMPLATE_CACHE_DIR": _template_cache_dir(),
        "TASKS_IMMEDIATE": _bool("TASKS_IMMEDIATE", False),
        # Argon2id cost; the defaults are argon2-cffi's RFC 9106 low-memory profile.
        "ARGON2_TIME_COST": _int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _int("ARGON2_MEMORY_COST", 65536),
        "ARGON2_PARALLELISM": _int("ARGON2_PARALLELISM", 4),
        # Sessions and cookies.
        "SESSION_COOKIE_NAME": "__Host-rapport" if production else "rapport",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "SESSION_ABSOLUTE_HOURS": _int("SESSION_ABSOLUTE_HOURS", 12),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # CSRF tokens live as long as the session: a long test must not fail at minute 61.
        "WTF_CSRF_ENABLED": True,
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_SSL_STRICT": production,
        "MAX_CONTENT_LENGTH": _int("MAX_CONTENT_LENGTH", 1024 * 1024),
        "MAX_FORM_MEMORY_SIZE": 512 * 1024,
        "MAX_FORM_PARTS": 200,
        "HSTS": production,
        "TESTING": False,
        "DEBUG": False,
    }
    if overrides:
        config.update(overrides)
    if not config.get("SECRET_KEY"):
        if config["RAPPORT_ENV"] == "production":
            raise ConfigurationError("SECRET_KEY must be set in production (at least 32 random characters).")
        config["SECRET_KEY"] = _development_secret()
    check_config(config)
    return config


def check_config(config: dict[str, Any]) -> None:
    """Refuse settings that would run production unsafely."""
    if config.get("LOG_FORMAT", "text") not in ("json", "text"):
        raise ConfigurationError("LOG_FORMAT must be json or text.")
    if config["RAPPORT_ENV"] != "production":
        return
    key = str(config.get("SECRET_KEY") or "")
    if key.strip().lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
        raise ConfigurationError("SECRET_KEY is missing, a placeholder or shorter than 32 characters.")
    if config.get("DEBUG"):
        raise ConfigurationError("DEBUG must be off in production.")
    if config.get("WEBHOOK_ALLOW_LOOPBACK"):
        raise ConfigurationError("WEBHOOK_ALLOW_LOOPBACK is for tests: webhooks must go to public https addresses.")
    if not config.get("SESSION_COOKIE_SECURE") or not config.get("WTF_CSRF_ENABLED"):
        raise ConfigurationError("Production needs secure cookies and CSRF protection.")
    if not str(config.get("BASE_URL", "")).startswith("https://"):
        raise ConfigurationError("BASE_URL must be an https:// address in production.")
