"""`stockpool bench --history-days N`: the nightly forecast at national size, every series with demand.

A network of `sites` x `items` where a share of the items is active (stocked and used at every site): each
active (site, item) is a series of N days, smooth (Poisson) or intermittent (Bernoulli x size), with a few
stock-out days left out. The series are generated and forecast a chunk at a time (classification, backtest of
the candidates, refit, policy), in a fresh process so that its peak memory is the forecast's own. Figures are
printed, never asserted.
"""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from api.benchmarks.measure import peak_rss_mb
from pooling import forecasting
from pooling.demand import MAX_HISTORY_DAYS

LEAD_TIMES = np.array([3, 5, 7, 10, 14, 21])


@dataclass
class ForecastBench:
    sites: int
    items: int
    active_share: float
    history_days: int
    seed: int
    series: int = 0
    by_class: dict[str, int] = field(default_factory=dict)
    by_method: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def run_forecast_bench(sites: int, items: int, active_share: float, history_days: int, seed: int = 0) -> ForecastBench:
    if not 1 <= history_days <= MAX_HISTORY_DAYS:
        raise ValueError(f"--history-days must be between 1 and {MAX_HISTORY_DAYS}")
    if not 0 < active_share <= 1 or sites < 1 or items < 1:
        raise ValueError("--sites and --items must be positive, --active-items a share in (0, 1]")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        report: ForecastBench = pool.submit(_measure, sites, items, active_share, history_days, seed).result()
    return report


def _measure(sites: int, items: int, active_share: float, history_days: int, seed: int) -> ForecastBench:
    report = ForecastBench(sites, items, active_share, history_days, seed)
    rng = np.random.default_rng(seed)
    series = sites * max(1, round(items * active_share))
    classes = np.zeros(len(forecasting.CLASS_CODES), dtype=np.int64)
    methods = np.zeros(len(forecasting.METHODS), dtype=np.int64)
    generate = work = cpu = 0.0
    for start in range(0, series, forecasting.SERIES_PER_CHUNK):
        n = min(forecasting.SERIES_PER_CHUNK, series - start)
        clock = time.perf_counter()
        demand, valid = _history(rng, n, history_days)
        lead = rng.choice(LEAD_TIMES, n)
        level = np.full(n, 0.95)
        generate += time.perf_counter() - clock
        clock, used = time.perf_counter(), time.process_time()
        found, _ = forecasting.forecast_and_policies(demand, valid, lead, level, review_days=7)
        work += time.perf_counter() - clock
        cpu += time.process_time() - used
        classes += np.bincount(found.demand_class, minlength=len(classes))
        methods += np.bincount(found.method, minlength=len(methods))
    report.series = series
    report.by_class = {c.value: int(k) for c, k in zip(forecasting.CLASS_CODES, classes, strict=True)}
    report.by_method = {m: int(k) for m, k in zip(forecasting.METHODS, methods, strict=True)}
    report.seconds = {
        "generate": round(generate, 2),
        "forecast_and_policies": round(work, 2),
        "forecast_and_policies_cpu": round(cpu, 2),  # the figure that holds on a machine shared with others
    }
    report.peak_rss_mb = round(peak_rss_mb(), 0)
    return report


def _history(rng: np.random.Generator, n: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    """40 % smooth series (Poisson, means spread over 0.5..40 a day), 60 % intermittent (a demand on 5-50 % of
    days, 1 + Poisson sizes); 2 % of days are stock-out days without demand, left out."""
    smooth = rng.random(n) < 0.4
    mean = np.exp(rng.uniform(np.log(0.5), np.log(40), n))
    chance = rng.uniform(0.05, 0.5, n)
    size = rng.uniform(0.5, 6, n)
    daily = rng.poisson(np.where(smooth, mean, size)[:, None], (n, days)).astype(np.float64)
    occurs = smooth[:, None] | (rng.random((n, days)) < chance[:, None])
    demand = np.where(occurs, daily + ~smooth[:, None], 0.0)
    valid = (rng.random((n, days)) >= 0.02) | (demand > 0)
    return demand, valid


def table(report: ForecastBench) -> str:
    s = report.seconds
    total = s["forecast_and_policies"]
    lines = [
        f"stockpool bench --history-days {report.history_days}: {report.sites:,} sites x {report.items:,} items, "
        f"{report.active_share:.0%} of items active, seed {report.seed}",
        f"  {report.series:,} series with demand",
        "  classes: " + ", ".join(f"{k.lower()} {v:,}" for k, v in report.by_class.items() if v),
        "  methods: " + ", ".join(f"{k} {v:,}" for k, v in report.by_method.items() if v),
        f"  generate (numpy)                  {s['generate']:>10.2f} s",
        f"  classify, backtest, refit, policy {total:>10.2f} s  ({report.series / max(total, 1e-9):,.0f} series/s)",
        f"  the same, CPU time of the process {s['forecast_and_policies_cpu']:>10.2f} s",
        f"  peak RSS                          {report.peak_rss_mb:>10.0f} MB",
    ]
    return "\n".join(lines)
