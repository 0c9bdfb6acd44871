"""The simulated world, drawn whole from a seed before any policy runs (common random numbers): every policy of a
seed sees the same sites, lanes, items, demand, supplier lead times, supplier delays and losses in transit.

Pure numpy; nothing here touches the database.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# The map: sites spread over a box this many km wide and high, around this centre (central England).
MAP_KM = (640.0, 420.0)
CENTRE = (52.5, -1.5)
NEIGHBOURS = 4  # lanes both ways between each site and its nearest sisters

SMOOTH, INTERMITTENT, LUMPY = "smooth", "intermittent", "lumpy"
CLASSES = (SMOOTH, INTERMITTENT, LUMPY)

SUPPLIER_DELAY_CHANCE = 0.04  # an order that the supplier delivers late
LOSS_CHANCE = 0.03  # a shipment that arrives short
SPIKE_FACTOR = 3.0  # demand at the spike site during the spike
SPIKE_DAYS = 7
SEASON_DAYS = 120  # the period of the seasonal swing
REVIEW_DAYS = 7  # order-up-to = reorder point + this many days of mean demand
SERVICE_Z = 0.8  # the typed (MANUAL) policies: safety stock = z * sigma * sqrt(lead + 1), about 79 % a cycle


@dataclass(frozen=True)
class World:
    seed: int
    days: int
    site_km: np.ndarray  # (sites, 2) x, y on the map
    site_latlon: np.ndarray  # (sites, 2)
    site_size: np.ndarray  # (sites,)
    lanes: tuple[tuple[int, int, int, int], ...]  # (from, to, unit cost cents, lead hours)
    price_cents: np.ndarray  # (items,)
    lead_days: np.ndarray  # (items,) the supplier's quoted lead time
    demand_class: np.ndarray  # (sites, items) index into CLASSES
    demand: np.ndarray  # (days, sites, items) units asked for
    mean: np.ndarray  # (sites, items) expected daily demand, season and spike averaged out
    std: np.ndarray  # (sites, items)
    supplier_days: np.ndarray  # (days, sites, items) days an order placed that day takes to arrive
    delayed: np.ndarray  # (days, sites, items) that order is late (a supplier delay)
    loss_fraction: np.ndarray  # (days, sites, items) share lost of a shipment sent that day to that site
    spike_site: int
    spike_start: int

    @property
    def sites(self) -> int:
        return len(self.site_size)

    @property
    def items(self) -> int:
        return len(self.price_cents)

    def policy(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The typed (MANUAL) stock policy of every (site, item): safety stock, reorder point, order-up-to."""
        cover = self.lead_days[None, :] + 1.0
        safety = np.ceil(SERVICE_Z * self.std * np.sqrt(cover)).astype(np.int64)
        reorder_point = np.rint(self.mean * cover).astype(np.int64) + safety
        order_up_to = reorder_point + np.maximum(1, np.rint(self.mean * REVIEW_DAYS)).astype(np.int64)
        return safety, reorder_point, order_up_to

    def lost(self, day: int, site: int, item: int, quantity: int) -> int:
        """Units lost of a shipment of `quantity` sent on `day` to `site`."""
        fraction = float(self.loss_fraction[day, site, item])
        return min(quantity, max(1, math.floor(quantity * fraction))) if fraction > 0 else 0


def draw_world(seed: int, days: int, sites: int, items: int) -> World:
    if days < 1 or sites < 2 or items < 1:
        raise ValueError("a simulation needs at least 1 day, 2 sites and 1 item")
    rng = np.random.default_rng([seed, 16])
    site_km = rng.uniform((0.0, 0.0), MAP_KM, size=(sites, 2))
    lat = CENTRE[0] + (site_km[:, 1] - MAP_KM[1] / 2) / 111.0
    lon = CENTRE[1] + (site_km[:, 0] - MAP_KM[0] / 2) / (111.0 * math.cos(math.radians(CENTRE[0])))
    size = rng.uniform(0.6, 1.6, sites)

    price_cents = np.rint(np.exp(rng.normal(math.log(6000), 1.1, items))).clip(200, 200_000).astype(np.int64)
    lead_days = rng.integers(3, 22, items)

    # Demand: a class per item, a few (site, item) series turned lumpy; rates scale with the site's size.
    item_class = rng.choice(3, size=items, p=(0.55, 0.35, 0.10))
    demand_class = np.broadcast_to(item_class, (sites, items)).copy()
    demand_class[rng.random((sites, items)) < 0.03] = 2
    smooth_rate = np.exp(rng.normal(math.log(2.5), 0.7, items))[None, :] * size[:, None]
    chance = np.where(
        demand_class == 1, rng.uniform(0.08, 0.3, items)[None, :], rng.uniform(0.02, 0.06, (sites, items))
    )
    extra = np.where(
        demand_class == 1,
        rng.uniform(0.5, 3.0, items)[None, :] * size[:, None],
        rng.uniform(8.0, 20.0, (sites, items)) * size[:, None],
    )
    amplitude = np.where(rng.random(items) < 0.5, rng.uniform(0.2, 0.5, items), 0.0)
    phase = rng.uniform(0, 2 * math.pi, items)
    season = 1.0 + amplitude[None, :] * np.sin(2 * math.pi * np.arange(days)[:, None] / SEASON_DAYS + phase)
    spike_site = int(rng.integers(sites))
    spike_start = int(rng.integers(days // 3, max(days // 3 + 1, 2 * days // 3)))
    boost = np.ones((days, sites))
    boost[spike_start : spike_start + SPIKE_DAYS, spike_site] = SPIKE_FACTOR
    factor = season[:, None, :] * boost[:, :, None]  # (days, sites, items)

    smooth = rng.poisson(smooth_rate[None] * factor)
    occurs = rng.random((days, sites, items)) < np.minimum(chance[None] * factor, 1.0)
    sizes = 1 + rng.poisson(np.broadcast_to(extra, (days, sites, items)))
    demand = np.where(demand_class[None] == 0, smooth, np.where(occurs, sizes, 0)).astype(np.int64)

    mean = np.where(demand_class == 0, smooth_rate, chance * (1 + extra))
    second = chance * (1 + 3 * extra + extra**2)
    std = np.sqrt(np.where(demand_class == 0, smooth_rate, np.maximum(second - mean**2, 0.0)))

    # Suppliers: the quoted lead time give or take a day or two, and now and then days late.
    delayed = rng.random((days, sites, items)) < SUPPLIER_DELAY_CHANCE
    supplier_days = np.maximum(
        1,
        lead_days[None, None, :]
        + rng.integers(-1, 3, (days, sites, items))
        + delayed * rng.integers(4, 15, (days, sites, items)),
    )
    lost = rng.random((days, sites, items)) < LOSS_CHANCE
    loss_fraction = np.where(lost, rng.uniform(0.2, 1.0, (days, sites, items)), 0.0)

    return World(
        seed=seed,
        days=days,
        site_km=site_km,
        site_latlon=np.column_stack([lat, lon]),
        site_size=size,
        lanes=_lanes(site_km),
        price_cents=price_cents,
        lead_days=lead_days,
        demand_class=demand_class,
        demand=demand,
        mean=mean,
        std=std,
        supplier_days=supplier_days,
        delayed=delayed,
        loss_fraction=loss_fraction,
        spike_site=spike_site,
        spike_start=spike_start,
    )


def _lanes(site_km: np.ndarray) -> tuple[tuple[int, int, int, int], ...]:
    """Both ways between each site and its nearest sisters: cost 0.40 + 0.009 a km, 4 hours plus the road."""
    distance = np.hypot(*(site_km[:, None, :] - site_km[None, :, :]).transpose(2, 0, 1))
    pairs: set[tuple[int, int]] = set()
    for a in range(len(site_km)):
        for b in np.argsort(distance[a], kind="stable")[1 : NEIGHBOURS + 1].tolist():
            pairs |= {(a, b), (b, a)}
    return tuple(
        (a, b, 40 + round(0.9 * float(distance[a, b])), 4 + round(float(distance[a, b]) / 40)) for a, b in sorted(pairs)
    )
