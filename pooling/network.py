"""Operations on the network itself (ADMIN): sites, items and lanes."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Item, Lane, Site
from models.network import DEFAULT_HANDLING_TIME_HOURS
from pooling.codes import REGION_LENGTH, SITE_CODE_LENGTH, SKU_LENGTH, checked
from pooling.errors import ErrorCode, Field, PoolingError
from pooling.history import Kind, changes, record
from pooling.ledger import check_quantity
from pooling.lookup import site_by_code
from pooling.money import CENT

MAX_MONEY = Decimal("9999999999.99")
MAX_HANDLING_TIME_HOURS = 24 * 366


def _text(value: str, field: str, longest: int) -> str:
    value = value.strip()
    if not value:
        raise PoolingError(ErrorCode.INVALID, f"{field} cannot be empty.", field)
    if len(value) > longest:
        raise PoolingError(ErrorCode.INVALID, f"{field} is longer than {longest} characters.", field)
    return value


def _money(value: Decimal | str, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise PoolingError(
            ErrorCode.INVALID, '{name} must be a decimal amount such as "42.50".', field, name=Field(field)
        ) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_MONEY or amount != amount.quantize(CENT):
        raise PoolingError(
            ErrorCode.INVALID,
            "{name} must be between 0 and {most} with at most 2 decimals.",
            field,
            name=Field(field),
            most=MAX_MONEY,
        )
    return amount


def create_site(
    session: Session,
    code: str,
    name: str,
    region: str,
    latitude: float | None = None,
    longitude: float | None = None,
    handling_time_hours: int = DEFAULT_HANDLING_TIME_HOURS,
) -> Site:
    """`handling_time_hours`: between a transfer's approval and its shipping from the site (0 to a year)."""
    code, name = checked(code, "code", SITE_CODE_LENGTH), _text(name, "name", 200)
    if not 0 <= handling_time_hours <= MAX_HANDLING_TIME_HOURS:
        raise PoolingError(
            ErrorCode.INVALID,
            "{name} must be between 0 and {most}.",
            "handling_time_hours",
            name=Field("handling_time_hours"),
            most=MAX_HANDLING_TIME_HOURS,
        )
    region = checked(region, "region", REGION_LENGTH)
    if latitude is not None and not -90 <= latitude <= 90:
        raise PoolingError(ErrorCode.INVALID, "latitude must be between -90 and 90.", "latitude")
    if longitude is not None and not -180 <= longitude <= 180:
        raise PoolingError(ErrorCode.INVALID, "longitude must be between -180 and 180.", "longitude")
    if session.scalar(select(Site.id).where(Site.code == code)) is not None:
        raise PoolingError(ErrorCode.DUPLICATE, f"A site {code!r} exists already.", "code")
    site = Site(
        code=code,
        name=name,
        region=region,
        latitude=latitude,
        longitude=longitude,
        active=True,
        handling_time_hours=handling_time_hours,
    )
    session.add(site)
    session.flush()
    return site


def create_item(
    session: Session,
    sku: str,
    name: str,
    unit_cost: Decimal | str,
    unit: str = "each",
    supplier_lead_time_days: int = 7,
    purchasable: bool = True,
) -> Item:
    sku, name, unit = checked(sku, "sku", SKU_LENGTH), _text(name, "name", 200), _text(unit, "unit", 32)
    if not 0 <= supplier_lead_time_days <= 3650:
        field = "supplier_lead_time_days"
        raise PoolingError(ErrorCode.INVALID, "{name} must be 0 to 3650.", field, name=Field(field))
    if session.scalar(select(Item.id).where(Item.sku == sku)) is not None:
        raise PoolingError(ErrorCode.DUPLICATE, f"An item {sku!r} exists already.", "sku")
    item = Item(
        sku=sku,
        name=name,
        unit=unit,
        unit_cost=_money(unit_cost, "unit_cost"),
        supplier_lead_time_days=supplier_lead_time_days,
        purchasable=purchasable,
    )
    session.add(item)
    session.flush()
    return item


def set_lane(
    session: Session,
    from_site: str,
    to_site: str,
    unit_cost: Decimal | str,
    lead_time_hours: int,
    capacity: int | None = None,
    active: bool = True,
    actor: str | None = None,
) -> Lane:
    """Create or update the directed lane between two sites."""
    origin, destination = site_by_code(session, from_site, "from_site"), site_by_code(session, to_site, "to_site")
    if origin.id == destination.id:
        raise PoolingError(ErrorCode.INVALID, "A lane joins two different sites.", "to_site")
    if not 0 <= lead_time_hours <= 24 * 365:
        field = "lead_time_hours"
        raise PoolingError(ErrorCode.INVALID, "{name} must be 0 to 8760.", field, name=Field(field))
    if capacity is not None:
        check_quantity(capacity, "capacity")
    lane = session.scalar(select(Lane).where(Lane.from_site_id == origin.id, Lane.to_site_id == destination.id))
    created = lane is None
    if lane is None:
        lane = Lane(from_site=origin, to_site=destination)
        session.add(lane)
    before = {} if created else _terms(lane)
    lane.unit_cost = _money(unit_cost, "unit_cost")
    lane.lead_time_hours = lead_time_hours
    lane.capacity = capacity
    lane.active = active
    session.flush()
    old, new = changes(before, _terms(lane))
    if new:
        record(session, Kind.LANE, lane.id, actor, "CREATED" if created else "CHANGED", old=old or None, new=new)
    return lane


def _terms(lane: Lane) -> dict[str, object]:
    """A lane's terms as the history stores them (JSON: money as a string)."""
    return {
        "unit_cost": str(lane.unit_cost),
        "lead_time_hours": lane.lead_time_hours,
        "capacity": lane.capacity,
        "active": lane.active,
    }
