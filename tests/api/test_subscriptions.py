"""`subscription events` over real websockets (graphql-transport-ws) against a real uvicorn server."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.exceptions import ConnectionClosed

from api.live import TOO_SLOW, Hub, LiveEvent
from models import EventKind, Priority, Role, utcnow
from models.db import Database
from pooling import orders
from pooling.access import create_token
from tests.api.conftest import Client, operations
from tests.api.live import Subscription
from tests.factories import build_network

EVENTS = """
subscription Events($region: String, $site: String, $kinds: [EventKind!], $after: ID) {
  events(region: $region, site: $site, kinds: $kinds, after: $after) {
    id kind site { code } backorder { id status }
  }
}
"""


CREATED = ["BACKORDER_CREATED"]  # what `place` writes (its STOCKOUT alerts' events are the alerts tests' business)


def tokens(db: Database) -> dict[str, str]:
    build_network(db, {"N": "west", "S": "west", "E": "east"}, {"X": "1.00"})
    with db.transaction() as s:
        return {
            "n": create_token(s, "n", Role.SITE, "N", None)[1],
            "west": create_token(s, "west", Role.COORDINATOR, None, "west")[1],
            "east": create_token(s, "east", Role.COORDINATOR, None, "east")[1],
            "admin": create_token(s, "admin", Role.ADMIN, None, None)[1],
        }


def place(db: Database, site: str) -> None:
    with db.transaction() as s:
        orders.place_order(s, site, "X", 2, Priority.NORMAL)


def test_subscribers_see_exactly_what_they_may_read(db: Database, server: str) -> None:
    token = tokens(db)
    with (
        Subscription(server, token["n"], EVENTS, {"kinds": CREATED}) as north,
        Subscription(server, token["east"], EVENTS, {"kinds": CREATED}) as east,
        Subscription(server, token["west"], EVENTS, {"site": "S", "kinds": CREATED}) as south_only,
    ):
        for site in ("N", "S", "E", "N", "E"):
            place(db, site)
        assert [e["site"]["code"] for e in north.events(2)] == ["N", "N"]
        assert [e["site"]["code"] for e in east.events(2)] == ["E", "E"]
        assert [e["site"]["code"] for e in south_only.events(1)] == ["S"]
        assert north.nothing_more() and east.nothing_more() and south_only.nothing_more()


def test_a_subscriber_reconnecting_with_its_last_id_misses_nothing(db: Database, server: str) -> None:
    token = tokens(db)
    with Subscription(server, token["west"], EVENTS, {"kinds": CREATED}) as first:
        place(db, "N")
        (seen,) = first.events(1)
    for site in ("S", "E", "N", "S"):  # while it is away (E is not west's)
        place(db, site)
    with Subscription(server, token["west"], EVENTS, {"after": seen["id"], "kinds": CREATED}) as again:
        missed = again.events(3)
        assert [e["site"]["code"] for e in missed] == ["S", "N", "S"]
        assert len({e["id"] for e in [seen, *missed]}) == 4  # once each
        place(db, "N")  # then live
        assert again.next_event()["site"]["code"] == "N"
        assert again.nothing_more()


def test_a_client_subscribing_after_the_cursor_it_read_before_loading_misses_nothing(db: Database, server: str) -> None:
    """Read `eventCursor`, load (meanwhile others commit), then subscribe after the cursor: what committed while
    the client loaded comes first, then the live events. An empty outbox has a cursor too."""
    token = tokens(db)
    west = Client(server, token["west"])
    empty = west.gql("{ eventCursor }")["eventCursor"]
    place(db, "N")
    with Subscription(server, token["west"], EVENTS, {"after": empty, "kinds": CREATED}) as first:
        assert first.next_event()["site"]["code"] == "N"
    cursor = west.gql("{ eventCursor }")["eventCursor"]
    place(db, "S")  # while the client loads
    with Subscription(server, token["west"], EVENTS, {"after": cursor, "kinds": CREATED}) as again:
        assert again.next_event()["site"]["code"] == "S"
        place(db, "N")
        assert again.next_event()["site"]["code"] == "N"
        assert again.nothing_more()
    assert Client(server, token["n"]).gql("{ eventCursor }")["eventCursor"]  # any signed-in caller may read it


def test_the_contract_subscription_and_its_limits(db: Database, server: str) -> None:
    token = tokens(db)
    with Subscription(server, token["admin"], operations()["Events"], {"kinds": ["BACKORDER_CREATED"]}) as live:
        place(db, "E")
        event = live.next_event()
        assert event["kind"] == "BACKORDER_CREATED" and event["item"] == {"sku": "X"}
    deep = "subscription { events { " + "transfer { fromSite { " * 8 + "code" + " } }" * 8 + " id } }"
    with Subscription(server, token["admin"], deep) as refused:
        answer = refused.message()
        assert answer["type"] == "error" and "depth" in json.dumps(answer["payload"]).lower()
    aliases = "subscription { events { " + " ".join(f"a{i}: id" for i in range(60)) + " } }"
    with Subscription(server, token["admin"], aliases) as refused:
        answer = refused.message()
        assert answer["type"] == "error" and "alias" in json.dumps(answer["payload"]).lower()


def test_a_bad_token_is_refused(db: Database, server: str) -> None:
    tokens(db)
    with pytest.raises(ConnectionClosed) as closed, Subscription(server, "not-a-token", EVENTS):
        pass
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_a_subscriber_that_stops_reading_is_dropped_not_waited_for(db: Database) -> None:
    async def scenario() -> None:
        hub = Hub(db, poll_every=60, queue_size=3)
        closed: list[int] = []
        slow = hub.subscribe(lambda: closed.append(TOO_SLOW))
        quick = hub.subscribe(lambda: closed.append(0))
        now = utcnow()
        for i in range(1, 6):
            event = LiveEvent(
                i, EventKind.PLAN_SAVED, now, "west", None, None, None, None, None, None, None, i, None, None
            )
            hub._publish([event])
            if not quick.dropped:
                quick.queue.get_nowait()  # this one keeps up
        assert slow.dropped and closed == [TOO_SLOW] and slow not in hub.subscribers
        assert not quick.dropped and quick in hub.subscribers

    asyncio.run(scenario())
