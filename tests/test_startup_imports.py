"""A web process imports no numpy, scipy or WeasyPrint until a request needs them (the performance spec's start-up
target): not at start, and not for a candidate's item page and autosave, the requests that come by the thousand.
Nor Alembic (Flask-Migrate), which only `flask db` and code that migrates need, nor the task queue (Huey), which
a worker loads when it first queues a task: together about 0.4 s of each worker's start. Nor Pillow (logos and
colour swatches) or segno (the QR code of an authenticator's set-up). Each check runs in a new interpreter, as
this one has imported them for other tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET, csrf_token
from tests.faults.scene import close_app, invite_candidates, make_app
from tests.faults.test_bad_environment import candidate_client

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("numpy", "scipy", "weasyprint", "alembic", "flask_migrate", "huey", "PIL", "segno")

CHILD = """
import json, sys
from tests.conftest import _base_config
from app import create_app

database_url, cookie, token = sys.argv[1:4]
app = create_app({**_base_config(database_url), "TASKS_IMMEDIATE": False})  # as served: tasks go to a consumer
loaded = {"start": sorted(m for m in %(heavy)r if m in sys.modules)}
client = app.test_client()
assert client.get("/login").status_code == 200
if cookie:
    client.set_cookie("rapport", cookie)
    assert client.get("/test/item/1").status_code == 200
    body = json.dumps({"item": 1, "answer": {"ratings": {"A": 6, "B": 1, "C": 3, "D": 2}}, "revision": 0})
    saved = client.post("/test/answers", data=body, content_type="application/json", headers={"X-CSRFToken": token})
    assert saved.status_code == 200, saved.get_data(as_text=True)
loaded["requests"] = sorted(m for m in %(heavy)r if m in sys.modules)
print(json.dumps(loaded))
"""


def heavy_modules(database_url: str, cookie: str = "", token: str = "") -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD % {"heavy": HEAVY}, database_url, cookie, token],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_web_process_starts_and_serves_candidates_without_numpy_scipy_or_weasyprint(tmp_path, sqlite_template):
    database = tmp_path / "rapport.db"
    shutil.copy(sqlite_template, database)
    url = f"sqlite:///{database}"
    app = make_app(url)
    assert app.config["SECRET_KEY"] == TEST_SECRET  # the child signs and reads sessions with the same key
    try:
        [link] = invite_candidates(app, 1)
        client = candidate_client(app, link)  # consented and started, on item 1
        token = csrf_token(client, app)
        cookie = client.get_cookie("rapport")
        assert cookie is not None
    finally:
        close_app(app)

    loaded = heavy_modules(url, cookie.value, token)
    assert loaded == {"start": [], "requests": []}
