"""`stockpool serve` as a separate process on a free port, its stdout and stderr kept in files."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    base: str
    port: int
    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()

    def log(self) -> str:
        return self.stderr.read_text()


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "api.cli", "serve", *args]


@contextmanager
def stockpool_serve(
    folder: Path, database_url: str, *args: str, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[Served]:
    """Start `stockpool serve ARGS` (on `port`, or a free one given by --port) and wait until /livez answers."""
    folder.mkdir(parents=True, exist_ok=True)
    chosen = port or free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", **(env or {})}
    stdout, stderr = folder / "stdout.txt", folder / "stderr.txt"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            command(*args, *([] if port else ["--port", str(chosen)])),
            env=environment,
            stdout=out,
            stderr=err,
            cwd=folder,
            start_new_session=True,
        )
    served = Served(f"http://127.0.0.1:{chosen}", chosen, process, stdout, stderr)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"stockpool serve ended: {served.output()}{served.log()}")
            try:
                if httpx.get(f"{served.base}/livez", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"stockpool serve did not start: {served.output()}{served.log()}")
            time.sleep(0.1)
        yield served
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
