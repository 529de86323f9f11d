"""The fixtures themselves: each backend gives a fresh migrated database."""

from sqlalchemy import select

from accounts.models import Agency
from database import db


def test_each_test_starts_with_an_empty_database(ctx):
    assert db.session.scalars(select(Agency)).all() == []
