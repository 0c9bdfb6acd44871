"""A graphql-transport-ws client for the tests (the `websockets` library's, synchronous)."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.sync.client import ClientConnection, connect

PROTOCOL = "graphql-transport-ws"


class Subscription:
    """One connection with one subscription: `next_event()` returns the next `next` payload's data."""

    def __init__(self, base: str, token: str | None, query: str, variables: dict[str, Any] | None = None) -> None:
        opening = connect(base.replace("http://", "ws://") + "/graphql", subprotocols=[PROTOCOL], open_timeout=10)  # type: ignore[list-item]
        self.ws: ClientConnection = opening.__enter__()
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        self.ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        ack = json.loads(self.ws.recv(timeout=10))
        assert ack["type"] == "connection_ack", ack
        self.ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
        )
        # The protocol does not acknowledge a subscription: give the server a moment to register it, so that the
        # changes a test makes next are "from now on" (a client that must miss nothing passes `after`).
        time.sleep(0.3)

    def message(self, timeout: float = 15) -> dict[str, Any]:
        while True:
            found: dict[str, Any] = json.loads(self.ws.recv(timeout=timeout))
            if found["type"] == "ping":
                self.ws.send(json.dumps({"type": "pong"}))
                continue
            return found

    def next_event(self, timeout: float = 15) -> dict[str, Any]:
        found = self.message(timeout)
        assert found["type"] == "next", found
        assert "errors" not in found["payload"], found["payload"]
        return found["payload"]["data"]["events"]  # type: ignore[no-any-return]

    def events(self, count: int, timeout: float = 15) -> list[dict[str, Any]]:
        return [self.next_event(timeout) for _ in range(count)]

    def nothing_more(self, wait: float = 1.0) -> bool:
        try:
            self.ws.recv(timeout=wait)
        except TimeoutError:
            return True
        return False

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
