"""Slow and stalled clients over a real `stockpool serve`: a request head or body that stops arriving is answered
408 and the connection closed, an idle kept-alive connection is closed, and requests beyond the concurrency limit
are answered 503. (The limits are short here; each socket also has a generous safety timeout, so that a server
that never answers fails the test instead of hanging it.)"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from models import Role
from models.db import Database
from pooling.access import create_token
from tests.api.serving import Served, stockpool_serve

SAFETY = 60  # seconds a socket waits before the test calls the server hung


@pytest.fixture
def served(db: Database, database_url: str, tmp_path: Path) -> Iterator[Served]:
    limits = ("--timeout-headers", "1", "--timeout-body", "1", "--timeout-keep-alive", "1")
    with stockpool_serve(tmp_path, database_url, *limits) as server:
        yield server


def connect(server: Served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=SAFETY)


def read_until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def test_half_a_request_head_is_answered_408_and_closed(served: Served) -> None:
    with connect(served) as connection:
        connection.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408"), answer


def test_a_connection_that_sends_nothing_is_closed(served: Served) -> None:
    with connect(served) as connection:
        assert read_until_closed(connection) == b""


def test_a_stalled_body_is_answered_408(served: Served, db: Database) -> None:
    with db.transaction() as s:
        _, token = create_token(s, "slow client", Role.ADMIN)
    body = b'{"query": "{ me { name } }"}'
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nContent-Length: %d\r\n\r\n" % (len(body) + 50)
    )
    with connect(served) as connection:
        connection.sendall(head + body)  # 50 bytes short, and nothing more comes
        answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert b"REQUEST_TIMEOUT" in answer
    assert "Traceback" not in served.log()


def test_an_idle_kept_alive_connection_is_closed(served: Served) -> None:
    with connect(served) as connection:
        connection.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = read_until_closed(connection)  # answered, then closed once idle
    assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"ok"), answer


def test_requests_beyond_the_concurrency_limit_are_answered_503(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    with stockpool_serve(tmp_path, database_url, "--limit-concurrency", "3") as server, ExitStack() as held:
        for _ in range(3):  # three connections that send nothing (yet): the limit is reached
            held.enter_context(connect(server))
        with connect(server) as connection:
            connection.sendall(b"GET /livez HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = read_until_closed(connection)
    assert answer.startswith(b"HTTP/1.1 503"), answer
