"""Every operation of examples/operations.graphql, exactly as written, over HTTP, with its answers checked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from graphql import parse, validate

from api.graphql.schema import schema
from models import EventKind
from tests.api.conftest import EXAMPLES, Client, operations
from tests.api.live import Subscription


def test_the_contract_file_is_valid_against_the_schema() -> None:
    """The project's examples/operations.graphql is the contract; it needs nothing outside the repository."""
    document = parse(EXAMPLES.read_text())
    assert validate(schema._schema, document) == []
    assert len(operations()) == len(document.definitions)  # every definition is a named operation


def test_every_example_operation(admin: Client, server: str) -> None:
    ran = set()

    def run(client: Client, name: str, **variables: object) -> dict:
        ran.add(name)
        data = client.op(name, **variables)
        (payload,) = data.values()
        if isinstance(payload, dict) and "errors" in payload:
            assert payload["errors"] == [], (name, payload["errors"])
        return payload

    for code, region in (("LAB-N", "west"), ("LAB-S", "west"), ("LAB-E", "east")):
        site = run(
            admin,
            "CreateSite",
            input={"code": code, "name": f"{code} lab", "region": region, "latitude": 51.5, "longitude": -0.1},
        )["site"]
        assert (site["code"], site["region"]) == (code, region) and site["id"]
    item = run(
        admin,
        "CreateItem",
        input={
            "sku": "RGT-001",
            "name": "PCR master mix",
            "unit": "kit",
            "unitCost": "42.50",
            "supplierLeadTimeDays": 10,
            "purchasable": True,
        },
    )["item"]
    assert (item["sku"], item["unitCost"], item["supplierLeadTimeDays"], item["purchasable"]) == (
        "RGT-001",
        "42.50",
        10,
        True,
    )
    run(
        admin,
        "CreateItem",
        input={
            "sku": "SWB-010",
            "name": "Swab",
            "unit": "each",
            "unitCost": "0.80",
            "supplierLeadTimeDays": 3,
            "purchasable": True,
        },
    )
    lane = run(
        admin,
        "SetLane",
        input={"fromSite": "LAB-N", "toSite": "LAB-S", "unitCost": "1.20", "leadTimeHours": 6, "capacity": None},
    )["lane"]
    assert lane == {
        "fromSite": {"code": "LAB-N"},
        "toSite": {"code": "LAB-S"},
        "unitCost": "1.20",
        "leadTimeHours": 6,
        "capacity": None,
        "active": True,
    }

    def token(**input: object) -> Client:
        made = run(admin, "CreateApiToken", input=input)
        assert made["apiToken"]["role"] == input["role"] and made["token"].startswith("sp_")
        return Client(server, made["token"])

    north = token(name="north lab LIMS", role="SITE", site="LAB-N")
    south = token(name="south lab LIMS", role="SITE", site="LAB-S")
    west = token(name="west coordinator", role="COORDINATOR", region="west")

    level = run(
        north, "SetStockPolicy", input={"site": "LAB-N", "sku": "RGT-001", "safetyStock": 5, "reorderPoint": 8}
    )["stockLevel"]
    assert level == {
        "onHand": 0,
        "available": 0,
        "safetyStock": 5,
        "reorderPoint": 8,
        "orderUpTo": 0,
        "policyMode": "MANUAL",
        "serviceLevel": pytest.approx(0.95),
    }
    level = run(
        north,
        "RecordMovement",
        input={"site": "LAB-N", "sku": "RGT-001", "quantity": 40, "reason": "RECEIPT", "note": "delivery 123"},
    )["stockLevel"]
    assert level == {
        "site": {"code": "LAB-N"},
        "item": {"sku": "RGT-001"},
        "onHand": 40,
        "reserved": 0,
        "available": 40,
        "incoming": 0,
    }

    placed = run(
        south,
        "PlaceOrder",
        input={
            "site": "LAB-S",
            "sku": "RGT-001",
            "quantity": 12,
            "priority": "CRITICAL",
            "neededBy": "2026-12-01T08:00:00Z",
            "reference": "req-7781",
        },
    )
    assert placed["filledQuantity"] == 0
    assert {k: placed["backorder"][k] for k in ("quantity", "status", "priority")} == {
        "quantity": 12,
        "status": "OPEN",
        "priority": "CRITICAL",
    }
    critical_backorder = placed["backorder"]["id"]
    run(south, "PlaceOrder", input={"site": "LAB-S", "sku": "SWB-010", "quantity": 5})

    alerts = south.op("Alerts", site="LAB-S", first=10)["alerts"]
    ran.add("Alerts")
    raised = [(e["node"]["kind"], e["node"]["severity"], e["node"]["item"]["sku"]) for e in alerts["edges"]]
    assert ("CRITICAL_BACKORDER_UNCOVERED", "CRITICAL", "RGT-001") in raised
    assert [severity for _, severity, _ in raised] == sorted(
        (severity for _, severity, _ in raised), key=["CRITICAL", "WARNING", "INFO"].index
    )
    (uncovered,) = [e["node"] for e in alerts["edges"] if e["node"]["kind"] == "CRITICAL_BACKORDER_UNCOVERED"]
    assert uncovered["backorder"] == {"id": critical_backorder} and uncovered["site"] == {"code": "LAB-S"}
    assert uncovered["message"] and uncovered["raisedAt"] and alerts["pageInfo"]["hasNextPage"] is False

    stock = north.op("SiteStock", site="LAB-N", first=10)["stockLevels"]
    ran.add("SiteStock")
    assert [e["node"] for e in stock["edges"]] == [
        {
            "item": {"sku": "RGT-001"},
            "onHand": 40,
            "reserved": 0,
            "available": 40,
            "incoming": 0,
            "safetyStock": 5,
            "reorderPoint": 8,
            "surplus": 35,
        }
    ]
    assert stock["pageInfo"]["hasNextPage"] is False
    who = south.op("WhoHasIt", sku="RGT-001")["stockLevels"]["edges"]
    ran.add("WhoHasIt")
    assert {e["node"]["site"]["code"]: (e["node"]["available"], e["node"]["surplus"]) for e in who} == {
        "LAB-N": (40, 35),
        "LAB-S": (0, 0),
    }

    plan = run(west, "Rebalance", input={"region": "west", "mode": "POOL_FIRST", "skus": None, "dryRun": False})["plan"]
    assert (plan["status"], plan["mode"]) == ("CURRENT", "POOL_FIRST")
    summary = plan["summary"]
    assert {k: summary[k] for k in ("unitsRequested", "unitsByTransfer", "unitsByReorder", "unitsUnmet")} == {
        "unitsRequested": 17,
        "unitsByTransfer": 12,
        "unitsByReorder": 5,
        "unitsUnmet": 0,
    }
    money = {k: Decimal(summary[k]) for k in ("transferCost", "reorderCost", "totalCost", "allExternalCost", "savings")}
    assert money == {
        "transferCost": Decimal("14.40"),
        "reorderCost": Decimal("4.00"),
        "totalCost": Decimal("18.40"),
        "allExternalCost": Decimal("514.00"),
        "savings": Decimal("495.60"),
    }
    (transfer,) = plan["transfers"]
    assert (transfer["fromSite"], transfer["toSite"], transfer["item"], transfer["quantity"], transfer["status"]) == (
        {"code": "LAB-N"},
        {"code": "LAB-S"},
        {"sku": "RGT-001"},
        12,
        "SUGGESTED",
    )
    assert transfer["allocations"] == [{"backorder": {"id": critical_backorder}, "quantity": 12}]
    (reorder,) = plan["reorders"]
    assert (reorder["site"], reorder["item"], reorder["quantity"]) == ({"code": "LAB-S"}, {"sku": "SWB-010"}, 5)
    assert plan["unmet"] == []

    pending = west.op("PendingTransfers", region="west")["transfers"]["edges"]
    ran.add("PendingTransfers")
    assert [e["node"]["id"] for e in pending] == [transfer["id"]]

    approved = run(west, "ApproveTransfers", input={"ids": [transfer["id"]]})
    assert approved["transfers"] == [{"id": transfer["id"], "status": "APPROVED"}]
    status = south.op("BackorderStatus", id=critical_backorder)["node"]
    ran.add("BackorderStatus")
    assert (status["status"], status["open"], status["covered"]) == ("COVERED", 0, 12)
    (cover,) = status["coveredBy"]
    assert cover["quantity"] == 12 and cover["transfer"] == {
        "id": transfer["id"],
        "status": "APPROVED",
        "fromSite": {"code": "LAB-N"},
    }
    assert cover["reorder"] is None and status["expectedBy"] == cover["expectedAt"] is not None
    remaining = south.op("Alerts", site="LAB-S")["alerts"]["edges"]
    assert "CRITICAL_BACKORDER_UNCOVERED" not in {e["node"]["kind"] for e in remaining}
    open_now = west.op("OpenBackorders", region="west", first=10)["backorders"]
    ran.add("OpenBackorders")
    assert [(e["node"]["item"]["sku"], e["node"]["open"]) for e in open_now["edges"]] == [("SWB-010", 5)]

    shipped = run(north, "ShipTransfer", input={"id": transfer["id"]})["transfer"]
    assert shipped["status"] == "SHIPPED" and shipped["shippedAt"]
    received = run(south, "ReceiveTransfer", input={"id": transfer["id"], "quantityReceived": 12})["transfer"]
    assert (received["status"], received["quantityReceived"]) == ("RECEIVED", 12) and received["receivedAt"]

    assert run(west, "ApproveReorders", input={"ids": [reorder["id"]]})["reorders"] == [
        {"id": reorder["id"], "status": "ORDERED"}
    ]
    assert run(south, "ReceiveReorder", input={"id": reorder["id"], "quantityReceived": 5})["reorder"] == {
        "id": reorder["id"],
        "status": "RECEIVED",
    }

    figures = west.op("Figures", region="west")["kpis"]
    ran.add("Figures")
    assert figures["ordersPlaced"] == 2 and figures["ordersBackordered"] == 2
    assert figures["backorderRate"] == pytest.approx(1.0) and figures["fillRate"] == pytest.approx(0.0)
    assert (figures["openBackorderUnits"], figures["unitsPooled"], figures["unitsReordered"]) == (0, 12, 5)
    assert figures["pooledShare"] == pytest.approx(12 / 17)
    assert Decimal(figures["savings"]) == Decimal("495.60")

    ledger = south.op("Ledger", site="LAB-S", sku="RGT-001")["movements"]["edges"]
    ran.add("Ledger")
    assert [(e["node"]["quantity"], e["node"]["reason"]) for e in ledger] == [
        (-12, "BACKORDER_FILL"),
        (12, "TRANSFER_IN"),
    ]

    hook = run(
        west,
        "CreateWebhook",
        input={"url": "https://lims.example/hooks/stock", "kinds": ["BACKORDER_CREATED"], "region": "west"},
    )
    assert hook["secret"].startswith("whsec_") and hook["webhook"]["kinds"] == ["BACKORDER_CREATED"]
    records = [k.value for k in EventKind if not k.startswith(("ALERT_", "STOCK_POLICY"))]  # alerts: tested elsewhere
    live = Subscription(server, south.token, operations()["Events"], {"site": "LAB-S", "kinds": records})
    ran.add("Events")

    again = run(south, "PlaceOrder", input={"site": "LAB-S", "sku": "RGT-001", "quantity": 3})
    second = run(west, "Rebalance", input={"region": "west", "dryRun": False})["plan"]["transfers"]
    rejected = run(west, "RejectTransfers", input={"ids": [second[0]["id"]], "reason": "courier strike"})
    assert rejected["transfers"] == [{"id": second[0]["id"], "status": "REJECTED"}]
    cancelled = run(south, "CancelBackorder", input={"id": again["backorder"]["id"], "reason": "no longer needed"})
    assert cancelled["backorder"] == {"id": again["backorder"]["id"], "status": "CANCELLED"}

    with live:  # what LAB-S may read (not the region's PLAN_SAVED)
        seen = live.events(3)
    assert [(e["kind"], e["site"]) for e in seen] == [
        ("BACKORDER_CREATED", {"code": "LAB-S"}),
        ("TRANSFER_REJECTED", {"code": "LAB-N"}),
        ("BACKORDER_CANCELLED", {"code": "LAB-S"}),
    ]
    assert seen[0]["backorder"]["id"] == again["backorder"]["id"]
    assert seen[2]["backorder"] == {"id": again["backorder"]["id"], "status": "CANCELLED", "expectedBy": None}
    assert seen[1]["transfer"] == {"id": second[0]["id"], "status": "REJECTED"}

    deliveries = west.op("WebhookDeliveries", id=hook["webhook"]["id"])["node"]
    ran.add("WebhookDeliveries")
    assert deliveries["url"] == "https://lims.example/hooks/stock" and deliveries["active"]
    # Preventing backorders: lending balances, a donor's sharing rule, a proactive dry run.
    balances = {b["site"]["code"]: b for b in run(west, "Lending", region="west", since=None)}
    assert (balances["LAB-N"]["unitsLent"], balances["LAB-N"]["valueLent"]) == (12, "510.00")
    assert (balances["LAB-S"]["unitsBorrowed"], balances["LAB-S"]["valueBorrowed"]) == (12, "510.00")
    shared = {"site": "LAB-N", "sku": None, "share": "SURPLUS", "keepDaysOfCover": 14, "maxUnitsPerPlan": 50}
    rule = run(north, "SetSharingPolicy", input=shared)["sharingPolicy"]
    assert rule == {"site": {"code": "LAB-N"}, "item": None, **{k: shared[k] for k in list(shared)[2:]}}
    run(south, "SetStockPolicy", input={"site": "LAB-S", "sku": "RGT-001", "safetyStock": 0, "reorderPoint": 4})
    proactive = {"region": "west", "mode": "POOL_FIRST", "proactive": True, "dryRun": True}
    plan = run(west, "ProactiveRebalance", input=proactive)["plan"]
    (move,) = plan["transfers"]
    assert (move["reason"], move["quantity"], move["fromSite"], move["toSite"]) == (
        "REPLENISH",
        4,
        {"code": "LAB-N"},
        {"code": "LAB-S"},
    )
    assert Decimal(move["savingsVsBuying"]) == 4 * (Decimal("42.50") - Decimal("1.20"))
    assert plan["summary"]["unitsProactive"] == 4 and plan["reorders"] == [] and plan["unmet"] == []
    # LAB-S asked 12 + 3 units of RGT-001 today: one demand day in 90, an intermittent series.
    forecast = south.op("DemandForecast", site="LAB-S", sku="RGT-001")["forecast"]
    ran.add("DemandForecast")
    assert (forecast["site"], forecast["item"]) == ({"code": "LAB-S"}, {"sku": "RGT-001"})
    assert (forecast["demandClass"], forecast["historyDays"], forecast["leadTimeDays"]) == ("INTERMITTENT", 90, 10)
    assert forecast["method"] in ("CROSTON_SBA", "TSB", "SES") and forecast["dailyMean"] > 0
    assert forecast["serviceLevel"] == pytest.approx(0.95) and forecast["backtestError"] is not None
    rop, ss = forecast["suggestedReorderPoint"], forecast["suggestedSafetyStock"]
    assert 0 <= ss <= rop <= forecast["suggestedOrderUpTo"]
    assert forecast["projectedStockoutAt"] is not None  # nothing on the shelf, nothing coming
    managed = run(
        west, "SetStockPolicy", input={"site": "LAB-S", "sku": "RGT-001", "mode": "FORECAST", "serviceLevel": 0.98}
    )["stockLevel"]
    after = south.op("DemandForecast", site="LAB-S", sku="RGT-001")["forecast"]
    assert after["serviceLevel"] == pytest.approx(0.98) and after["suggestedReorderPoint"] >= rop
    assert (managed["policyMode"], managed["serviceLevel"]) == ("FORECAST", pytest.approx(0.98))
    assert (managed["safetyStock"], managed["reorderPoint"], managed["orderUpTo"]) == (
        after["suggestedSafetyStock"],
        after["suggestedReorderPoint"],
        after["suggestedOrderUpTo"],
    )

    assert ran == set(operations()), set(operations()) - ran
