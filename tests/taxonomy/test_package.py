"""The taxonomy package as a whole: attribution, self-contained data, purity."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import taxonomy
from taxonomy.vocabulary import DATA_DIR

PACKAGE = Path(taxonomy.__file__).resolve().parent
ROOT = PACKAGE.parent


def test_attribution_file_names_esco_and_the_eu() -> None:
    text = (DATA_DIR / "esco" / "ATTRIBUTION.md").read_text(encoding="utf-8")
    assert "ESCO" in text and "European Union" in text
    assert "Rapport ships" in text


def test_attribution_constant() -> None:
    assert "ESCO" in taxonomy.ESCO_ATTRIBUTION
    assert "© European Union" in taxonomy.ESCO_ATTRIBUTION
    assert "https://esco.ec.europa.eu" in taxonomy.ESCO_ATTRIBUTION
    assert taxonomy.ESCO_VERSION in taxonomy.ESCO_ATTRIBUTION


def test_data_ships_inside_the_package() -> None:
    assert DATA_DIR.resolve().is_relative_to(PACKAGE)
    for name in (
        "esco/back_office_occupations.csv",
        "esco/transversal_skills.csv",
        "aliases.csv",
        "skill_transfer.csv",
    ):
        assert (DATA_DIR / name).is_file(), name


def test_no_code_reads_outside_the_package() -> None:
    """The product never reads the project's shared folder: no path in the code leaves the package."""
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert "../" not in node.value and "shared/" not in node.value, (path, node.value)
            if isinstance(node, ast.Attribute):
                assert node.attr != "parents", path
        assert ".parent.parent" not in path.read_text(encoding="utf-8"), path


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_pure_standard_library_only() -> None:
    for path in PACKAGE.rglob("*.py"):
        outside = {root for root in imported_roots(path) if root != "taxonomy" and root not in sys.stdlib_module_names}
        assert outside == set(), path
        assert "random" not in imported_roots(path), path


def test_package_exports() -> None:
    for name in taxonomy.__all__:
        assert hasattr(taxonomy, name), name
    assert callable(taxonomy.transfer_rows)
