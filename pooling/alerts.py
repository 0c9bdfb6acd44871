"""Alerts: conditions a person should act on, raised when they start and closed when they end.

Each rule looks at one subject (a stock level, a backorder, a transfer, a reorder, a region) and says which alerts
it wants open now; `_reconcile` closes the open alerts of those subjects that are no longer wanted and raises the
missing ones. Raising is `INSERT ... ON CONFLICT (open_key) DO NOTHING`: a second transaction raising the same
alert at the same time waits for the first and then does nothing, so an open alert is never duplicated. Every
raise and close writes its ALERT_RAISED / ALERT_CLOSED event in the same transaction.

Rules run at the commit of every change that can start or end them (`pooling.alerting` collects the touched rows)
and, for the conditions time alone starts, in `sweep` (the server runs it every few minutes, the nightly command
once).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import (
    Alert,
    AlertKind,
    AlertSeverity,
    Backorder,
    EventKind,
    Forecast,
    Item,
    Priority,
    Reorder,
    ReorderStatus,
    Site,
    StockLevel,
    Transfer,
    TransferStatus,
    utcnow,
)
from pooling import events, kpis, positions
from pooling.backorders import HAS_OPEN
from pooling.expected import reorder_expected_at, transfer_expected
from pooling.ledger import Pair

SEVERITY = {
    AlertKind.BELOW_REORDER_POINT: AlertSeverity.WARNING,
    AlertKind.STOCKOUT: AlertSeverity.CRITICAL,
    AlertKind.STOCKOUT_RISK: AlertSeverity.WARNING,
    AlertKind.CRITICAL_BACKORDER_UNCOVERED: AlertSeverity.CRITICAL,
    AlertKind.SUGGESTION_AWAITING_APPROVAL: AlertSeverity.INFO,
    AlertKind.TRANSFER_WAITING_TO_SHIP: AlertSeverity.WARNING,
    AlertKind.TRANSFER_OVERDUE: AlertSeverity.WARNING,
    AlertKind.REORDER_OVERDUE: AlertSeverity.WARNING,
    AlertKind.BACKORDER_RATE_HIGH: AlertSeverity.WARNING,
    AlertKind.WEBHOOK_DISABLED: AlertSeverity.WARNING,
}
LEVEL_KINDS = (AlertKind.BELOW_REORDER_POINT, AlertKind.STOCKOUT, AlertKind.STOCKOUT_RISK)
BACKORDER_KINDS = (AlertKind.CRITICAL_BACKORDER_UNCOVERED,)
TRANSFER_KINDS = (
    AlertKind.SUGGESTION_AWAITING_APPROVAL,
    AlertKind.TRANSFER_WAITING_TO_SHIP,
    AlertKind.TRANSFER_OVERDUE,
)
REORDER_KINDS = (AlertKind.SUGGESTION_AWAITING_APPROVAL, AlertKind.REORDER_OVERDUE)
REGION_KINDS = (AlertKind.BACKORDER_RATE_HIGH,)
CHUNK = 500

# Settings


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: str, name: str) -> timedelta:
    """`3600`, `3600s`, `60m`, `1h` or `1d`: a positive duration; ValueError naming the setting otherwise."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value.lower())
    seconds = float(match[1]) * _UNITS[match[2] or "s"] if match else 0
    if seconds <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, or with a unit (90m, 24h, 7d): {value!r}")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class AlertSettings:
    """Ages, grace and thresholds of the alert rules; `from_environment` reads the STOCKPOOL_ALERT_* variables."""

    suggestion_age: timedelta = timedelta(hours=24)
    overdue_grace: timedelta = timedelta(hours=12)
    backorder_rate_threshold: float = 0.2
    backorder_rate_period: timedelta = timedelta(days=7)
    backorder_rate_min_orders: int = 10
    sweep_every: timedelta = timedelta(minutes=5)

    @classmethod
    def from_environment(cls) -> AlertSettings:
        env = os.environ
        base = cls()
        durations = {
            "suggestion_age": "STOCKPOOL_ALERT_SUGGESTION_AGE",
            "overdue_grace": "STOCKPOOL_ALERT_OVERDUE_GRACE",
            "backorder_rate_period": "STOCKPOOL_ALERT_BACKORDER_RATE_PERIOD",
            "sweep_every": "STOCKPOOL_ALERT_SWEEP_EVERY",
        }
        values: dict[str, Any] = {}
        for name, variable in durations.items():
            if env.get(variable, "").strip():
                values[name] = parse_duration(env[variable], variable)
        if env.get("STOCKPOOL_ALERT_BACKORDER_RATE", "").strip():
            rate = float(env["STOCKPOOL_ALERT_BACKORDER_RATE"])
            if not 0 <= rate <= 1:
                raise ValueError(f"STOCKPOOL_ALERT_BACKORDER_RATE must be a fraction 0..1: {rate!r}")
            values["backorder_rate_threshold"] = rate
        if env.get("STOCKPOOL_ALERT_BACKORDER_RATE_MIN_ORDERS", "").strip():
            least = int(env["STOCKPOOL_ALERT_BACKORDER_RATE_MIN_ORDERS"])
            if least < 1:
                raise ValueError(f"STOCKPOOL_ALERT_BACKORDER_RATE_MIN_ORDERS must be at least 1: {least!r}")
            values["backorder_rate_min_orders"] = least
        return cls(**{**base.__dict__, **values})


_configured: AlertSettings | None = None


def configure(settings: AlertSettings | None) -> None:
    """The settings this process's rules use (None: from the environment again)."""
    global _configured
    _configured = settings


def current_settings() -> AlertSettings:
    return _configured or AlertSettings.from_environment()


# Raising and closing


@dataclass(frozen=True)
class Wanted:
    """An alert a rule wants open."""

    kind: AlertKind
    subject: str
    message: str
    region: str | None = None
    site_id: int | None = None
    item_id: int | None = None
    backorder_id: int | None = None
    transfer_id: int | None = None
    reorder_id: int | None = None
    data: dict[str, Any] | None = field(default=None, hash=False)

    @property
    def open_key(self) -> str:
        return open_key(self.kind, self.subject)


def open_key(kind: AlertKind, subject: str) -> str:
    return f"{kind.value}:{subject}"


def raise_alert(
    session: Session,
    kind: AlertKind,
    subject: str,
    message: str,
    *,
    region: str | None = None,
    site_id: int | None = None,
    item_id: int | None = None,
    backorder_id: int | None = None,
    transfer_id: int | None = None,
    reorder_id: int | None = None,
    data: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> int | None:
    """Open the alert `kind` about `subject` (e.g. "webhook:12") unless it is open already; its id when it was
    raised now (an ALERT_RAISED event is written with it), None when it was open."""
    wanted = Wanted(kind, subject, message, region, site_id, item_id, backorder_id, transfer_id, reorder_id, data)
    return _raise(session, wanted, now or utcnow())


def close_alert(session: Session, kind: AlertKind, subject: str, now: datetime | None = None) -> bool:
    """Close the open alert `kind` about `subject`, if there is one (an ALERT_CLOSED event is written)."""
    ids = session.scalars(select(Alert.id).where(Alert.open_key == open_key(kind, subject))).all()
    return bool(_close(session, list(ids), now or utcnow()))


def _raise(session: Session, wanted: Wanted, now: datetime) -> int | None:
    return _raise_many(session, [wanted], now).get(wanted.open_key)


def _raise_many(session: Session, wanted: Sequence[Wanted], now: datetime) -> dict[str, int]:
    """Insert the alerts not open already, in one statement; the ids of those raised now, by open key, each with its
    ALERT_RAISED event."""
    if not wanted:
        return {}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    values = [
        {
            "kind": w.kind,
            "severity": SEVERITY[w.kind],
            "severity_rank": SEVERITY[w.kind].rank,
            "subject": w.subject,
            "open_key": w.open_key,
            "region": w.region,
            "site_id": w.site_id,
            "item_id": w.item_id,
            "backorder_id": w.backorder_id,
            "transfer_id": w.transfer_id,
            "reorder_id": w.reorder_id,
            "message": w.message[:500],
            "data": w.data,
            "raised_at": now,
        }
        for w in wanted
    ]
    # One statement compiled once (cached), sent in batches ("insertmanyvalues"), returning the rows inserted.
    statement = (
        insert(cast(Table, Alert.__table__))
        .on_conflict_do_nothing(index_elements=[Alert.open_key])
        .returning(Alert.id, Alert.open_key)
    )
    raised = {str(key): int(pk) for pk, key in session.execute(statement, values)}
    for w in wanted:
        if (alert_id := raised.get(w.open_key)) is not None:
            events.record(
                session,
                EventKind.ALERT_RAISED,
                region=w.region,
                site_id=w.site_id,
                item_id=w.item_id,
                backorder_id=w.backorder_id,
                transfer_id=w.transfer_id,
                reorder_id=w.reorder_id,
                alert_id=alert_id,
                data={"kind": w.kind.value, "severity": SEVERITY[w.kind].value, "message": w.message},
            )
    return raised


def _close(session: Session, ids: Sequence[int], now: datetime) -> int:
    """Close those still open (another transaction may have closed one meanwhile); how many were closed."""
    if not ids:
        return 0
    closed = session.execute(
        update(Alert)
        .where(Alert.id.in_(list(ids)), Alert.closed_at.is_(None))
        .values(closed_at=now, open_key=None)
        .returning(
            Alert.id,
            Alert.kind,
            Alert.severity,
            Alert.region,
            Alert.site_id,
            Alert.item_id,
            Alert.backorder_id,
            Alert.transfer_id,
            Alert.reorder_id,
        ),
        execution_options={"synchronize_session": False},
    ).all()
    for row in closed:
        events.record(
            session,
            EventKind.ALERT_CLOSED,
            region=row.region,
            site_id=row.site_id,
            item_id=row.item_id,
            backorder_id=row.backorder_id,
            transfer_id=row.transfer_id,
            reorder_id=row.reorder_id,
            alert_id=row.id,
            data={"kind": AlertKind(row.kind).value, "severity": AlertSeverity(row.severity).value},
        )
    return len(closed)


def _reconcile(
    session: Session, kinds: Sequence[AlertKind], subjects: Iterable[str], wanted: Iterable[Wanted], now: datetime
) -> None:
    """Make the open alerts of `kinds` about `subjects` exactly the wanted ones."""
    subjects = sorted(set(subjects))
    wanted_by_key = {w.open_key: w for w in wanted}
    open_by_key: dict[str, int] = {}
    read: dict[str, list[tuple[AlertKind, int, str]]] | None = session.info.get(_OPEN)
    if read is not None and all(subject in read for subject in subjects):
        for subject in subjects:  # read once for every rule (`open_alerts_read_once`), used once: it changes now
            open_by_key.update((key, pk) for kind, pk, key in read.pop(subject) if kind in kinds)
        subjects = []
    for chunk in _chunks(subjects):
        open_by_key.update(
            (key, pk)
            for pk, key in session.execute(
                select(Alert.id, Alert.open_key).where(
                    Alert.subject.in_(chunk), Alert.kind.in_(kinds), Alert.closed_at.is_(None)
                )
            )
            if key is not None
        )
    _close(session, sorted(pk for key, pk in open_by_key.items() if key not in wanted_by_key), now)
    missing = [wanted_by_key[key] for key in sorted(wanted_by_key) if key not in open_by_key]
    for chunk in _chunks(missing, 200):
        _raise_many(session, chunk, now)


_OPEN = "stockpool.alerts.open"  # session.info: subject -> its open alerts (kind, id, open key), read in advance


@contextmanager
def open_alerts_read_once(session: Session, subjects: Iterable[str]) -> Iterator[None]:
    """Inside: the rules find the open alerts of these subjects read in one query for all of them (instead of one
    query per rule); a subject's are used by the first rule that reconciles it, later ones read afresh."""
    read: dict[str, list[tuple[AlertKind, int, str]]] = {subject: [] for subject in subjects}
    for chunk in _chunks(sorted(read)):
        for pk, key, subject, kind in session.execute(
            select(Alert.id, Alert.open_key, Alert.subject, Alert.kind).where(
                Alert.subject.in_(chunk), Alert.closed_at.is_(None)
            )
        ):
            if key is not None:
                read[subject].append((AlertKind(kind), pk, key))
    session.info[_OPEN] = read
    try:
        yield
    finally:
        session.info.pop(_OPEN, None)


def subjects(
    pairs: Iterable[Pair] = (),
    backorders: Iterable[int] = (),
    transfers: Iterable[int] = (),
    reorders: Iterable[int] = (),
    regions: Iterable[str] = (),
) -> list[str]:
    """The alert subjects of these records, as the rules below name them."""
    return [
        *(level_subject(*pair) for pair in pairs),
        *(f"backorder:{pk}" for pk in backorders),
        *(f"transfer:{pk}" for pk in transfers),
        *(f"reorder:{pk}" for pk in reorders),
        *(f"region:{region}" for region in regions),
    ]


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


# The rules, one subject kind each


def level_subject(site_id: int, item_id: int) -> str:
    return f"level:{site_id}:{item_id}"


def evaluate_levels(session: Session, pairs: Iterable[Pair], now: datetime | None = None) -> None:
    """BELOW_REORDER_POINT, STOCKOUT and STOCKOUT_RISK of these (site, item) pairs.

    - BELOW_REORDER_POINT: a reorder point is set and available + incoming is below it.
    - STOCKOUT: nothing available where the site keeps the item (a safety stock or reorder point) or waits for it.
    - STOCKOUT_RISK: a forecast with demand, and available + incoming lasts fewer days at its daily mean than the
      item's supplier lead time.
    """
    moment = now or utcnow()
    for chunk in _chunks(sorted(set(pairs))):
        _evaluate_levels(session, chunk, moment)


def _evaluate_levels(session: Session, pairs: list[Pair], now: datetime) -> None:
    rows = session.execute(
        select(StockLevel, Site.code, Site.region, Item.sku, Item.supplier_lead_time_days, Forecast.daily_mean)
        .join(Site, Site.id == StockLevel.site_id)
        .join(Item, Item.id == StockLevel.item_id)
        .outerjoin(Forecast, and_(Forecast.site_id == StockLevel.site_id, Forecast.item_id == StockLevel.item_id))
        .where(tuple_(StockLevel.site_id, StockLevel.item_id).in_(pairs))
    ).all()
    # Incoming units and waiting backorders are read only where they can change the answer (incoming is never
    # negative: a level at or above its thresholds on available stock alone needs no more).
    unsure = [
        (level.site_id, level.item_id)
        for level, _, _, _, lead_days, rate in rows
        if level.available <= 0 or level.available < level.reorder_point or level.available < (rate or 0.0) * lead_days
    ]
    incoming = positions.incoming(session, unsure)
    waiting = positions.waiting(
        session, [(lv.site_id, lv.item_id) for lv, *_ in rows if lv.available <= 0 and not lv.reorder_point]
    )
    wanted: list[Wanted] = []
    for level, code, region, sku, lead_days, forecast_rate in rows:
        pair = (level.site_id, level.item_id)
        available, coming = level.on_hand - level.reserved, incoming.get(pair, 0)
        position = available + coming
        common: dict[str, Any] = {
            "subject": level_subject(*pair),
            "region": region,
            "site_id": level.site_id,
            "item_id": level.item_id,
        }
        figures = {"available": available, "incoming": coming}
        if level.reorder_point > 0 and position < level.reorder_point:
            wanted.append(
                Wanted(
                    AlertKind.BELOW_REORDER_POINT,
                    message=f"{code} has {available} {sku} available and {coming} incoming, below its reorder point "
                    f"of {level.reorder_point}: rebalance the region or order more.",
                    data={**figures, "reorderPoint": level.reorder_point},
                    **common,
                )
            )
        keeps = level.reorder_point > 0 or level.safety_stock > 0 or pair in waiting
        if available <= 0 and keeps:
            wanted.append(
                Wanted(
                    AlertKind.STOCKOUT,
                    message=f"{code} has no {sku} available ({coming} incoming): send some from a sister site or "
                    f"order it.",
                    data=figures,
                    **common,
                )
            )
        rate = forecast_rate or 0.0
        if rate > 0 and position < rate * lead_days:
            wanted.append(
                Wanted(
                    AlertKind.STOCKOUT_RISK,
                    message=f"At the forecast {rate:.2f} a day, the {position} {sku} available and incoming at {code} "
                    f"last {position / rate:.1f} days, less than the {lead_days}-day supplier lead time: order or "
                    f"rebalance now.",
                    data={**figures, "dailyMean": rate, "leadTimeDays": lead_days},
                    **common,
                )
            )
    _reconcile(session, LEVEL_KINDS, subjects(pairs=pairs), wanted, now)


def evaluate_backorders(session: Session, ids: Iterable[int], now: datetime | None = None) -> None:
    """CRITICAL_BACKORDER_UNCOVERED: a CRITICAL backorder with units neither fulfilled nor covered."""
    moment = now or utcnow()
    for chunk in _chunks(sorted(set(ids))):
        wanted = [
            Wanted(
                AlertKind.CRITICAL_BACKORDER_UNCOVERED,
                f"backorder:{bo.id}",
                f"A CRITICAL backorder at {code} has {bo.open} of {bo.quantity} {sku} uncovered"
                + (f" (reference {bo.reference})" if bo.reference else "")
                + ": rebalance and approve a transfer or a reorder for it.",
                region=region,
                site_id=bo.site_id,
                item_id=bo.item_id,
                backorder_id=bo.id,
                data={"open": bo.open},
            )
            for bo, code, region, sku in session.execute(
                select(Backorder, Site.code, Site.region, Item.sku)
                .join(Site, Site.id == Backorder.site_id)
                .join(Item, Item.id == Backorder.item_id)
                .where(
                    Backorder.id.in_(chunk),
                    Backorder.priority == Priority.CRITICAL,
                    Backorder.status.in_(HAS_OPEN),
                )
            )
            if bo.open > 0
        ]
        _reconcile(session, BACKORDER_KINDS, subjects(backorders=chunk), wanted, moment)


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.0f} h"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def evaluate_transfers(session: Session, ids: Iterable[int], now: datetime | None = None) -> None:
    """SUGGESTION_AWAITING_APPROVAL (suggested longer than the configured age), TRANSFER_WAITING_TO_SHIP (approved
    and not shipped within the sending site's handling time), TRANSFER_OVERDUE (approved or shipped, and not
    received by its expected time + the configured grace)."""
    moment, settings = now or utcnow(), current_settings()
    sender, recipient = Site.__table__.alias("sender"), Site.__table__.alias("recipient")
    for chunk in _chunks(sorted(set(ids))):
        wanted: list[Wanted] = []
        for transfer, sku, from_code, handling, from_region, to_code, to_region in session.execute(
            select(
                Transfer,
                Item.sku,
                sender.c.code,
                sender.c.handling_time_hours,
                sender.c.region,
                recipient.c.code,
                recipient.c.region,
            )
            .join(Item, Item.id == Transfer.item_id)
            .join(sender, sender.c.id == Transfer.from_site_id)
            .join(recipient, recipient.c.id == Transfer.to_site_id)
            .where(Transfer.id.in_(chunk))
        ):
            what = f"the transfer of {transfer.quantity} {sku} from {from_code} to {to_code}"
            common: dict[str, Any] = {"subject": f"transfer:{transfer.id}", "item_id": transfer.item_id}
            common["transfer_id"] = transfer.id
            if transfer.status == TransferStatus.SUGGESTED and transfer.created_at <= moment - settings.suggestion_age:
                wanted.append(
                    Wanted(
                        AlertKind.SUGGESTION_AWAITING_APPROVAL,
                        message=f"{what[0].upper()}{what[1:]} has been suggested for "
                        f"{_hours(moment - transfer.created_at)}: approve or reject it.",
                        region=to_region,
                        site_id=transfer.to_site_id,
                        **common,
                    )
                )
            due = transfer.approved_at + timedelta(hours=handling) if transfer.approved_at else None
            if transfer.status == TransferStatus.APPROVED and due is not None and moment > due:
                wanted.append(
                    Wanted(
                        AlertKind.TRANSFER_WAITING_TO_SHIP,
                        message=f"{from_code} has not shipped {what}, approved {_hours(moment - transfer.approved_at)}"
                        f" ago (handling time {handling} h): ship it or cancel it.",
                        region=from_region,
                        site_id=transfer.from_site_id,
                        **common,
                    )
                )
            expected = transfer_expected(transfer, handling, moment)
            if (
                transfer.status in (TransferStatus.APPROVED, TransferStatus.SHIPPED)
                and expected is not None
                and moment > expected + settings.overdue_grace
            ):
                wanted.append(
                    Wanted(
                        AlertKind.TRANSFER_OVERDUE,
                        message=f"{what[0].upper()}{what[1:]} was expected by {_when(expected)} and has not been "
                        f"received: check with {from_code}, then receive it or record the loss.",
                        region=to_region,
                        site_id=transfer.to_site_id,
                        data={"expectedAt": expected.isoformat()},
                        **common,
                    )
                )
        _reconcile(session, TRANSFER_KINDS, subjects(transfers=chunk), wanted, moment)


def evaluate_reorders(session: Session, ids: Iterable[int], now: datetime | None = None) -> None:
    """SUGGESTION_AWAITING_APPROVAL (suggested longer than the configured age) and REORDER_OVERDUE (ordered and not
    received by ordered + the item's supplier lead time + the configured grace)."""
    moment, settings = now or utcnow(), current_settings()
    for chunk in _chunks(sorted(set(ids))):
        wanted: list[Wanted] = []
        for reorder, sku, lead_days, code, region in session.execute(
            select(Reorder, Item.sku, Item.supplier_lead_time_days, Site.code, Site.region)
            .join(Item, Item.id == Reorder.item_id)
            .join(Site, Site.id == Reorder.site_id)
            .where(Reorder.id.in_(chunk))
        ):
            what = f"reorder of {reorder.quantity} {sku} for {code}"
            common: dict[str, Any] = {
                "subject": f"reorder:{reorder.id}",
                "region": region,
                "site_id": reorder.site_id,
                "item_id": reorder.item_id,
                "reorder_id": reorder.id,
            }
            if reorder.status == ReorderStatus.SUGGESTED and reorder.created_at <= moment - settings.suggestion_age:
                wanted.append(
                    Wanted(
                        AlertKind.SUGGESTION_AWAITING_APPROVAL,
                        message=f"The {what} has been suggested for {_hours(moment - reorder.created_at)}: approve "
                        f"or reject it.",
                        **common,
                    )
                )
            expected = reorder_expected_at(reorder.status, reorder.ordered_at, lead_days, moment)
            if (
                reorder.status == ReorderStatus.ORDERED
                and expected is not None
                and moment > expected + settings.overdue_grace
            ):
                wanted.append(
                    Wanted(
                        AlertKind.REORDER_OVERDUE,
                        message=f"The {what} was expected by {_when(expected)} and has not been received: chase the "
                        f"supplier, or receive it.",
                        data={"expectedAt": expected.isoformat()},
                        **common,
                    )
                )
        _reconcile(session, REORDER_KINDS, subjects(reorders=chunk), wanted, moment)


def evaluate_regions(session: Session, regions: Iterable[str], now: datetime | None = None) -> None:
    """BACKORDER_RATE_HIGH: over the configured period, at least the configured number of orders were placed in the
    region and the share of them backordered (pooling.kpis' backorder rate) is above the threshold."""
    moment, settings = now or utcnow(), current_settings()
    names = sorted(set(regions))
    # A region without orders in the period (or without sites) is absent: its rate is 0, it wants no alert.
    rates = kpis.backorder_rates(session, names, since=moment - settings.backorder_rate_period)
    wanted: list[Wanted] = []
    for region, figures in rates.items():
        threshold = settings.backorder_rate_threshold
        if figures.orders_placed >= settings.backorder_rate_min_orders and figures.backorder_rate > threshold:
            wanted.append(
                Wanted(
                    AlertKind.BACKORDER_RATE_HIGH,
                    f"region:{region}",
                    f"Region {region} backordered {figures.orders_backordered} of {figures.orders_placed} orders "
                    f"({figures.backorder_rate:.0%}) in the last {_hours(settings.backorder_rate_period)}, above the "
                    f"{threshold:.0%} threshold: review its reorder points and rebalance.",
                    region=region,
                    data={"backorderRate": figures.backorder_rate, "ordersPlaced": figures.orders_placed},
                )
            )
    _reconcile(session, REGION_KINDS, subjects(regions=names), wanted, moment)


# The sweep: what time alone starts or ends


def sweep(session: Session, now: datetime | None = None) -> None:
    """Evaluate the rules that time can trigger: suggestions awaiting approval, transfers waiting to ship or
    overdue, reorders overdue, regions' backorder rates; and every subject with an open alert (so none stays open
    after a change that bypassed the commit hook, e.g. a bulk load)."""
    moment, settings = now or utcnow(), current_settings()
    old = moment - settings.suggestion_age
    open_alerts = select(
        Alert.subject, Alert.transfer_id, Alert.reorder_id, Alert.backorder_id, Alert.site_id, Alert.item_id
    ).where(Alert.closed_at.is_(None))
    transfer_ids: set[int] = set()
    reorder_ids: set[int] = set()
    backorder_ids: set[int] = set()
    pairs: set[Pair] = set()
    regions: set[str] = set(session.scalars(select(Site.region).distinct()))
    for subject, transfer_id, reorder_id, backorder_id, site_id, item_id in session.execute(open_alerts):
        kind, _, _rest = subject.partition(":")
        if kind == "transfer" and transfer_id:
            transfer_ids.add(transfer_id)
        elif kind == "reorder" and reorder_id:
            reorder_ids.add(reorder_id)
        elif kind == "backorder" and backorder_id:
            backorder_ids.add(backorder_id)
        elif kind == "level" and site_id and item_id:
            pairs.add((site_id, item_id))
    transfer_ids.update(
        session.scalars(
            select(Transfer.id).where(
                or_(
                    and_(Transfer.status == TransferStatus.SUGGESTED, Transfer.created_at <= old),
                    Transfer.status.in_((TransferStatus.APPROVED, TransferStatus.SHIPPED)),
                )
            )
        )
    )
    reorder_ids.update(
        session.scalars(
            select(Reorder.id).where(
                or_(
                    and_(Reorder.status == ReorderStatus.SUGGESTED, Reorder.created_at <= old),
                    Reorder.status == ReorderStatus.ORDERED,
                )
            )
        )
    )
    evaluate_levels(session, pairs, moment)
    evaluate_backorders(session, backorder_ids, moment)
    evaluate_transfers(session, transfer_ids, moment)
    evaluate_reorders(session, reorder_ids, moment)
    evaluate_regions(session, regions, moment)


def evaluate_open_suggestions(session: Session, now: datetime | None = None) -> None:
    """Re-evaluate the transfers and reorders with an open alert (after a saved plan superseded suggestions in
    bulk, which the commit hook does not see row by row)."""
    rows = session.execute(
        select(Alert.transfer_id, Alert.reorder_id).where(
            Alert.closed_at.is_(None), Alert.kind == AlertKind.SUGGESTION_AWAITING_APPROVAL
        )
    ).all()
    evaluate_transfers(session, [t for t, _ in rows if t], now)
    evaluate_reorders(session, [r for _, r in rows if r], now)
