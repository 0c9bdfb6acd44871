"""A real uvicorn server on 127.0.0.1 over the test database, and an HTTP client that speaks GraphQL to it."""

from __future__ import annotations

import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from graphql import OperationDefinitionNode, parse, print_ast
from starlette.applications import Starlette

from api.app import create_app
from models import Role
from models.db import Database
from pooling.access import create_token

EXAMPLES = Path(__file__).parents[2] / "examples" / "operations.graphql"


def operations() -> dict[str, str]:
    """The example operations by name, each as a standalone document."""
    document = parse(EXAMPLES.read_text())
    return {
        d.name.value: print_ast(d) for d in document.definitions if isinstance(d, OperationDefinitionNode) and d.name
    }


@pytest.fixture(scope="session")
def server(migrated: Database) -> Iterator[str]:
    with serving(migrated) as base:
        yield base


@contextmanager
def serving(served: Database | Starlette) -> Iterator[str]:
    """A uvicorn server, in a thread of this process, over a database (the usual app) or an app built by the test,
    on a free port for as long as the block runs; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(served) if isinstance(served, Database) else served
    # A long keep-alive: clients that reuse a connection across slow rounds must not race its closing.
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", timeout_keep_alive=300)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)


class Client:
    """Posts operations with a token; `op` runs an example operation by name."""

    def __init__(self, base: str, token: str | None) -> None:
        self.base = base
        self.token = token
        self.http = httpx.Client(base_url=base, timeout=60)
        weakref.finalize(self, self.http.close)  # its connections closed when the client is dropped

    def post(self, query: str, variables: dict[str, Any] | None = None, key: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)

    def gql(self, query: str, variables: dict[str, Any] | None = None, key: str | None = None) -> dict[str, Any]:
        response = self.post(query, variables, key)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]  # type: ignore[no-any-return]

    def op(self, name: str, key: str | None = None, **variables: Any) -> dict[str, Any]:
        return self.gql(operations()[name], variables, key)


def clients_by_role(db: Database, server: str, admin: Client) -> dict[str, Client]:
    """Clients for the ADMIN, sites N, S and E (SITE tokens) and the west and east coordinators."""
    clients = {"admin": admin}
    with db.transaction() as s:
        for name, role, site, region in (
            ("n", Role.SITE, "N", None),
            ("s", Role.SITE, "S", None),
            ("e", Role.SITE, "E", None),
            ("west", Role.COORDINATOR, None, "west"),
            ("east", Role.COORDINATOR, None, "east"),
        ):
            clients[name] = Client(server, create_token(s, name, role, site, region)[1])
    return clients


@pytest.fixture
def tokens(db: Database) -> dict[str, str]:
    """Tokens for an ADMIN; more are made by the tests through createApiToken."""
    with db.transaction() as s:
        _, admin = create_token(s, "test admin", Role.ADMIN)
    return {"admin": admin}


@pytest.fixture
def admin(server: str, tokens: dict[str, str]) -> Client:
    return Client(server, tokens["admin"])
