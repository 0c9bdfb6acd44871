"""A demo network to try the service with: two regions of sister laboratories, a morning's orders, four tokens.

Everything is made through the ordinary operations (sites, items, lanes, receipts, policies, orders), in one
transaction, so the demo obeys every rule the service does and `stockpool check` holds on it. A fixed random seed
makes it the same every time; only the needed-by times move with the clock (they are relative to now).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Item, MovementReason, PlanMode, Priority, Role, Site, utcnow
from models.db import Database
from pooling.access import create_token
from pooling.ledger import lock_levels, move
from pooling.network import create_item, create_site, set_lane
from pooling.orders import place_order
from pooling.rebalance import rebalance
from pooling.stock import record_movement, set_stock_policy

SEED = 20240611
HISTORY_DAYS = 90
ACTOR = "demo"


@dataclass(frozen=True)
class DemoTokens:
    """The plain tokens made for the demo (shown once) and what they act for."""

    admin: str
    coordinator: str  # COORDINATOR of `region`
    site: str  # SITE token of `site_code`, a lab of `region` that the region's rebalance sends stock to
    region: str
    site_code: str
    sender: str  # SITE token of `sender_code`, the lab that sends it: together they can ship and receive
    sender_code: str


@dataclass(frozen=True)
class DemoSite:
    code: str
    name: str
    region: str
    latitude: float
    longitude: float
    size: float  # how much a lab holds and uses, relative to a typical one


@dataclass(frozen=True)
class DemoItem:
    sku: str
    name: str
    unit: str
    unit_cost: str
    lead_days: int
    par: int  # what a typical lab keeps on the shelf
    purchasable: bool = True


REGIONS = ("north", "south")

SITES = (
    DemoSite("LDS", "Leeds Central Pathology Laboratory", "north", 53.8008, -1.5491, 1.5),
    DemoSite("YRK", "York Clinical Laboratory", "north", 53.9590, -1.0815, 1.0),
    DemoSite("MAN", "Manchester Royal Pathology", "north", 53.4808, -2.2426, 1.6),
    DemoSite("SHF", "Sheffield Diagnostics Laboratory", "north", 53.3811, -1.4701, 1.2),
    DemoSite("NCL", "Newcastle Freeman Laboratory", "north", 54.9783, -1.6178, 1.1),
    DemoSite("HUL", "Hull Eastern Pathology", "north", 53.7676, -0.3274, 0.8),
    DemoSite("LON", "London Bridge Clinical Laboratory", "south", 51.5055, -0.0865, 1.8),
    DemoSite("RDG", "Reading Berkshire Pathology", "south", 51.4543, -0.9781, 1.0),
    DemoSite("OXF", "Oxford Headington Laboratory", "south", 51.7520, -1.2577, 1.3),
    DemoSite("SOU", "Southampton General Pathology", "south", 50.9097, -1.4044, 1.1),
    DemoSite("BTN", "Brighton Sussex Laboratory", "south", 50.8225, -0.1372, 0.9),
    DemoSite("GLD", "Guildford Surrey Diagnostics", "south", 51.2362, -0.5704, 0.8),
)

ITEMS = (
    DemoItem("HAE-CBC-5D", "Haematology 5-part differential reagent pack", "pack", "386.00", 14, 6),
    DemoItem("HAE-LYS-1L", "Haematology lyse reagent, 1 L", "bottle", "92.50", 10, 10),
    DemoItem("CHM-GLU-4X20", "Glucose (hexokinase) reagent, 4 x 20 mL", "kit", "58.40", 7, 12),
    DemoItem("CHM-CRP-HS", "hs-CRP immunoturbidimetric reagent, 300 tests", "kit", "212.00", 10, 8),
    DemoItem("CHM-CREA-ENZ", "Creatinine (enzymatic) reagent, 400 tests", "kit", "144.80", 10, 8),
    DemoItem("CHM-HBA1C-150", "HbA1c whole-blood assay, 150 tests", "kit", "329.00", 14, 5),
    DemoItem("IMM-TNI-HS100", "High-sensitivity troponin I cartridges, 100 tests", "pack", "540.00", 21, 6),
    DemoItem("IMM-TSH-200", "TSH immunoassay reagent, 200 tests", "pack", "265.00", 14, 5),
    DemoItem("IMM-FER-100", "Ferritin immunoassay reagent, 100 tests", "pack", "178.00", 14, 5),
    DemoItem("MOL-SC2-96", "SARS-CoV-2 RT-PCR kit, 96 reactions", "kit", "480.00", 10, 6),
    DemoItem("MOL-MMX-5ML", "qPCR probe master mix, 5 mL", "tube", "118.00", 7, 10),
    DemoItem("MOL-EXT-96", "Nucleic acid extraction cartridges, 96", "box", "395.00", 14, 4),
    DemoItem("MIC-BC-AER", "Blood culture bottle, aerobic", "bottle", "6.80", 10, 120),
    DemoItem("MIC-BC-ANA", "Blood culture bottle, anaerobic", "bottle", "6.80", 10, 120),
    DemoItem("MIC-CBA-10", "Columbia blood agar plates, pack of 10", "pack", "11.90", 5, 40),
    DemoItem("MIC-MAC-10", "MacConkey agar plates, pack of 10", "pack", "10.60", 5, 30),
    DemoItem("MIC-GRAM-KIT", "Gram stain kit, 4 x 250 mL", "kit", "47.20", 7, 6),
    DemoItem("COL-EDTA-4ML", "EDTA K2 blood collection tube 4 mL, box of 100", "box", "21.50", 5, 60),
    DemoItem("COL-SST-5ML", "Serum separator tube 5 mL, box of 100", "box", "24.90", 5, 60),
    DemoItem("COL-CIT-2.7ML", "Sodium citrate tube 2.7 mL, box of 100", "box", "26.30", 5, 30),
    DemoItem("COL-SWAB-VTM", "Flocked nasopharyngeal swab with viral transport medium", "each", "1.85", 7, 400),
    DemoItem("COL-URINE-60", "Sterile urine container 60 mL, box of 100", "box", "14.00", 5, 30),
    DemoItem("CON-TIP-200F", "Filter pipette tips 200 uL, rack of 96", "rack", "6.40", 5, 150),
    DemoItem("CON-TIP-1000F", "Filter pipette tips 1000 uL, rack of 96", "rack", "7.10", 5, 120),
    DemoItem("CON-GLOVE-M", "Nitrile examination gloves, medium, box of 100", "box", "5.95", 3, 80),
    DemoItem("CON-CRYO-2ML", "Cryovials 2 mL, external thread, bag of 500", "bag", "48.00", 7, 8),
    DemoItem("CON-SLIDE-72", "Microscope slides, frosted end, box of 72", "box", "4.80", 5, 40),
    DemoItem("QC-CHM-L2", "Chemistry control, level 2, 12 x 5 mL", "box", "175.00", 14, 4),
    DemoItem("QC-HAE-TRI", "Haematology tri-level control", "set", "210.00", 14, 4),
    DemoItem("CAL-TNI-23A", "Troponin I calibrator, lot 23A (discontinued)", "set", "96.00", 0, 3, purchasable=False),
    DemoItem("COA-CUV-LEG", "Cuvette segments for the legacy coagulation analyser", "box", "64.00", 0, 6, False),
)

# Labs that over-ordered: opening stock is this many times their usual level.
SURPLUS = {
    ("LDS", "HAE-CBC-5D"): 4.0,
    ("MAN", "MIC-BC-AER"): 3.0,
    ("NCL", "IMM-TNI-HS100"): 3.5,
    ("LDS", "CAL-TNI-23A"): 4.0,
    ("SHF", "COL-SWAB-VTM"): 3.0,
    ("LON", "CHM-CRP-HS"): 3.5,
    ("OXF", "MOL-EXT-96"): 4.0,
    ("LON", "COL-EDTA-4ML"): 3.0,
    ("SOU", "QC-HAE-TRI"): 4.0,
    ("RDG", "CON-TIP-200F"): 3.0,
}

# The morning's shortages, made on purpose: (site, sku, units on the shelf, units ordered, priority, hours until
# needed or None). Each leaves a backorder that a sister lab's surplus (or, failing that, the supplier) can serve.
SHORTAGES = (
    ("YRK", "HAE-CBC-5D", 1, 8, Priority.HIGH, 24),
    ("SHF", "HAE-CBC-5D", 0, 4, Priority.NORMAL, None),
    ("HUL", "IMM-TNI-HS100", 1, 6, Priority.CRITICAL, 8),
    ("YRK", "MIC-BC-AER", 8, 60, Priority.HIGH, 36),
    ("MAN", "CAL-TNI-23A", 0, 3, Priority.HIGH, 48),
    ("NCL", "COL-SWAB-VTM", 40, 300, Priority.NORMAL, 72),
    ("HUL", "MOL-SC2-96", 1, 5, Priority.CRITICAL, 12),
    ("BTN", "CHM-CRP-HS", 1, 10, Priority.CRITICAL, 6),
    ("GLD", "MOL-EXT-96", 0, 6, Priority.HIGH, 30),
    ("RDG", "COL-EDTA-4ML", 4, 40, Priority.NORMAL, None),
    ("BTN", "QC-HAE-TRI", 0, 5, Priority.NORMAL, 48),
    ("GLD", "CON-TIP-200F", 10, 90, Priority.LOW, None),
    ("SOU", "IMM-TSH-200", 0, 7, Priority.HIGH, 24),
    ("OXF", "COA-CUV-LEG", 0, 4, Priority.HIGH, 24),
)

# Items that nobody in the region can spare this morning: the rebalance has to buy them, or, for the analyser
# cuvettes that can no longer be bought, report the demand unmet.
TIGHT = {("north", "MOL-SC2-96"), ("south", "IMM-TSH-200"), ("south", "COA-CUV-LEG")}

NEIGHBOURS = 3  # each lab has lanes both ways to its nearest sister labs
CAPPED_LANES = {("NCL", "YRK"): 40, ("LON", "BTN"): 8}


def load_demo(db: Database) -> DemoTokens | None:
    """Load the demo network into a database without sites; None (nothing changed) when it has some."""
    with db.transaction() as s:
        if s.scalar(select(func.count(Site.id))):
            return None
        rng = random.Random(SEED)
        _network(s)
        _history(s, random.Random(SEED + 1))
        _stock(s, rng)
        _morning_orders(s, rng)
        return _tokens(s)


def distance_km(a: DemoSite, b: DemoSite) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.latitude, a.longitude, b.latitude, b.longitude))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def lanes() -> list[tuple[str, str, Decimal, int, int | None]]:
    """(from, to, unit cost, lead hours, capacity): both ways between each lab and its nearest sister labs."""
    pairs: set[tuple[str, str]] = set()
    for site in SITES:
        sisters = sorted((distance_km(site, o), o.code) for o in SITES if o.region == site.region and o != site)
        for _, code in sisters[:NEIGHBOURS]:
            pairs |= {(site.code, code), (code, site.code)}
    by_code = {site.code: site for site in SITES}
    result = []
    for origin, destination in sorted(pairs):
        km = distance_km(by_code[origin], by_code[destination])
        cost = (Decimal("0.40") + Decimal(str(round(km))) * Decimal("0.009")).quantize(Decimal("0.01"))
        hours = 3 + round(km / 45)  # courier pick-up and handling, then the road
        result.append((origin, destination, cost, hours, CAPPED_LANES.get((origin, destination))))
    return result


def _network(s: Session) -> None:
    for site in SITES:
        create_site(s, site.code, site.name, site.region, site.latitude, site.longitude)
    for item in ITEMS:
        create_item(s, item.sku, item.name, item.unit_cost, item.unit, item.lead_days, item.purchasable)
    for origin, destination, cost, hours, capacity in lanes():
        set_lane(s, origin, destination, cost, hours, capacity)


def _history(s: Session, rng: random.Random) -> None:
    """The last 90 days of use at every lab, through the ledger and backdated: a quarter's delivery on the first
    day, then each day's consumption (every day for tubes, tips and plates; now and then for reagent packs and
    controls), so that forecasts and FORECAST policies have a history on the first run. It nets to zero: today's
    shelves are the opening stock below."""
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    start = today - timedelta(days=HISTORY_DAYS)
    pairs = [(site, item) for site in SITES for item in ITEMS if item.purchasable]
    levels = lock_levels(s, [(s_id, i_id) for s_id, i_id in _ids(s, pairs)])
    for (site, item), key in zip(pairs, _ids(s, pairs), strict=True):
        daily = item.par * site.size / 10
        used = []
        for day in range(HISTORY_DAYS):
            if item.par >= 30:
                units = _poisson(rng, daily)
            else:
                units = 1 + _poisson(rng, daily * 0.8) if rng.random() < 0.3 else 0
            if units:
                used.append((day, units))
        total = sum(units for _, units in used)
        if not total:
            continue
        level = levels[key]
        delivery = move(s, level, total, MovementReason.RECEIPT, ACTOR, note="the quarter's delivery")
        delivery.created_at = start + timedelta(hours=7)
        for day, units in used:
            moment = start + timedelta(days=day, hours=rng.uniform(8, 18))
            move(s, level, -units, MovementReason.CONSUMPTION, ACTOR, note="daily runs").created_at = moment
    s.flush()
    s.expunge_all()  # thousands of written movements would slow every later flush of the session down


def _ids(s: Session, pairs: list[tuple[DemoSite, DemoItem]]) -> list[tuple[int, int]]:
    site_id = dict(s.execute(select(Site.code, Site.id)).all())
    item_id = dict(s.execute(select(Item.sku, Item.id)).all())
    return [(site_id[site.code], item_id[item.sku]) for site, item in pairs]


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: enough for the small daily means of the demo."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _stock(s: Session, rng: random.Random) -> None:
    """Opening stock (receipts, yesterday's use, the odd breakage and recount) and safety stock at every lab."""
    short = {(site, sku): on_shelf for site, sku, on_shelf, *_ in SHORTAGES}
    for site in SITES:
        for item in ITEMS:
            usual = max(1, round(item.par * site.size))
            safety = max(1, round(usual * 0.3))
            if (site.code, item.sku) in short:
                target = short[(site.code, item.sku)]
            elif (site.region, item.sku) in TIGHT:
                target = safety  # just the safety stock: nothing to spare
            else:
                target = round(usual * SURPLUS.get((site.code, item.sku), rng.uniform(0.7, 1.3)))
            used = round(usual * rng.uniform(0.05, 0.25)) if target and rng.random() < 0.3 else 0
            if target + used:
                record_movement(s, site.code, item.sku, target + used, MovementReason.RECEIPT, ACTOR, "opening stock")
            if used:
                record_movement(s, site.code, item.sku, -used, MovementReason.CONSUMPTION, ACTOR, "yesterday's runs")
            set_stock_policy(s, site.code, item.sku, safety, round(safety * 1.5) + 1)
    record_movement(s, "MAN", "COL-SST-5ML", -2, MovementReason.DAMAGE, ACTOR, "boxes crushed in the cold room")
    record_movement(s, "OXF", "CON-GLOVE-M", -3, MovementReason.COUNT_ADJUSTMENT, ACTOR, "weekly count")


def _morning_orders(s: Session, rng: random.Random) -> None:
    """Routine orders that the shelves fill, and the shortages that leave backorders."""
    now = utcnow()
    short = {(site, sku) for site, sku, *_ in SHORTAGES}
    routine = [(site, item) for site in SITES for item in ITEMS if (site.code, item.sku) not in short]
    for number, (site, item) in enumerate(sorted(rng.sample(routine, 48), key=lambda p: (p[0].code, p[1].sku))):
        quantity = max(1, round(item.par * site.size * rng.uniform(0.1, 0.4)))
        priority = rng.choice((Priority.NORMAL, Priority.NORMAL, Priority.LOW, Priority.HIGH))
        needed_by = now + timedelta(hours=rng.choice((8, 24, 48))) if rng.random() < 0.4 else None
        place_order(s, site.code, item.sku, quantity, priority, needed_by, f"{site.code}-REQ-{1001 + number}", ACTOR)
    for number, (site_code, sku, _, quantity, priority, hours) in enumerate(SHORTAGES):
        needed_by = now + timedelta(hours=hours) if hours is not None else None
        place_order(s, site_code, sku, quantity, priority, needed_by, f"{site_code}-URG-{2001 + number}", ACTOR)


def _tokens(s: Session) -> DemoTokens:
    """An ADMIN, the first region's COORDINATOR, and SITE tokens for both ends of the largest transfer that the
    region's rebalance plans (found by a dry run, which saves nothing)."""
    region = REGIONS[0]
    plan = rebalance(s, region, PlanMode.POOL_FIRST, dry_run=True, actor=ACTOR)
    if not plan.transfers:
        raise RuntimeError(f"the demo data gives region {region!r} no transfer to plan")
    largest = min(plan.transfers, key=lambda t: (-t.quantity, t.from_site.code, t.to_site.code, t.item.sku))
    sender_code, site_code = largest.from_site.code, largest.to_site.code
    _, admin = create_token(s, "demo admin", Role.ADMIN)
    _, coordinator = create_token(s, f"demo coordinator ({region})", Role.COORDINATOR, region=region)
    _, site = create_token(s, f"demo {site_code} bench", Role.SITE, site=site_code)
    _, sender = create_token(s, f"demo {sender_code} bench", Role.SITE, site=sender_code)
    return DemoTokens(
        admin=admin,
        coordinator=coordinator,
        site=site,
        region=region,
        site_code=site_code,
        sender=sender,
        sender_code=sender_code,
    )
