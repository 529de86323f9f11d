"""A PostgreSQL database turned read-only (a standby after a failover, default_transaction_read_only) refuses writes
with the same plain 503 and retry hint as a read-only SQLite file, not a 500, and still serves reads. The drill
makes a throwaway database read-only, never the shared one."""

from __future__ import annotations

import logging

import psycopg
import pytest
from sqlalchemy.engine import make_url

from tests.conftest import POSTGRES_ADMIN_URL, post
from tests.faults.scene import close_app, invite_candidates, make_app
from tests.faults.test_bad_environment import assert_storage_503, autosave, candidate_client


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_read_only_postgresql_refuses_writes_with_503_and_still_serves_reads(database_url, caplog):
    app = make_app(database_url)
    [link] = invite_candidates(app, 1)
    client = candidate_client(app, link)
    assert autosave(client, app, 1).status_code == 200
    close_app(app)  # the setting applies to new sessions

    name = make_url(database_url).database
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    read_only = make_app(database_url)
    try:
        page = client.get("/test/item/1")
        assert page.status_code == 200 and 'name="revision" value="1"' in page.get_data(as_text=True)
        with caplog.at_level(logging.ERROR, logger="http_security"):
            reader = read_only.test_client()
            reader.set_cookie("rapport", client.get_cookie("rapport").value)  # type: ignore[union-attr]
            assert reader.get("/test/item/1").status_code == 200
            assert_storage_503(autosave(reader, read_only, 2), json_caller=True)
            form = post(reader, read_only, "/test/item/3", {"answer-most": "A", "answer-least": "B", "revision": "0"})
            assert_storage_503(form, json_caller=False)
        assert "The database is read-only" in caplog.text
    finally:
        close_app(read_only)
