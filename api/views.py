"""The /api/v1 blueprint with every resource registered, and the OpenAPI document it serves."""

from __future__ import annotations

from flask import jsonify
from werkzeug.wrappers import Response

import webhooks  # noqa: F401 - its models belong to the schema
from accounts.access import access
from api import candidates, catalogue, invitations, results, spec  # noqa: F401 - they register their routes
from api.base import bp

__all__ = ["bp"]


@bp.get("/openapi.json")
@access(roles=None)
def openapi_document() -> Response:
    """The OpenAPI 3.1 document (public: it describes the API, it holds no data)."""
    response = jsonify(spec.document())
    return response
