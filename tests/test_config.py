"""Settings: safe defaults, and production refuses to start unsafely."""

from __future__ import annotations

import pytest

import config
from app import create_app
from config import ConfigurationError, load_config, normalise_database_url

GOOD_SECRET = "k" * 16 + "Q2x9" * 8
PRODUCTION = {
    "RAPPORT_ENV": "production",
    "BASE_URL": "https://rapport.example",
    "SQLALCHEMY_DATABASE_URI": "sqlite://",
}


@pytest.fixture
def production_env(monkeypatch):
    monkeypatch.setenv("RAPPORT_ENV", "production")
    monkeypatch.setenv("BASE_URL", "https://rapport.example")


@pytest.mark.parametrize("secret", [None, "", "changeme", "dev", "short-but-random-9f3a"])
def test_production_refuses_a_missing_or_weak_secret_key(production_env, monkeypatch, secret):
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigurationError):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_refuses_debug_and_plain_http(production_env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    with pytest.raises(ConfigurationError):
        load_config({"DEBUG": True})
    with pytest.raises(ConfigurationError, match="WEBHOOK_ALLOW_LOOPBACK"):
        load_config({"WEBHOOK_ALLOW_LOOPBACK": True})
    with pytest.raises(ConfigurationError):
        load_config({"BASE_URL": "http://rapport.example"})


def test_production_settings_are_hardened(production_env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", GOOD_SECRET)
    config = load_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert config["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert config["REMEMBER_COOKIE_SECURE"] is True
    assert config["WTF_CSRF_ENABLED"] is True
    assert config["HSTS"] is True
    assert config["DEBUG"] is False


def test_development_makes_and_keeps_a_random_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setattr("config.INSTANCE", tmp_path)
    first = load_config()["SECRET_KEY"]
    assert len(first) >= 64
    assert load_config()["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_sqlite_under_instance_by_default(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    uri = load_config({"SECRET_KEY": GOOD_SECRET})["SQLALCHEMY_DATABASE_URI"]
    assert uri.startswith("sqlite:///") and uri.endswith("rapport.db")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg3(given, expected):
    assert normalise_database_url(given) == expected


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, "default"), ("", "default"), ("off", ""), (" OFF ", ""), ("/srv/templates", "/srv/templates")],
)
def test_the_template_cache_is_under_instance_unless_moved_or_off(monkeypatch, given, expected):
    if given is None:
        monkeypatch.delenv("TEMPLATE_CACHE_DIR", raising=False)
    else:
        monkeypatch.setenv("TEMPLATE_CACHE_DIR", given)
    folder = load_config({"SECRET_KEY": GOOD_SECRET})["TEMPLATE_CACHE_DIR"]
    assert folder == (str(config.INSTANCE / "template-cache") if expected == "default" else expected)


def test_env_example_documents_every_environment_variable():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    documented = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (root / ".env.example").read_text().splitlines()
        if "=" in line
    }
    import re

    used = set(re.findall(r'os\.environ\.get\("([A-Z_]+)"', (root / "config.py").read_text()))
    used |= set(re.findall(r'_(?:int|bool)\("([A-Z_]+)"', (root / "config.py").read_text()))
    assert used - documented == set()
