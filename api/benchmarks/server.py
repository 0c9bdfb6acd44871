"""The service in a child process on a free loopback port, as `stockpool bench-api` drives it, optionally profiled."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import IO, Any

import httpx

from api.benchmarks.measure import tree_cpu_seconds
from models.db import Database

_SERVE = """
import sys
from api.benchmarks.server import serve_forever
serve_forever(sys.argv[1], int(sys.argv[2]), sys.argv[3] or None, sys.argv[4] or None)
"""


def serve_forever(url: str, port: int, profile: str | None = None, floor: str | None = None) -> None:
    """Run the service on 127.0.0.1:port until SIGINT/SIGTERM (the server process of `ServerProcess`).

    With `profile`, every thread (the event loop and each request's database thread) runs under cProfile, timed in
    CPU seconds (time spent waiting for the database, a lock or the GIL is left out), and the merged statistics
    are written to that file at shutdown. With `floor` (a file of recorded SQL), the floor's minimal app
    (`api.benchmarks.floor`) is served instead of the service.
    """
    import logging

    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from api.benchmarks.floor import floor_app

    db = Database(url)
    app = floor_app(db, floor) if floor else create_app(db, graphiql=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    if profile is None:
        server.run()
    else:
        _profiled(server.run, profile)
    db.dispose()


def _profiled(run: Callable[[], None], path: str) -> None:
    """Run `run` with every thread under its own cProfile (CPU time), then write the merged statistics to `path`.

    `threading.setprofile` installs a hook in each thread started from here on; on its first event the hook hands
    the thread over to a profiler of its own (cProfile's `enable` replaces the hook for that thread). Per-thread
    profilers need Python 3.11's cProfile (from 3.12 it sits on `sys.monitoring`, one profiler per process).
    """
    import cProfile
    import pstats
    import threading

    lock = threading.Lock()
    profiles: list[cProfile.Profile] = []

    def start_profiling(frame: Any, event: str, arg: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        profile.enable()

    threading.setprofile(start_profiling)
    main = cProfile.Profile(time.thread_time)
    main.enable()
    try:
        run()
    finally:
        main.disable()
        threading.setprofile(None)
        stats = pstats.Stats(main)
        with lock:
            for profile in profiles:
                stats.add(profile)
        stats.dump_stats(path)


class ServerProcess:
    """`serve_forever` in a child Python process on a free loopback port; stopped with SIGINT (graceful).

    With `workers` > 1 the child is `stockpool serve --workers N` itself (uvicorn's supervisor and its workers),
    and `cpu_seconds` adds up the whole process tree."""

    def __init__(
        self, url: str, log: IO[str], profile: str | None = None, *, workers: int = 1, floor: str | None = None
    ) -> None:
        if workers > 1 and (profile or floor):
            raise ValueError("--profile measures one worker: use --workers 1 with it")
        self.url = url
        self.profile = profile
        self.floor = floor
        self.workers = workers
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self, timeout: float = 180) -> str:
        for _ in range(3):  # the free port may be taken between the probe and the bind: try another
            port = _free_port()
            self.process = subprocess.Popen(
                self._command(port),
                stdout=self.log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            self.base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + timeout
            with httpx.Client(base_url=self.base, timeout=5) as http:
                while time.monotonic() < deadline and self.process.poll() is None:
                    try:
                        if http.get("/readyz").status_code == 200:
                            return self.base
                    except httpx.TransportError:
                        pass
                    time.sleep(0.1)
            self.stop()
        raise RuntimeError(f"the server did not start:\n{self.output()[-4000:]}")

    def _command(self, port: int) -> list[str]:
        if self.workers == 1:
            return [sys.executable, "-c", _SERVE, self.url, str(port), self.profile or "", self.floor or ""]
        serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(self.workers)]
        quiet = ["--no-graphiql", "--log-format", "text", "--log-level", "warning"]
        return [sys.executable, "-m", "api.cli", "--database-url", self.url, *serve, *quiet]

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def cpu_seconds(self) -> float | None:
        """The server's CPU time so far (user + system, all threads, its worker processes too), where /proc tells it."""
        return None if self.process is None else tree_cpu_seconds(self.process.pid)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
