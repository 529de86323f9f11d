"""The documented public API: every exported name exists, modules import alone, contracts are written."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import scoring

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "errors",
    "conventions",
    "items",
    "rules",
    "competencies",
    "norms",
    "reliability",
    "batch",
    "item_analysis",
    "fairness",
    "fit",
    "version",
]


def test_every_exported_name_exists():
    assert [name for name in scoring.__all__ if not hasattr(scoring, name)] == []
    assert len(set(scoring.__all__)) == len(scoring.__all__)


@pytest.mark.parametrize("module", MODULES)
def test_each_module_imports_on_its_own(module):
    # A fresh interpreter, so that nothing already imported hides a cycle.
    result = subprocess.run(
        [sys.executable, "-c", f"import scoring.{module}"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("module", MODULES)
def test_every_public_function_and_class_states_its_contract(module):
    tree = ast.parse((ROOT / "scoring" / f"{module}.py").read_text(encoding="utf-8"))
    undocumented = [
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.ClassDef))
        and not node.name.startswith("_")
        and not ast.get_docstring(node)
    ]
    assert undocumented == []


@pytest.mark.parametrize("module", MODULES)
def test_module_all_lists_only_real_names(module):
    loaded = importlib.import_module(f"scoring.{module}")
    assert [name for name in loaded.__all__ if not hasattr(loaded, name)] == []


def test_fit_names_are_exported_from_the_package():
    import scoring.fit

    exported = set(scoring.__all__)
    # Every class and function of scoring.fit is exported; of its constants, only the default weights.
    public = {name for name in scoring.fit.__all__ if not name.isupper()} | {"DEFAULT_FIT_WEIGHTS"}
    assert public - exported == set()
    assert scoring.compute_fit is scoring.fit.compute_fit
