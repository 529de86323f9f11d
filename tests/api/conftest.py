"""Give each schemathesis operation test its own node id ("...[GET /positions]").

schemathesis names its items by operation, but on this pytest their node ids all end at the function's
name; pytest-xdist (which `make test` runs) identifies items by node id, so one operation's run would
stand for all of them and the others would never run.
"""

from __future__ import annotations

import pytest
from _pytest.nodes import coerce_node_id


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if type(item).__name__ == "SchemathesisFunction" and "[" in item.name and not item.nodeid.endswith("]"):
            item._id = coerce_node_id(f"{item.nodeid}[{item.name.split('[', 1)[1]}")
