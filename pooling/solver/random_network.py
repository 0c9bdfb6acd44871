"""Random regions for tests and benchmarks: a pure, seeded generator of `RegionProblem`s (numpy only).

Sites lie on a plane (coordinates in km). A lane's cost per unit grows with its length and its lead time is
the driving time plus handling; a few lanes have a capacity, and some items already have units committed on
them. Per item, each site either waits (one or two backorders, with a priority rank and sometimes a needed-by
time), gives (a surplus), or neither: a site never both waits for and gives the same item. Everything is drawn
in bulk, so a dense region of 500 sites and 2,000 items builds in a few seconds.
"""

from __future__ import annotations

import numpy as np

from pooling.solver.problem import NO_CAPACITY, ItemDemand, Lanes, Mode, RegionProblem, floats, ints

PLANE_KM = 1_000.0
LANE_BASE_CENTS = 150
LANE_CENTS_PER_KM = 1.2
KM_PER_HOUR = 60.0
HANDLING_HOURS = 6
CAPACITY_SHARE = 0.05  # lanes with a capacity per item
COMMITTED_SHARE = 0.05  # items with units already committed on some capacitated lanes
PURCHASABLE_SHARE = 0.95
SECOND_BACKORDER_SHARE = 0.2  # waiting (site, item) pairs with a second backorder
DATED_SHARE = 0.3  # backorders with a needed-by time
RANK_WEIGHTS = (0.2, 0.5, 0.2, 0.1)  # LOW, NORMAL, HIGH, CRITICAL
DEFAULT_NOW = 1_750_000_000.0  # epoch seconds, fixed so that a seed gives one problem


def random_region(
    sites: int,
    items: int,
    lanes: str = "dense",
    backorder_share: float = 0.1,
    surplus_share: float = 0.4,
    seed: int = 0,
    mode: Mode = "POOL_FIRST",
    now: float = DEFAULT_NOW,
    backordered_items: float = 1.0,
) -> RegionProblem:
    """A random region of `sites` sites (ids 1..sites) and `items` items (ids 1..items).

    `lanes`: "dense" (every ordered pair of sites) or "knn:K" (each site to and from its K nearest sites).
    `backorder_share` / `surplus_share`: the share of (site, item) pairs that wait / give.
    `backordered_items`: the share of items that have backorders at all (the others only have stock), as in a
    large network where one night's backorders touch a few items out of many.
    """
    if sites < 2 or items < 1:
        raise ValueError("a random region needs at least 2 sites and 1 item")
    if backorder_share < 0 or surplus_share < 0 or backorder_share + surplus_share > 1:
        raise ValueError("backorder_share and surplus_share must be >= 0 and add up to at most 1")
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0.0, PLANE_KM, size=(sites, 2))
    lane_table = _lanes(rng, xy, lanes)
    site_ids = np.arange(1, sites + 1, dtype=np.int64)

    # Roles per (item, site): one uniform draw splits the pairs into waiting, giving and neither.
    role = rng.random((items, sites))
    waiting = role < backorder_share
    if backordered_items < 1:
        waiting &= rng.random((items, 1)) < backordered_items
    giving = (role >= backorder_share) & (role < backorder_share + surplus_share)

    donor_item, donor_site = np.nonzero(giving)  # row-major: grouped by item, sites ascending
    donor_surplus = rng.integers(1, 11, size=len(donor_item))

    wait_item, wait_site = np.nonzero(waiting)
    second = rng.random(len(wait_item)) < SECOND_BACKORDER_SHARE
    bo_item = np.concatenate([wait_item, wait_item[second]])
    bo_site = np.concatenate([wait_site, wait_site[second]])
    order = np.argsort(bo_item, kind="stable")
    bo_item, bo_site = bo_item[order], bo_site[order]
    n_backorders = len(bo_item)
    bo_id = np.arange(1, n_backorders + 1, dtype=np.int64)
    bo_open = rng.integers(1, 6, size=n_backorders)
    bo_rank = rng.choice(len(RANK_WEIGHTS), size=n_backorders, p=RANK_WEIGHTS)
    dated = rng.random(n_backorders) < DATED_SHARE
    bo_needed_by = np.where(dated, now + np.round(rng.uniform(0.0, 14 * 86_400.0, size=n_backorders)), np.nan)

    price = np.round(np.exp(rng.normal(np.log(4_000.0), 1.0, size=items))).astype(np.int64) + 100
    purchasable = rng.random(items) < PURCHASABLE_SHARE
    supplier_lead = 24 * rng.integers(2, 22, size=items)

    # Committed units: some items, each on up to three capacitated lanes.
    capped = np.flatnonzero(lane_table.capacity != NO_CAPACITY)
    committed_items = np.flatnonzero(rng.random(items) < COMMITTED_SHARE) if len(capped) else ints([])
    per_item = rng.integers(1, 4, size=len(committed_items))
    c_item = np.repeat(committed_items, per_item)
    c_row = capped[rng.integers(0, max(len(capped), 1), size=len(c_item))] if len(capped) else ints([])
    c_lane = lane_table.lane_id[c_row]
    c_quantity = rng.integers(1, lane_table.capacity[c_row] + 1) if len(c_row) else ints([])

    donor_cut = np.searchsorted(donor_item, np.arange(1, items))
    bo_cut = np.searchsorted(bo_item, np.arange(1, items))
    c_cut = np.searchsorted(c_item, np.arange(1, items))
    donors = zip(np.split(site_ids[donor_site], donor_cut), np.split(donor_surplus, donor_cut), strict=True)
    backorders = zip(
        np.split(bo_id, bo_cut),
        np.split(site_ids[bo_site], bo_cut),
        np.split(bo_open, bo_cut),
        np.split(bo_rank, bo_cut),
        np.split(bo_needed_by, bo_cut),
        strict=True,
    )
    committed = zip(np.split(c_lane, c_cut), np.split(c_quantity, c_cut), strict=True)
    demands = [
        ItemDemand(
            item_id=k + 1,
            price_cents=int(price[k]),
            purchasable=bool(purchasable[k]),
            supplier_lead_hours=int(supplier_lead[k]),
            donor_site=ints(d_site),
            donor_surplus=ints(d_surplus),
            backorder_id=ints(b_id),
            backorder_site=ints(b_site),
            backorder_open=ints(b_open),
            backorder_rank=ints(b_rank),
            backorder_needed_by=floats(b_needed_by),
            committed_lane_id=ints(cl),
            committed_quantity=ints(cq),
        )
        for k, ((d_site, d_surplus), (b_id, b_site, b_open, b_rank, b_needed_by), (cl, cq)) in enumerate(
            zip(donors, backorders, committed, strict=True)
        )
    ]
    return RegionProblem(lanes=lane_table, items=demands, mode=mode, now=now)


def _lanes(rng: np.random.Generator, xy: np.ndarray, spec: str) -> Lanes:
    """The lanes between sites at `xy`, by `spec`: every ordered pair, or each site's K nearest both ways."""
    n = len(xy)
    if spec == "dense":
        tail, head = np.nonzero(~np.eye(n, dtype=bool))
    elif spec.startswith("knn:"):
        try:
            k = int(spec.removeprefix("knn:"))
        except ValueError:
            raise ValueError(f"lanes must be 'dense' or 'knn:K', not {spec!r}") from None
        if not 1 <= k < n:
            raise ValueError(f"knn:K needs 1 <= K < sites, not K={k}")
        squared = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)
        np.fill_diagonal(squared, np.inf)
        nearest = np.argpartition(squared, k - 1, axis=1)[:, :k]
        out_tail = np.repeat(np.arange(n), k)
        out_head = nearest.reshape(-1)
        pairs = np.unique(np.concatenate([out_tail * n + out_head, out_head * n + out_tail]))
        tail, head = np.divmod(pairs, n)
    else:
        raise ValueError(f"lanes must be 'dense' or 'knn:K', not {spec!r}")
    km = np.hypot(*(xy[tail] - xy[head]).T)
    capacity = np.where(rng.random(len(tail)) < CAPACITY_SHARE, rng.integers(1, 21, size=len(tail)), NO_CAPACITY)
    return Lanes(
        lane_id=np.arange(1, len(tail) + 1, dtype=np.int64),
        from_site=ints(tail + 1),
        to_site=ints(head + 1),
        cost_cents=ints(np.round(LANE_BASE_CENTS + LANE_CENTS_PER_KM * km)),
        lead_hours=ints(np.ceil(km / KM_PER_HOUR) + HANDLING_HOURS),
        capacity=ints(capacity),
    )
