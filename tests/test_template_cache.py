"""Compiled templates are shared on disk by the web processes of one machine (app.TemplateCache): a new
process loads them instead of compiling them again, and a folder that cannot be written costs only time."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.faults.scene import close_app, make_app


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    database = tmp_path / "rapport.db"
    shutil.copy(sqlite_template, database)
    return f"sqlite:///{database}"


def refuse_to_compile(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("compiled a template the cache holds")


def test_a_new_process_loads_the_templates_another_compiled(sqlite_url, tmp_path):
    folder = tmp_path / "template-cache"
    first = make_app(sqlite_url, TEMPLATE_CACHE_DIR=str(folder))
    try:
        assert first.test_client().get("/login").status_code == 200
    finally:
        close_app(first)
    assert folder.stat().st_mode & 0o777 == 0o700  # code loaded from it runs in the app: the app's user only
    assert len(list(folder.glob("__jinja2_*.cache"))) == 3  # the sign-in page, its layout and its macros

    second = make_app(sqlite_url, TEMPLATE_CACHE_DIR=str(folder))
    try:
        second.jinja_env.compile = refuse_to_compile  # type: ignore[method-assign]
        page = second.test_client().get("/login")
        assert page.status_code == 200 and "Sign in" in page.get_data(as_text=True)
    finally:
        close_app(second)


def test_without_a_cache_folder_each_process_compiles_its_own(sqlite_url):
    app = make_app(sqlite_url, TEMPLATE_CACHE_DIR="")
    try:
        assert app.jinja_env.bytecode_cache is None
        assert app.test_client().get("/login").status_code == 200
    finally:
        close_app(app)


def test_a_folder_that_cannot_be_made_or_written_costs_time_not_pages(sqlite_url, tmp_path, caplog):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    caplog.set_level(logging.WARNING, logger="rapport.templates")

    unmade = make_app(sqlite_url, TEMPLATE_CACHE_DIR=str(blocker / "template-cache"))
    try:
        assert unmade.jinja_env.bytecode_cache is None
        assert unmade.test_client().get("/login").status_code == 200
    finally:
        close_app(unmade)
    assert "No template cache" in caplog.text

    folder = tmp_path / "template-cache"
    unwritable = make_app(sqlite_url, TEMPLATE_CACHE_DIR=str(folder))
    try:
        shutil.rmtree(folder)  # gone after start (as root, permissions would not stop the write)
        assert unwritable.test_client().get("/login").status_code == 200
        assert unwritable.test_client().get("/login").status_code == 200  # compiled once, kept in memory
    finally:
        close_app(unwritable)
    assert "Compiled template not cached" in caplog.text
