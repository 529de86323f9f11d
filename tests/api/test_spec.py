"""The OpenAPI document as a request checker: every failed rule gives a field pointer and a plain message."""

from __future__ import annotations

import pytest

from api import spec


@pytest.mark.parametrize(
    ("schema", "body", "pointer", "words"),
    [
        ("CandidateCreate", {"name": "", "email": "a@b.example"}, "/name", "cannot be empty"),
        ("CandidateCreate", {"name": "N" * 121, "email": "a@b.example"}, "/name", "at most 120"),
        ("CandidateCreate", {"name": "Ann", "email": 7}, "/email", "Expected string"),
        ("CandidateCreate", {"name": "Ann"}, "/email", "required"),
        ("CandidateCreate", {"name": "Ann", "email": "a@b.example", "agency_id": 1}, "/agency_id", "Unknown field"),
        ("CandidateUpdate", {}, "", "at least one field"),
        ("InvitationCreate", {"candidate_id": "c" * 65, "assessment_id": "a"}, "/candidate_id", "at most 64"),
    ],
)
def test_each_rule_names_the_field_and_says_what_to_do(schema, body, pointer, words):
    problems = spec.problems(schema, body)
    assert any(p["pointer"] == pointer and words in p["detail"] for p in problems), problems


def test_a_valid_body_has_no_problems_and_an_unknown_schema_is_a_programming_error():
    assert spec.problems("CandidateCreate", {"name": "Ann Lee", "email": "ann@example.com"}) == []
    with pytest.raises(KeyError):
        spec.problems("NoSuchSchema", {})
