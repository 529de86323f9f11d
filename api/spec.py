"""The OpenAPI 3.1 document: YAML parts under api/spec/, merged once, served at /api/v1/openapi.json, and
used to check request bodies, so that the document and the code cannot drift apart."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # PyYAML and jsonschema load on the API's first use, not at a web worker's start
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

PARTS = Path(__file__).resolve().parent / "spec"
DOCUMENT_URI = "urn:rapport:api:v1"


def _merge(into: dict[str, Any], part: dict[str, Any], where: str) -> None:
    for name, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(name), dict):
            _merge(into[name], value, f"{where}/{name}")
        elif name in into:
            raise ValueError(f"{where}/{name} is defined twice in api/spec/")
        else:
            into[name] = value


@cache
def document() -> dict[str, Any]:
    """The whole document: base.yaml first, then every other part, merged (a name defined twice is an error)."""
    import yaml

    merged: dict[str, Any] = yaml.safe_load((PARTS / "base.yaml").read_text(encoding="utf-8"))
    for path in sorted(PARTS.glob("*.yaml")):
        if path.name != "base.yaml":
            _merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path.name)
    return merged


@cache
def _validator(schema: str) -> Draft202012Validator:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    if schema not in document().get("components", {}).get("schemas", {}):
        raise KeyError(f"no schema {schema!r} in the OpenAPI document")
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, Resource.from_contents(document(), default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": f"{DOCUMENT_URI}#/components/schemas/{schema}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _pointer(path: Any) -> str:
    """An RFC 6901 JSON pointer: "" is the whole body, "/resume/work/0" a part of it."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _explain(error: ValidationError) -> list[dict[str, str]]:
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return [
            {"pointer": _pointer([*error.absolute_path, name]), "detail": "Unknown field: the API does not accept it."}
            for name in sorted(error.instance, key=str)
            if name not in allowed
        ]
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else ""
        return [{"pointer": _pointer([*error.absolute_path, missing]), "detail": "This field is required."}]
    if error.validator in ("oneOf", "anyOf") and error.context:
        from jsonschema.exceptions import best_match

        best = best_match(error.context)
        return (
            _explain(best) if best is not None else [{"pointer": _pointer(error.absolute_path), "detail": "Not valid."}]
        )
    return [{"pointer": _pointer(error.absolute_path), "detail": _message(error)}]


def _message(error: ValidationError) -> str:
    """The plain-English message for one failed rule (only this rule's value is read)."""
    rule, value = str(error.validator), error.validator_value
    if rule == "type":
        return f"Expected {' or '.join(value) if isinstance(value, list) else value}."
    if rule == "maxLength":
        return f"Use at most {value} characters."
    if rule == "minLength":
        return "This field cannot be empty." if value == 1 else f"Use at least {value} characters."
    if rule == "maxItems":
        return f"Give at most {value} items."
    if rule == "minProperties":
        return "Give at least one field." if value == 1 else f"Give at least {value} fields."
    if rule == "minimum":
        return f"Use {value} or more."
    if rule == "maximum":
        return f"Use {value} or less."
    if rule == "enum" and isinstance(value, list):
        return f"Use one of: {', '.join(map(str, value))}."
    if rule == "format":
        return f"Use a valid {value}."
    if rule == "pattern":
        return "This value is not in the expected form."
    return str(error.message)[:200]


def problems(schema: str, data: Any) -> list[dict[str, str]]:
    """Field errors of `data` against components/schemas/<schema>, each with a JSON pointer; [] when valid."""
    found: list[dict[str, str]] = []
    for error in sorted(_validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        found += _explain(error)
    return found[:50]
