"""The web process's entry point: gunicorn serves `wsgi:application` (gunicorn.conf.py).

The app is built with Python's cyclic garbage collector paused. Building it makes about 170,000 objects the
collector tracks (modules, classes, mappers, routes) that live as long as the process, and the collector, run
every 700 allocations, walked them again and again while they were made: about 120 ms of a worker's start,
which is about 1 s in all. Once built, they are frozen out of the collector's sight (gc.freeze) and it is switched
back on, so a full collection later in the worker's life no longer walks them either. Garbage made while
serving requests is collected as before.

Tests and the CLI call app.create_app() directly; they do not pause the collector.
"""

from __future__ import annotations

import gc

gc.disable()
try:
    from sqlalchemy.orm import configure_mappers

    from app import create_app  # after the pause: importing the app makes most of the objects

    application = create_app()
    configure_mappers()  # SQLAlchemy would do it on the first query: done here, its objects are frozen too
finally:
    gc.freeze()
    gc.enable()
