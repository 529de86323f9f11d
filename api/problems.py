"""Errors in one shape: RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from werkzeug.wrappers import Response

PROBLEM_TYPE = "application/problem+json"


class ApiError(Exception):
    """Raised by API code to answer with a problem: a status, a reason, and optionally field errors."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions


def problem_response(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> Response:
    """A problem document: type about:blank, the status's title, and the reason in `detail`."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    body.update(extensions)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_error(error: ApiError) -> Response:
    return problem_response(error.status, error.detail, errors=error.errors, headers=error.headers, **error.extensions)


# What a bare HTTP error means to an API caller.
DEFAULT_DETAILS = {
    400: "The request could not be understood.",
    401: "Send a valid API key in the Authorization header: Bearer <key>.",
    403: "This API key's scope does not allow this request.",
    404: "No such resource, or it belongs to another agency.",
    405: "This resource does not support that method.",
    406: "This resource answers only with the media types in its documentation.",
    413: "The request body is too large.",
    415: "Send the body as application/json.",
    429: "Too many requests. Wait for the time in Retry-After.",
    500: "Something went wrong on our side. Nothing was changed.",
    503: "The service is busy for a moment. Try again after the time in Retry-After.",
}
