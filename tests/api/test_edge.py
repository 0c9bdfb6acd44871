"""The edges of `/graphql`, over the real server: GET, bodies too large or never sent, inputs that used to end in
"Unexpected error.", and what the log says about a client's mistake (INFO, no traceback) versus a bug (ERROR).

Every refusal here is typed (`errors[].extensions.code`), changes nothing, and logs nothing at ERROR.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.body import MAX_BODY_BYTES
from models.db import Database
from pooling import kpis
from tests.api.conftest import Client
from tests.factories import build_network, receive
from tests.reliability.snapshot import snapshot

HUGE = 300_000_000  # the 300 MB request of the report


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of the in-process server (it runs in a thread of this process), from INFO up."""
    caplog.set_level(logging.INFO)
    return caplog


def no_error_logged(log: pytest.LogCaptureFixture) -> None:
    bad = [r for r in log.records if r.levelno >= logging.ERROR or r.exc_info]
    assert bad == [], [(r.levelname, r.name, r.getMessage()[:200]) for r in bad]


def code_of(response: httpx.Response) -> str:
    body = response.json()
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["message"] != "Unexpected error.", body
    return error["extensions"]["code"]  # type: ignore[no-any-return]


def raw_exchange(server: str, head: str, timeout: float = 20) -> str:
    """Send only the request head (no body at all) and return what the server answers: its status line."""
    address = urlsplit(server)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as connection:
        connection.sendall(head.replace("\n", "\r\n").encode() + b"\r\n")
        answer = b""
        while b"\r\n" not in answer:
            chunk = connection.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace").split("\r\n")[0]


def head(server: str, length: int, token: str | None) -> str:
    lines = [
        "POST /graphql HTTP/1.1",
        f"Host: {urlsplit(server).netloc}",
        "Content-Type: application/json",
        f"Content-Length: {length}",
    ]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return "\n".join(lines) + "\n"


# Item 2: GET


@pytest.mark.parametrize(
    ("params", "headers"),
    [
        ({"query": "{me{name}}"}, {}),
        ({"query": "{me{name}}"}, {"authorization": "token"}),
        ({}, {"Accept": "application/json"}),
        ({"query": "{me{name}}"}, {"Accept": "text/html"}),
    ],
    ids=["query", "query with a token", "json without a query", "html with a query"],
)
def test_a_get_that_is_not_a_browser_asking_for_graphiql_is_refused_with_405(
    admin: Client, log: pytest.LogCaptureFixture, params: dict[str, str], headers: dict[str, str]
) -> None:
    if headers.get("authorization") == "token":
        headers = {"Authorization": f"Bearer {admin.token}"}
    response = admin.http.get("/graphql", params=params, headers=headers)
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"
    assert code_of(response) == "METHOD_NOT_ALLOWED"
    assert "use POST" in response.json()["errors"][0]["message"]
    no_error_logged(log)


def test_graphiql_is_still_served_to_a_browser(server: str, log: pytest.LogCaptureFixture) -> None:
    page = httpx.get(f"{server}/graphql", headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    no_error_logged(log)


# Item 5: memory before login


def test_a_declared_300mb_body_is_refused_before_it_is_sent(server: str, tokens: dict[str, str]) -> None:
    """Only the head goes out; the server answers 413 from Content-Length (it used to wait for 300 MB)."""
    assert raw_exchange(server, head(server, HUGE, tokens["admin"])) == "HTTP/1.1 413 Request Entity Too Large"
    assert raw_exchange(server, head(server, HUGE, None)) == "HTTP/1.1 413 Request Entity Too Large"


def test_a_body_without_a_valid_token_is_refused_before_it_is_read(server: str) -> None:
    """Under the limit but unauthenticated: 401 without waiting for a byte of the body."""
    assert raw_exchange(server, head(server, MAX_BODY_BYTES, None)) == "HTTP/1.1 401 Unauthorized"
    assert raw_exchange(server, head(server, MAX_BODY_BYTES, "not-a-token")) == "HTTP/1.1 401 Unauthorized"


def test_a_strangers_small_body_is_read_and_dropped_and_the_connection_stays_open(server: str) -> None:
    """The head first, the body in a later write (as httpx sends them): the 401 keeps the connection open, so the
    next request on it is answered. Closed with the body's bytes unread, the connection was reset, and the reset
    could destroy the 401 before the client read it (a CI run met "Connection reset by peer")."""
    body = b'{"query": "{ me { name } }"}'
    address = urlsplit(server)
    with socket.create_connection((address.hostname, address.port), timeout=20) as connection:
        stream = connection.makefile("rb")
        for _ in range(2):
            connection.sendall(head(server, len(body), None).replace("\n", "\r\n").encode() + b"\r\n")
            connection.sendall(body)
            status = stream.readline()
            headers = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            answer = json.loads(stream.read(int(headers["content-length"])))
            assert status.startswith(b"HTTP/1.1 401"), status
            assert headers.get("connection") != "close", headers
            assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_a_streamed_body_is_read_no_further_than_the_limit(admin: Client, db: Database) -> None:
    """A chunked body (no Content-Length) that would yield 300 MB: 413 once past 1 MB; the rest is never asked for."""
    sent = [0]
    chunk = b" " * 65536

    def body() -> Iterator[bytes]:
        yield b'{"query": "{ me { name } }", "padding": "'
        while sent[0] < HUGE:
            sent[0] += len(chunk)
            yield chunk

    before = snapshot(db)
    response = admin.http.post(
        "/graphql",
        content=body(),
        headers={"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert code_of(response) == "TOO_LARGE"
    assert sent[0] < 50_000_000, sent[0]  # the limit, plus what the sockets' buffers took in meanwhile
    assert snapshot(db) == before


def test_a_body_at_the_limit_is_still_read(admin: Client) -> None:
    query = "{ me { name } }"
    padding = " " * (MAX_BODY_BYTES - len(json.dumps({"query": query})))
    content = json.dumps({"query": query + padding}).encode()
    assert len(content) == MAX_BODY_BYTES
    headers = {"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"}
    response = admin.http.post("/graphql", content=content, headers=headers)
    assert response.status_code == 200 and response.json()["data"]["me"]["name"] == "test admin"


# Item 6: inputs that used to answer "Unexpected error."


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("depth", [65, 980, 5000])
def test_deeply_nested_variables_are_a_typed_400(
    admin: Client, db: Database, log: pytest.LogCaptureFixture, depth: int
) -> None:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    before = snapshot(db)
    query = 'mutation($pad: [String]) { placeOrder(input: {site: "N", sku: "X", quantity: 1}) { errors { code } } }'
    pad = "[" * depth + "]" * depth
    content = f'{{"query": {json.dumps(query)}, "variables": {{"pad": {pad}}}}}'
    headers = {"Authorization": f"Bearer {admin.token}", "Content-Type": "application/json"}
    response = admin.http.post("/graphql", content=content, headers=headers)
    assert response.status_code == 400, response.text
    assert code_of(response) == "BAD_REQUEST"
    assert snapshot(db) == before
    no_error_logged(log)


def test_variables_nested_as_deep_as_an_input_needs_still_run(admin: Client, db: Database) -> None:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    query = "query($s: [BackorderStatus!]) { backorders(status: $s) { edges { cursor } } }"
    assert admin.gql(query, {"s": ["OPEN"]}) == {"backorders": {"edges": []}}


@pytest.mark.parametrize("digits", [101, 4300, 4301, 20000])
def test_an_int_literal_of_thousands_of_digits_is_a_validation_error(
    admin: Client, db: Database, log: pytest.LogCaptureFixture, digits: int
) -> None:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    receive(db, "N", "X", 5)
    before = snapshot(db)
    for query in (
        "{ sites(first: %s) { edges { cursor } } }" % ("9" * digits),
        'mutation { placeOrder(input: {site: "N", sku: "X", quantity: %s}) { errors { code } } }' % ("9" * digits),
        "query($n: Int = %s) { sites(first: $n) { edges { cursor } } }" % ("1" * digits),
        "{ sites(first: 1.%s) { edges { cursor } } }" % ("5" * digits),
    ):
        response = admin.post(query)
        assert response.status_code == 200, response.text
        assert code_of(response) == "INVALID"
        assert "Number literals" in response.json()["errors"][0]["message"]
    assert snapshot(db) == before
    no_error_logged(log)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "Y3Vyc29yOjk5OTk5OTk5OTk5OTk5OTk5OTk5",  # cursor:99999999999999999999, beyond 2^63
        b64(f"cursor:{2**63}"),
        b64(f"cursor:{2**31}"),  # beyond PostgreSQL's INTEGER
        b64("cursor:-1"),
        b64("cursor:" + "9" * 5000),
        "x" * 100_000,
    ],
    ids=["report", "2^63", "2^31", "negative", "5000 digits", "100k characters"],
)
def test_a_cursor_out_of_range_is_invalid(
    admin: Client, db: Database, log: pytest.LogCaptureFixture, cursor: str
) -> None:
    build_network(db, {"N": "west", "S": "west"}, {"X": "10.00"})
    response = admin.post("query($after: String) { sites(after: $after) { edges { cursor } } }", {"after": cursor})
    assert response.status_code == 200, response.text
    assert code_of(response) == "INVALID"
    assert "Invalid cursor" in response.json()["errors"][0]["message"]
    no_error_logged(log)


def test_the_largest_cursor_and_id_a_database_takes_are_answered(
    admin: Client, db: Database, log: pytest.LogCaptureFixture
) -> None:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    page = admin.gql(
        "query($after: String) { sites(after: $after) { edges { cursor } } }", {"after": b64(f"cursor:{2**31 - 1}")}
    )
    assert page == {"sites": {"edges": []}}
    for pk in (2**31 - 1, 2**31, 2**40, 2**62):
        assert admin.gql("query($id: ID!) { node(id: $id) { id } }", {"id": b64(f"Site:{pk}")}) == {"node": None}
    no_error_logged(log)


# Item 8: client mistakes are INFO, bugs are ERROR


MISTAKES = {
    "syntax error": ("{ me { name }", None),
    "unknown field": ("{ me { nope } }", None),
    "first out of range": ("{ sites(first: 100000) { edges { cursor } } }", None),
    "missing argument": ("{ movements { edges { cursor } } }", None),
    "variable of the wrong type": ("query($n: Int) { sites(first: $n) { edges { cursor } } }", {"n": "many"}),
    "Int beyond 32 bits": ("{ sites(first: 3000000000) { edges { cursor } } }", None),
    "selection on a scalar": ("{ me { name { x } } }", None),
    "bad cursor": ('{ sites(after: "nope") { edges { cursor } } }', None),
    "unstorable text": ('{ sites(region: "a\\u0000b") { edges { cursor } } }', None),
    "two operations unnamed": ("query A { me { name } } query B { me { name } }", None),
}


@pytest.mark.parametrize("mistake", MISTAKES)
def test_a_client_mistake_is_logged_at_info_without_a_traceback(
    admin: Client, db: Database, log: pytest.LogCaptureFixture, mistake: str
) -> None:
    build_network(db, {"N": "west"}, {"X": "10.00"})
    query, variables = MISTAKES[mistake]
    response = admin.post(query, variables)
    assert response.status_code in (200, 400), response.text
    assert response.json()["errors"], response.text
    assert "Unexpected error." not in response.text
    no_error_logged(log)


def test_a_bug_is_still_logged_at_error_with_its_traceback(
    admin: Client, db: Database, log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        raise ZeroDivisionError("a bug of ours")

    monkeypatch.setattr(kpis, "scorecard", broken)
    response = admin.post("{ kpis { fillRate } }")
    assert response.status_code == 200
    assert [e["message"] for e in response.json()["errors"]] == ["Unexpected error."]
    errors = [r for r in log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], ZeroDivisionError)
