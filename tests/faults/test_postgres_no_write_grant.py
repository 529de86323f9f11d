"""A PostgreSQL role that may read but not write Rapport's tables (DATABASE_URL naming the wrong role after a
migration run as another, or a reporting role) refuses writes with the same plain 503 and retry hint as a
read-only database, and the log says which setting to check; reads still work. The drill uses a throwaway role
on a throwaway database."""

from __future__ import annotations

import logging
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL, post
from tests.faults.scene import close_app, invite_candidates, make_app
from tests.faults.test_bad_environment import assert_storage_503, autosave, candidate_client


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_role_without_write_grants_refuses_writes_with_503_and_still_serves_reads(database_url, caplog):
    app = make_app(database_url)
    [link] = invite_candidates(app, 1)
    client = candidate_client(app, link)
    assert autosave(client, app, 1).status_code == 200
    close_app(app)

    url = make_url(database_url)
    role, password = f"rapport_reader_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin_on_database = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{url.database}"
    with psycopg.connect(admin_on_database, autocommit=True) as admin:
        try:
            admin.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{password}'")
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip("the PostgreSQL role the tests use may not create roles, which this drill needs")
        admin.execute(f'GRANT CONNECT ON DATABASE "{url.database}" TO "{role}"')
        admin.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"')
    reader = make_app(url.set(username=role, password=password).render_as_string(hide_password=False))
    try:
        with caplog.at_level(logging.ERROR, logger="http_security"):
            browser = reader.test_client()
            browser.set_cookie("rapport", client.get_cookie("rapport").value)  # type: ignore[union-attr]
            page = browser.get("/test/item/1")
            assert page.status_code == 200 and 'name="revision" value="1"' in page.get_data(as_text=True)
            assert_storage_503(autosave(browser, reader, 2), json_caller=True)
            form = post(browser, reader, "/test/item/3", {"answer-most": "A", "answer-least": "B", "revision": "0"})
            assert_storage_503(form, json_caller=False)
        assert "may not change its tables" in caplog.text
    finally:
        close_app(reader)
        with psycopg.connect(admin_on_database, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')
