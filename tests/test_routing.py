"""URL building waits for first use (app.LazyBuilderRule): no builder is compiled while a worker starts, and
every URL built is the one Werkzeug's own rules build."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map, Rule

from app import LazyBuilderRule


def sample_values(rule: Rule) -> dict[str, Any]:
    return {
        name: 7 if isinstance(converter, IntegerConverter) else "a-b_c" for name, converter in rule._converters.items()
    }


def test_no_builder_is_compiled_at_start_and_each_builds_what_werkzeug_builds(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert len(rules) > 100
    assert all(type(rule) is LazyBuilderRule for rule in rules)
    assert all(rule._build_unknown.__name__ == "build_on_first_use" for rule in rules)  # type: ignore[attr-defined]

    reference = Map([Rule(r.rule, endpoint=r.endpoint, methods=r.methods, defaults=r.defaults) for r in rules])
    ours = app.url_map.bind("rapport.example", url_scheme="https")
    theirs = reference.bind("rapport.example", url_scheme="https")
    for rule in rules:
        values = sample_values(rule)
        for extra in ({}, {"page": 2, "q": "a b&c"}):  # the second: the builder that appends a query string
            built = ours.build(rule.endpoint, {**values, **extra}, method=sorted(rule.methods or {"GET"})[0])
            expected = theirs.build(rule.endpoint, {**values, **extra}, method=sorted(rule.methods or {"GET"})[0])
            assert built == expected, rule.rule
    [login] = [rule for rule in rules if rule.endpoint == "accounts.login"]
    assert login._build_unknown.__name__ != "build_on_first_use"  # type: ignore[attr-defined]  # then direct
