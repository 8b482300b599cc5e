"""Serving the app in production: gunicorn where it runs (Linux, macOS), waitress elsewhere.

Python runs one thread at a time per process, so a busy co-op needs more than one process to use more than one
CPU core: gunicorn starts ``workers`` processes, each answering with ``threads`` threads. Each worker builds its
own app (and so its own database connections) after the fork. What the workers must share lives in the
database: sessions are signed with the one secret key, sign-in failures are counted in a table, and the
remembered page figures are keyed on the data version (``energy_coop.services.memo``).

On Windows, where gunicorn does not run, waitress serves with threads in one process.

Stopping (SIGTERM or Ctrl+C to the ``energy-coop serve`` process, which is gunicorn's master itself): the master
stops listening and tells every worker to finish; a worker stops listening at once (:func:`_worker_class`),
answers the requests it is in the middle of, and exits; whatever is still running after ``GRACEFUL_TIMEOUT_S``
is killed. Should the master itself die (killed, crashed), its workers are killed with it (Linux: the parent
death signal set in :func:`_post_fork`), so that no worker is left on the port with nobody to stop it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from typing import Any

from energy_coop.config import Config
from energy_coop.db import dispose_all


GRACEFUL_TIMEOUT_S = 10  # [s] from SIGTERM until every worker is gone (the rest is killed)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def default_workers() -> int:
    """One worker process per CPU core (at least 2), at most 8."""
    return max(2, min(8, os.cpu_count() or 1))


def gunicorn_available() -> bool:
    try:
        import gunicorn.app.base  # noqa: F401
    except ImportError:  # Windows: gunicorn needs fcntl
        return False
    return True


def serve(config: Config, host: str, port: int, *, workers: int | None = None, threads: int = 4) -> None:
    """Serve ``web.create_app(config)`` on ``host``:``port`` until interrupted (SIGINT/SIGTERM)."""
    config.secret_key  # noqa: B018 - create instance/secret_key once, before the workers race to
    dispose_all()  # the schema check's connections must not be inherited by the workers
    workers = default_workers() if workers is None else workers
    if not gunicorn_available():
        from waitress import serve as waitress_serve

        from web import create_app

        waitress_serve(create_app(config), host=host, port=port, threads=max(threads * workers, 4))
        return
    _gunicorn(config, host, port, workers, threads).run()


def _post_fork(server: Any, worker: Any) -> None:  # noqa: ARG001 - gunicorn's hook signature
    """In each new worker: die with the master, and never use a database connection the master opened (a
    PostgreSQL connection used by two processes at once mixes up their statements)."""
    _die_with_parent(server.pid)
    dispose_all(close=False)


def _die_with_parent(parent_pid: int) -> None:
    """Linux: have the kernel kill this process when its parent (the gunicorn master) ends, however it ends.
    Elsewhere gunicorn's own check (a worker whose parent changed shuts down) is all there is."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no libc prctl: gunicorn's own check remains
        return
    if os.getppid() != parent_pid:  # the master ended before the setting took effect
        os._exit(1)


def _worker_class() -> type:
    """gunicorn's threaded worker, closing its listening sockets as soon as it is told to stop: gunicorn's own
    keeps them open (so the port still accepts connections nobody will answer) until its last in-flight
    request is done or the graceful timeout ends."""
    from gunicorn.workers.gthread import ThreadWorker

    class StoppingThreadWorker(ThreadWorker):
        def set_accept_enabled(self, enabled: bool) -> None:
            super().set_accept_enabled(enabled)
            if not enabled and not self.alive:  # the main loop has ended: stopping
                for listener in self.sockets:
                    listener.close()

    return StoppingThreadWorker


def _gunicorn(config: Config, host: str, port: int, workers: int, threads: int) -> Any:
    from gunicorn.app.base import BaseApplication

    class App(BaseApplication):
        """gunicorn's documented way to run an application from Python, with our settings only (no config file,
        no command line of its own)."""

        def load_config(self) -> None:
            settings = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": _worker_class(),
                "timeout": 120,  # [s] a worker silent this long is restarted (a PDF statement takes < 1 s)
                "graceful_timeout": GRACEFUL_TIMEOUT_S,
                "keepalive": 5,  # [s]
                "limit_request_line": 8190,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "proc_name": "energy-coop",
                "post_fork": _post_fork,
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self):
            from web import create_app

            return create_app(config)

    return App()
