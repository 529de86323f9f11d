"""Architecture rules that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from database import db

ROOT = Path(__file__).resolve().parent.parent
SKIP_DIRS = {".venv", "migrations", "node_modules", ".git", "instance", "__pycache__"}
OUR_PACKAGES = {
    p.stem if p.is_file() else p.name
    for p in ROOT.iterdir()
    if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())) and p.name not in SKIP_DIRS
}


def python_files(root: Path = ROOT) -> list[Path]:
    return [p for p in root.rglob("*.py") if not (set(p.relative_to(root).parts) & SKIP_DIRS)]


def commit_calls(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "commit"
    ]


def test_only_database_py_commits():
    offenders = {
        str(p.relative_to(ROOT)): lines
        for p in python_files()
        if p.name != "database.py" and (lines := commit_calls(p))
    }
    assert offenders == {}, f".commit( outside database.py: {offenders}"


def test_the_commit_check_catches_a_commit(tmp_path):
    stray = tmp_path / "stray.py"
    stray.write_text("def save(session):\n    session.commit()\n")
    assert commit_calls(stray) == [2]


def forbidden_imports(package: Path) -> list[str]:
    """Imports in a pure package that reach our code, Flask, SQLAlchemy, the clock or randomness."""
    banned_roots = OUR_PACKAGES - {package.name} | {"flask", "sqlalchemy", "flask_sqlalchemy", "werkzeug", "random"}
    found = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            found += [f"{path.name}: {name}" for name in names if name.split(".")[0] in banned_roots]
    return found


def test_scoring_is_pure():
    scoring = ROOT / "scoring"
    if scoring.is_dir():
        assert forbidden_imports(scoring) == []


def test_the_purity_check_catches_a_bad_import(tmp_path):
    package = tmp_path / "scoring"
    package.mkdir()
    (package / "__init__.py").write_text("import numpy\nfrom flask import g\nfrom database import db\n")
    assert sorted(forbidden_imports(package)) == ["__init__.py: database", "__init__.py: flask"]


def test_one_alembic_head(app):
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(directory=str(ROOT / "migrations"))
        heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, heads


def test_models_match_the_migrations(app):
    """The migrated database (every test's database is built by the migrations) has what the models say."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrations_go_down_and_up_again(app):
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        downgrade(directory=str(ROOT / "migrations"), revision="base")
        upgrade(directory=str(ROOT / "migrations"))


def test_no_helpers_or_utils_modules():
    assert not [p for p in python_files() if p.stem in {"utils", "helpers", "misc"}]


def test_no_render_template_string():
    offenders = [str(p) for p in python_files() if "render_template_string" in p.read_text(encoding="utf-8")]
    offenders = [o for o in offenders if not o.endswith("test_architecture.py")]
    assert offenders == []


def test_no_safe_filter_on_templates():
    templates = ROOT / "templates"
    offenders = [str(p) for p in templates.rglob("*.html") if "|safe" in p.read_text().replace(" ", "")]
    assert offenders == []
