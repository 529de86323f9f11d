"""The candidate's name key: the name lowercased, kept in step with it, the list's order and search, its index."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, select, text

from accounts.models import Agency, Scope
from assessments.models import Invitation
from candidates import privacy, queries, services
from candidates.models import Candidate
from database import db, unit_of_work, utcnow
from tests.conftest import Tenant

NAME_KEY_REVISION = "629e0b655f6f"


def agency_id(tenant: Tenant) -> int:
    return db.session.scalars(select(Agency.id).where(Agency.public_id == tenant.agency_id)).one()


def add(tenant: Tenant, *names: str) -> list[Candidate]:
    with unit_of_work():
        return [
            services.create_candidate(
                agency_id(tenant), name=name, email=f"person{n}@names.example", by=None, now=utcnow()
            )
            for n, name in enumerate(names)
        ]


def listed_names(tenant: Tenant, search: str = "") -> list[str]:
    page = queries.list_candidates(Scope(agency_id(tenant), None), search)
    return [row.candidate.name for row in page.rows]


def test_the_key_follows_the_name_when_created_and_renamed(ctx: Flask, tenant_a: Tenant) -> None:
    [emile] = add(tenant_a, "Émile ZOLA")
    assert emile.name_key == "émile zola"
    with unit_of_work():
        services.update_candidate(emile, name=" Élodie Dubois ", email=emile.email, headline="", by=None, now=utcnow())
    db.session.expire_all()
    stored = db.session.get_one(Candidate, emile.id)
    assert (stored.name, stored.name_key) == ("Élodie Dubois", "élodie dubois")


def test_a_bulk_insert_that_names_no_key_still_stores_it(ctx: Flask, tenant_a: Tenant) -> None:
    with unit_of_work():
        ids = db.session.scalars(
            insert(Candidate).returning(Candidate.id, sort_by_parameter_order=True),
            [
                {
                    "agency_id": agency_id(tenant_a),
                    "name": name,
                    "email": f"bulk{n}@names.example",
                    "created_at": utcnow(),
                }
                for n, name in enumerate(["Ångström ÅSA", "Bulk Person"])
            ],
        ).all()
    keys = db.session.scalars(select(Candidate.name_key).where(Candidate.id.in_(ids)).order_by(Candidate.id)).all()
    assert keys == ["ångström åsa", "bulk person"]


def test_the_list_sorts_by_name_whatever_the_case(ctx: Flask, tenant_a: Tenant) -> None:
    add(tenant_a, "bob Brown", "ALAN Ash", "alice Archer", "Carol Cole", "carol cole")
    alpha = db.session.scalars(select(Candidate.name).where(Candidate.public_id == tenant_a.candidate_id)).one()
    assert alpha.startswith("Alpha Candidate")
    assert listed_names(tenant_a) == ["ALAN Ash", "alice Archer", alpha, "bob Brown", "Carol Cole", "carol cole"]


def test_the_search_finds_names_beyond_ascii_in_either_case(ctx: Flask, tenant_a: Tenant, tenant_b: Tenant) -> None:
    add(tenant_a, "Émile Zola", "Emil Nolde")
    assert listed_names(tenant_a, "ÉMILE") == ["Émile Zola"]
    assert listed_names(tenant_a, "émile z") == ["Émile Zola"]
    assert listed_names(tenant_a, "EMIL") == ["Emil Nolde"]
    assert listed_names(tenant_b, "émile") == []


def test_an_erased_candidate_leaves_the_list(ctx: Flask, tenant_a: Tenant) -> None:
    [gone] = add(tenant_a, "Gone Away")
    with unit_of_work():
        privacy.erase_candidate(gone, by=None, now=utcnow(), cause="retention")
    assert "Gone Away" not in listed_names(tenant_a)
    assert db.session.scalar(select(Candidate.id).where(Candidate.name_key == "gone away")) is None


def test_the_list_reads_its_order_from_the_index_on_sqlite(ctx: Flask, tenant_a: Tenant) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("the plan is SQLite's")
    add(tenant_a, *(f"Person {n:03d}" for n in range(60)))
    statements: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        page = queries.list_candidates(Scope(agency_id(tenant_a), None), page=2)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    assert [row.candidate.name for row in page.rows][:2] == ["Person 049", "Person 050"]
    [(statement, parameters)] = [(s, p) for s, p in statements if "ORDER BY" in s]
    plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    details = [row[-1] for row in plan]
    assert any("ix_candidate_agency_id_name_key" in detail for detail in details), details
    assert not any("TEMP B-TREE" in detail for detail in details), details


def test_the_migration_fills_the_key_of_existing_candidates_and_keeps_their_rows(app: Flask, tenant_a: Tenant) -> None:
    """On SQLite a copy of the candidate table would drop the old one and, foreign keys on, cascade its deletes."""
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        invited = db.session.scalars(select(Invitation.public_id).where(Invitation.candidate.has())).all()
        assert tenant_a.invitation_id in invited
        db.session.remove()
        downgrade(revision=f"{NAME_KEY_REVISION}-1")
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(
                text("UPDATE candidate SET name = :name WHERE public_id = :public_id"),
                {"name": "ÉLODIE Ångström", "public_id": tenant_a.candidate_id},
            )
        upgrade()
        db.session.remove()
        stored = db.session.scalars(select(Candidate).where(Candidate.public_id == tenant_a.candidate_id)).one()
        assert (stored.name, stored.name_key) == ("ÉLODIE Ångström", "élodie ångström")
        assert db.session.scalars(select(Invitation.public_id).where(Invitation.candidate.has())).all() == invited
