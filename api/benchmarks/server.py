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

from api.benchmarks.measure import cpu_seconds
from models.db import Database

_SERVE = """
import sys
from api.benchmarks.server import serve_forever
serve_forever(sys.argv[1], int(sys.argv[2]), sys.argv[3] or None)
"""


def serve_forever(url: str, port: int, profile: str | None = None) -> None:
    """Run the service on 127.0.0.1:port until SIGINT/SIGTERM (the server process of `ServerProcess`).

    With `profile`, every thread (the event loop and each request's database thread) runs under cProfile, timed in
    CPU seconds (time spent waiting for the database, a lock or the GIL is left out), and the merged statistics
    are written to that file at shutdown.
    """
    import logging

    import uvicorn

    from api.app import create_app

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    db = Database(url)
    config = uvicorn.Config(
        create_app(db, graphiql=False), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
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
    """`serve_forever` in a child Python process on a free loopback port; stopped with SIGINT (graceful)."""

    def __init__(self, url: str, log: IO[str], profile: str | None = None) -> None:
        self.url = url
        self.profile = profile
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self, timeout: float = 60) -> str:
        for _ in range(3):  # the free port may be taken between the probe and the bind: try another
            port = _free_port()
            self.process = subprocess.Popen(
                [sys.executable, "-c", _SERVE, self.url, str(port), self.profile or ""],
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
        """The server process's CPU time so far (user + system, all threads), where /proc tells it."""
        return None if self.process is None else cpu_seconds(self.process.pid)

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
