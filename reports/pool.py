"""A pool of long-lived render children owned by the task consumer (DECISIONS.md).

Report HTML carries recruiter- and candidate-written text, and WeasyPrint can be made to run for
minutes or to allocate gigabytes (security.md item 47). So renders never run in the consumer itself:
each happens in a child process with an address-space limit, a render past its time limit kills its
child, and a dead child is replaced, so the pool keeps working after any failure. Children are
long-lived because importing WeasyPrint and the first render cost most of a second.

This module imports nothing heavy: the consumer loads it without WeasyPrint, and only the children
import reports.pdf. A child is a fresh interpreter (spawned, never forked: the consumer holds database
connections and worker threads that a forked copy must not inherit). It is started with subprocess
rather than multiprocessing's "spawn" context because that one re-runs the parent's __main__ script in
the child: under `flask worker` that is the flask command, under a script it can be the whole app.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = [
    "RenderCrashed",
    "RenderError",
    "RenderFailed",
    "RenderPool",
    "RenderTimeout",
    "RenderedPdf",
    "get_pool",
    "render_in_process",
]

logger = logging.getLogger(__name__)

STARTUP_TIMEOUT_SECONDS = 60.0
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
_CHILD_COMMAND = f"import sys; sys.path.insert(0, {str(_PROJECT_ROOT)!r}); import reports.pool as p; p._child_main()"
_WARM_UP_HTML = '<html lang="en"><head><title>Warm-up</title></head><body><p>Rapport <b>é £ €</b></p></body></html>'
_WARM_UP_CSS = 'body { font-family: "Rapport Sans"; }'


@dataclass(frozen=True)
class RenderedPdf:
    """A rendered report. Defined here rather than in reports.pdf so that the consumer can receive one
    from a child without importing WeasyPrint."""

    pdf: bytes
    pages: int
    render_ms: int


class RenderError(Exception):
    """A render that did not produce a PDF; `reason` is short and fit to show to the user."""

    reason = "The report could not be rendered."

    def __init__(self, reason: str | None = None, detail: str = "") -> None:
        if reason is not None:
            self.reason = reason
        #: What went wrong, for the logs (may quote the renderer's own message).
        self.detail = detail or self.reason
        super().__init__(self.detail)


class RenderTimeout(RenderError):
    """The render ran past the time limit; its child was killed and replaced."""


class RenderCrashed(RenderError):
    """The child died while rendering (memory limit, processor limit, killed) or could not start."""

    reason = "The report renderer stopped unexpectedly (it may have run out of memory)."


class RenderFailed(RenderError):
    """WeasyPrint raised while rendering; the child is unharmed and stays in the pool."""


MEMORY_REASON = "The report ran out of memory while rendering."
CPU_REASON = "The report used too much processor time while rendering."
START_REASON = "The report renderer could not start."


@dataclass(eq=False)
class _Child:
    process: subprocess.Popen[bytes]
    conn: Connection
    tmpdir: str
    started_at: float = field(default_factory=time.perf_counter)
    ready: bool = False


class RenderPool:
    """Render children, each used by one thread at a time; `render` is safe to call from many threads."""

    def __init__(self, processes: int = 2, memory_limit_mb: int = 700, timeout_seconds: float = 60.0) -> None:
        if processes < 1:
            raise ValueError("a render pool needs at least one process")
        self.processes = processes
        self.memory_limit_mb = memory_limit_mb
        self.timeout_seconds = timeout_seconds
        self._idle: queue.Queue[_Child] = queue.Queue()
        self._children: list[_Child] = []
        self._missing = 0
        self._lock = threading.Lock()
        self._closed = False
        self._warned_about_harfbuzz = False
        try:
            for _ in range(processes):
                self._idle.put(self._start_child())
        except BaseException:
            self.close()
            raise

    def render(self, html: str, stylesheet: str) -> RenderedPdf:
        """Render in an idle child, waiting for one to be free.

        Raises RenderTimeout, RenderCrashed or RenderFailed; the pool stays usable after each.
        """
        for attempt in (1, 2):
            child = self._checkout()
            try:
                self._wait_until_ready(child)
                child.conn.send((html, stylesheet))
            except (RenderCrashed, OSError) as exc:
                # The job never reached this child (it died idle or while starting): try one other child.
                self._replace(child)
                if attempt == 2:
                    if isinstance(exc, RenderCrashed):
                        raise
                    raise RenderCrashed() from exc
                continue
            return self._collect(child)
        raise AssertionError("unreachable")

    def _collect(self, child: _Child) -> RenderedPdf:
        """Wait for the child's answer; the child goes back to the idle queue only if it is unharmed."""
        keep = False
        try:
            try:
                if not child.conn.poll(self.timeout_seconds):
                    raise RenderTimeout(f"The report took longer than {self.timeout_seconds:g} seconds to render.")
                kind, *payload = child.conn.recv()
            except (EOFError, OSError):  # OSError too: close() may have closed the connection meanwhile
                raise RenderCrashed(self._death_reason(child)) from None
            if kind == "ok":
                keep = True
                pdf, pages, render_ms = payload
                return RenderedPdf(pdf=pdf, pages=pages, render_ms=render_ms)
            if kind == "error":
                keep = True
                logger.warning("Report render failed in child %s: %s: %s", child.process.pid, *payload)
                raise RenderFailed(detail=f"{payload[0]}: {payload[1]}")
            raise RenderCrashed(MEMORY_REASON if kind == "memory" else None)
        finally:
            if keep:
                self._idle.put(child)
            else:
                self._replace(child)

    def pids(self) -> list[int]:
        """Process ids of the live children, for monitoring (and for tests that watch replacements)."""
        with self._lock:
            return [child.process.pid for child in self._children if child.process.poll() is None]

    def close(self) -> None:
        """Stop every child; renders in progress fail with RenderCrashed and later calls raise RuntimeError."""
        with self._lock:
            self._closed = True
            children, self._children = self._children, []
        for child in children:
            self._stop(child)

    # --- children -------------------------------------------------------------------------------

    def _start_child(self) -> _Child:
        tmpdir = tempfile.mkdtemp(prefix="rapport-render-")
        parent_socket, child_socket = socket.socketpair()
        command = [
            sys.executable,
            "-I",  # no PYTHON* variables, no user site-packages, no current directory on the path
            "-c",
            _CHILD_COMMAND,
            str(child_socket.fileno()),
            str(self.memory_limit_mb),
            str(max(5, int(self.timeout_seconds) + 5)),
            tmpdir,
        ]
        try:
            # The command is this interpreter and our own constants; report content only ever goes over the socket.
            process = subprocess.Popen(  # noqa: S603
                command, stdin=subprocess.DEVNULL, pass_fds=[child_socket.fileno()], env=_child_environment()
            )
        except BaseException:
            parent_socket.close()
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        finally:
            child_socket.close()
        child = _Child(process=process, conn=Connection(parent_socket.detach()), tmpdir=tmpdir)
        with self._lock:
            closed = self._closed
            if not closed:
                self._children.append(child)
        if closed:  # close() ran while this child was starting
            self._stop(child)
            raise RuntimeError("the render pool is closed")
        return child

    def _checkout(self) -> _Child:
        """Take an idle, live child, first starting any replacement that could not be started earlier."""
        while True:
            if self._closed:
                raise RuntimeError("the render pool is closed")
            self._start_missing()
            try:
                child = self._idle.get(timeout=0.25)
            except queue.Empty:
                continue
            # A ready child has nothing to say until it gets a job: something to read means it has gone.
            if child.process.poll() is None and not (child.ready and child.conn.poll(0)):
                return child
            logger.warning(
                "Render child %s died while idle (exit code %s)", child.process.pid, child.process.returncode
            )
            self._replace(child)

    def _wait_until_ready(self, child: _Child) -> None:
        if child.ready:
            return
        try:
            if not child.conn.poll(STARTUP_TIMEOUT_SECONDS):
                raise RenderCrashed(START_REASON, detail="the render child did not finish starting in time")
            kind, harfbuzz_subset, startup_ms = child.conn.recv()
        except (EOFError, OSError):
            exit_description = self._exit(child)
            raise RenderCrashed(
                START_REASON, detail=f"the render child exited while starting: {exit_description}"
            ) from None
        if kind != "ready":
            raise RenderCrashed(START_REASON, detail=f"unexpected message from a starting render child: {kind!r}")
        child.ready = True
        logger.info(
            "Render child %s ready in %d ms (%d ms of it importing WeasyPrint and warming up)",
            child.process.pid,
            (time.perf_counter() - child.started_at) * 1000,
            startup_ms,
        )
        if not harfbuzz_subset and not self._warned_about_harfbuzz:
            self._warned_about_harfbuzz = True
            logger.warning("libharfbuzz-subset is not available: reports render about 2.4x slower")

    def _exit(self, child: _Child) -> str:
        try:
            code = child.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "still running"
        return f"killed by signal {-code}" if code < 0 else f"exit code {code}"

    def _death_reason(self, child: _Child) -> str | None:
        exit_description = self._exit(child)
        logger.warning("Render child %s died while rendering (%s)", child.process.pid, exit_description)
        if child.process.returncode == -signal.SIGXCPU:
            return CPU_REASON
        return None

    def _replace(self, child: _Child) -> None:
        """Stop `child` and start its replacement now, so that the next render finds a warm child."""
        with self._lock:
            if child in self._children:
                self._children.remove(child)
                if not self._closed:
                    self._missing += 1
        self._stop(child)
        # A failed start is logged; the next render tries again (and fails if no child can start).
        with contextlib.suppress(RenderCrashed):
            self._start_missing()

    def _start_missing(self) -> None:
        while True:
            with self._lock:
                if self._closed or not self._missing:
                    return
                self._missing -= 1
            try:
                self._idle.put(self._start_child())
            except Exception:
                with self._lock:
                    if self._closed:
                        return
                    self._missing += 1
                    any_alive = bool(self._children)
                logger.exception("Could not start a render child; will try again at the next render")
                if not any_alive:
                    raise RenderCrashed(START_REASON) from None
                return

    @staticmethod
    def _stop(child: _Child) -> None:
        if child.process.poll() is None:
            child.process.kill()
        try:
            child.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            logger.error("Render child %s did not stop after SIGKILL", child.process.pid)
        child.conn.close()
        shutil.rmtree(child.tmpdir, ignore_errors=True)


# --- the child side -------------------------------------------------------------------------------

# What a child needs from the environment (locale, fonts, cache folders). Nothing else is passed on:
# a child reads hostile input, and has no use for the database URL, the secret key or SMTP passwords.
_CHILD_ENVIRONMENT = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "XDG_CACHE_HOME",
    "FONTCONFIG_FILE",
    "FONTCONFIG_PATH",
)


def _child_environment() -> dict[str, str]:
    return {name: os.environ[name] for name in _CHILD_ENVIRONMENT if name in os.environ}


def _child_main() -> None:
    """Limit this process, load WeasyPrint, warm up, then render jobs until told to stop.

    Runs in a fresh interpreter started by RenderPool; imports reports.pdf and never the Flask app.
    """
    started = time.perf_counter()
    fd, memory_limit_mb, cpu_seconds, tmpdir = sys.argv[1:5]
    conn = Connection(int(fd))
    # Ctrl-C in the consumer's terminal reaches the whole process group; the consumer decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit = int(memory_limit_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # WeasyPrint keeps font copies in a temporary folder that a killed child cannot clean up: the
    # folder is this child's own, and the pool removes it.
    os.environ["TMPDIR"] = tempfile.tempdir = tmpdir
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s render-child[%(process)d] %(levelname)s %(name)s: %(message)s"
    )

    import warnings

    from PIL import Image

    from reports import pdf

    # Pillow only warns between MAX_IMAGE_PIXELS and twice that; in a report such an image is refused.
    warnings.simplefilter("error", Image.DecompressionBombWarning)
    pdf.render_pdf(_WARM_UP_HTML, _WARM_UP_CSS)
    conn.send(("ready", pdf.harfbuzz_subset_available(), round((time.perf_counter() - started) * 1000)))

    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return  # the consumer has gone
        if job is None:
            return
        _limit_processor_time(int(cpu_seconds))
        reply: tuple[Any, ...]
        try:
            result = pdf.render_pdf(*job)
        except MemoryError:
            reply = ("memory",)
        except Exception as exc:
            reply = ("error", type(exc).__name__, str(exc)[:200])
        else:
            reply = ("ok", result.pdf, result.pages, result.render_ms)
        del job
        try:
            conn.send(reply)
        except OSError:
            return
        if reply[0] == "memory":
            return  # a process that hit its memory limit may be left in any state: the pool replaces it


def _limit_processor_time(seconds: int) -> None:
    """A backstop behind the pool's wall-clock kill. RLIMIT_CPU counts over the child's whole life, so
    each job gets `seconds` more than the child has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime) + seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


# --- the process-wide pool ------------------------------------------------------------------------

_pool: RenderPool | None = None
_pool_lock = threading.Lock()


def get_pool() -> RenderPool:
    """The process-wide pool, started at first use and sized from REPORT_RENDER_PROCESSES (2),
    REPORT_RENDER_TIMEOUT (60 seconds) and REPORT_RENDER_MEMORY_MB (700); raises ValueError on a bad value."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = RenderPool(
                processes=int(_env_number("REPORT_RENDER_PROCESSES", 2)),
                memory_limit_mb=int(_env_number("REPORT_RENDER_MEMORY_MB", 700)),
                timeout_seconds=_env_number("REPORT_RENDER_TIMEOUT", 60.0),
            )
        return _pool


def _env_number(name: str, default: float) -> float:
    """A positive number from the environment: a bad value fails loudly rather than running unlimited."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")
    return value


@atexit.register
def _close_process_pool() -> None:
    with _pool_lock:
        if _pool is not None:
            _pool.close()


def render_in_process(html: str, stylesheet: str) -> RenderedPdf:
    """Render in this process, without the pool's limits: for tests and benchmarks only."""
    from reports.pdf import render_pdf

    return render_pdf(html, stylesheet)
