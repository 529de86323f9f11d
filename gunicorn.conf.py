"""Gunicorn settings for serving Rapport: `gunicorn -c gunicorn.conf.py` (docs/deploy.md).

Everything a deployment may want to change comes from the environment, so the same file serves the
demo, one machine and many.
"""

from __future__ import annotations

import os

# The app, built once in each worker with the garbage collector paused (wsgi.py says why).
wsgi_app = "wsgi:application"

# Sync workers: one request at a time per process. Requests are short (the slow work, email and PDFs,
# runs in the task consumer), the code and its database drivers are blocking, and a crashed or stuck
# worker costs one request, not many.
worker_class = "sync"

# About two workers per core: while one waits on the database the other uses the core. At least two,
# so one slow request never blocks the site. WEB_CONCURRENCY is the usual override (PaaS convention).
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, 2 * (os.cpu_count() or 1)))

# Loopback by default: the reverse proxy in front terminates TLS and forwards here. BIND overrides
# (e.g. 0.0.0.0:8000 behind a load balancer on another machine, or unix:/run/rapport/web.sock).
bind = [os.environ.get("BIND") or f"127.0.0.1:{os.environ.get('PORT') or 5000}"]

# A request past 30 s is stuck (a page never takes that long): the arbiter kills and replaces its
# worker. On SIGTERM, workers finish the requests they are serving for up to 30 s before being killed.
timeout = 30
graceful_timeout = 30

# Recycle a worker after about a million requests (the jitter keeps workers from restarting together), a
# safety net should some library's memory ever grow. None does now: with recycling off, a worker's memory
# grew by 180 KB over 65,000 requests at full load (benchmarks/load.py, 2026-11-24). A restart is not free:
# the new worker imports the app (0.4-0.9 s of a core, benchmarks/startup.py) while the other serves alone.
# At 20,000, a full 2-core machine restarted each worker every 48 s, and a 120 s run at 10,000 candidates
# saw four restarts and a p99 of 210 ms against 44 ms without them. At a million, that is every 40 minutes.
max_requests = 1_000_000
max_requests_jitter = 100_000

# Workers' heartbeat files on a memory file system: on a disk-backed /tmp a slow disk can stall a
# heartbeat and get healthy workers killed. (Only gunicorn's own unlinked files go there.)
_SHARED_MEMORY = "/dev/shm"  # noqa: S108
worker_tmp_dir = _SHARED_MEMORY if os.path.isdir(_SHARED_MEMORY) else None

# No gunicorn access log: its lines carry full paths, and ours hold tokens (invitation and reset links).
# The app logs its own access lines without them.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")

# Which peers gunicorn believes about X-Forwarded-Proto (https): only the proxy's address, never "*".
# The client's address for rate limits is PROXY_FIX_X_FOR in config.py (the number of proxies).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# No preloading: each worker imports the app and opens its own database and Redis connections after
# the fork, so no connection (or SQLite handle) is ever shared between processes, and a restart
# (SIGHUP) reloads new code.
preload_app = False
