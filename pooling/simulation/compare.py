"""Run every policy on every seed's world and compare: a mean and a 95 % interval over seeds per figure, and the
paired difference to `none` (each seed's runs saw the same demand, so the differences are paired)."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from models import Base, Site
from models.db import Database
from pooling.audit import audit
from pooling.simulation.run import POLICIES, RunResult, run_policy
from pooling.simulation.world import draw_world

METRICS = (
    "backorder rate",
    "fill rate",
    "backorder-days",
    "units pooled",
    "transfer spend",
    "purchase spend",
    "total cost",
    "units lost",
    "average stock held",
)
BASELINE = "none"
RATES = {"backorder rate", "fill rate"}
REGION_PREFIX = "sim-"

# Student's t, 97.5 % quantile, by degrees of freedom (1 to 30); the normal's 1.96 beyond.
_T975 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


@dataclass(frozen=True)
class Estimate:
    """A mean over seeds and its 95 % interval (None with a single seed)."""

    mean: float
    half_width: float | None

    @staticmethod
    def of(values: Sequence[float]) -> Estimate:
        mean = statistics.fmean(values)
        if len(values) < 2:
            return Estimate(mean, None)
        t = _T975[len(values) - 2] if len(values) - 1 <= len(_T975) else 1.96
        return Estimate(mean, t * statistics.stdev(values) / math.sqrt(len(values)))

    def as_json(self) -> dict[str, float | None]:
        hw = self.half_width
        return {
            "mean": self.mean,
            "low": None if hw is None else self.mean - hw,
            "high": None if hw is None else self.mean + hw,
        }


@dataclass(frozen=True)
class Comparison:
    days: int
    sites: int
    items: int
    seeds: tuple[int, ...]
    policies: tuple[str, ...]
    database: str
    runs: tuple[RunResult, ...]
    breaches: tuple[str, ...]
    seconds: float

    def values(self, policy: str, metric: str) -> list[float]:
        return [r.metrics[metric] for r in sorted(self.runs, key=lambda r: r.seed) if r.policy == policy]

    def estimate(self, policy: str, metric: str) -> Estimate:
        return Estimate.of(self.values(policy, metric))

    def versus_baseline(self, policy: str, metric: str) -> Estimate | None:
        """The paired difference policy - none over seeds; None when `none` was not run."""
        if BASELINE not in self.policies:
            return None
        pairs = zip(self.values(policy, metric), self.values(BASELINE, metric), strict=True)
        return Estimate.of([a - b for a, b in pairs])

    def stage_seconds(self) -> dict[str, float]:
        total: dict[str, float] = {}
        for run in self.runs:
            for stage, seconds in run.seconds.items():
                total[stage] = total.get(stage, 0.0) + seconds
        return total

    def as_json(self) -> dict[str, object]:
        def table(of: Callable[[str, str], Estimate | None]) -> dict[str, dict[str, object]]:
            return {p: {m: (e.as_json() if (e := of(p, m)) else None) for m in METRICS} for p in self.policies}

        return {
            "days": self.days,
            "sites": self.sites,
            "items": self.items,
            "seeds": list(self.seeds),
            "policies": list(self.policies),
            "database": self.database,
            "table": table(self.estimate),
            "versus_none": table(self.versus_baseline) if BASELINE in self.policies else None,
            "runs": [{"policy": r.policy, "seed": r.seed, "metrics": r.metrics, "daily": r.daily} for r in self.runs],
            "ledger": {"ok": not self.breaches, "breaches": list(self.breaches)},
            "seconds": {"total": self.seconds, **self.stage_seconds()},
        }


def check_policies(names: Sequence[str]) -> tuple[str, ...]:
    unknown = [n for n in names if n not in POLICIES]
    if unknown or not names:
        raise ValueError(
            f"unknown policy {', '.join(map(repr, unknown)) or '(none given)'}; choose from {', '.join(POLICIES)}"
        )
    return tuple(dict.fromkeys(names))


def prepare(db: Database) -> None:
    """Empty a database that an earlier simulation filled; refuse one that holds anything else."""
    with db.reading() as s:
        foreign = s.scalar(select(func.count(Site.id)).where(~Site.region.startswith(REGION_PREFIX)))
        ours = s.scalar(select(func.count(Site.id)))
    if foreign:
        raise ValueError(f"database {db.display_url} holds sites that no simulation made; give it an empty one")
    if ours:
        with db.engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        db.migrate()


def simulate(
    db: Database,
    days: int,
    sites: int,
    items: int,
    seeds: Sequence[int],
    policies: Sequence[str],
    progress: Callable[[str], None] | None = None,
    advance: Callable[[int], None] | None = None,
) -> Comparison:
    """Every policy on every seed's world (drawn once per seed), then the ledger audit over the whole database."""
    names = check_policies(policies)
    draw_world(0, days, sites, items)  # refuses impossible sizes before the database is touched
    prepare(db)
    started = time.perf_counter()
    runs = []
    for seed in seeds:
        world = draw_world(seed, days, sites, items)
        for policy in names:
            if progress:
                progress(f"seed {seed} {policy}")
            runs.append(run_policy(db, world, policy, advance))
    with db.reading() as s:
        breaches = tuple(str(b) for b in audit(s))
    return Comparison(
        days=days,
        sites=sites,
        items=items,
        seeds=tuple(seeds),
        policies=names,
        database=db.display_url,
        runs=tuple(runs),
        breaches=breaches,
        seconds=time.perf_counter() - started,
    )


def cell(metric: str, estimate: Estimate | None, signed: bool = False) -> str:
    """A figure as the table shows it: `12.3% ±1.2`, `1,234 ±56`; `-` for none."""
    if estimate is None:
        return "-"
    sign = "+" if signed else ""
    rate = metric in RATES
    scale, digits, unit = (100, 1, "%") if rate else (1, 0, "")
    text = f"{estimate.mean * scale:{sign},.{digits}f}{unit}"
    if estimate.half_width is not None:
        text += f" ±{estimate.half_width * scale:,.{digits}f}"
    return text
