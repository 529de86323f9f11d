"""The OpenAPI 3.1 document: YAML parts under api/spec/, merged once, served at /api/v1/openapi.json, and
used to check request bodies, so that the document and the code cannot drift apart."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

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
    merged: dict[str, Any] = yaml.safe_load((PARTS / "base.yaml").read_text(encoding="utf-8"))
    for path in sorted(PARTS.glob("*.yaml")):
        if path.name != "base.yaml":
            _merge(merged, yaml.safe_load(path.read_text(encoding="utf-8")) or {}, path.name)
    return merged


@cache
def _validator(schema: str) -> Draft202012Validator:
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
    return "/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in path)


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
        best = best_match(error.context)
        return (
            _explain(best) if best is not None else [{"pointer": _pointer(error.absolute_path), "detail": "Not valid."}]
        )
    detail = {
        "type": f"Expected {error.validator_value}.",
        "maxLength": f"Use at most {error.validator_value} characters.",
        "minLength": "This field cannot be empty."
        if error.validator_value == 1
        else f"Use at least {error.validator_value} characters.",
        "maxItems": f"Give at most {error.validator_value} items.",
        "minimum": f"Use {error.validator_value} or more.",
        "maximum": f"Use {error.validator_value} or less.",
        "enum": f"Use one of: {', '.join(map(str, error.validator_value or []))}.",
        "format": f"Use a valid {error.validator_value}.",
        "pattern": "This value is not in the expected form.",
    }.get(str(error.validator), str(error.message)[:200])
    return [{"pointer": _pointer(error.absolute_path), "detail": detail}]


def problems(schema: str, data: Any) -> list[dict[str, str]]:
    """Field errors of `data` against components/schemas/<schema>, each with a JSON pointer; [] when valid."""
    found: list[dict[str, str]] = []
    for error in sorted(_validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        found += _explain(error)
    return found[:50]
