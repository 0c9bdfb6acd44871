"""Daily demand forecasts and the stock policy they suggest, for many series at once (numpy, no database).

A batch is a matrix of daily demand, one row per (site, item) series, oldest day first, with a mask of the days
that count: a stock-out day with no recorded demand says nothing about demand (the shelf was empty), so it is
skipped by the classification, by the recursions (their state is carried over it) and by the backtest.

- Classification (Syntetos-Boylan): ADI, the mean interval between demand days, and CV², the squared coefficient
  of variation of the non-zero demand sizes; SMOOTH (ADI < 1.32, CV² < 0.49), INTERMITTENT (ADI ≥ 1.32,
  CV² < 0.49), ERRATIC (ADI < 1.32, CV² ≥ 0.49), LUMPY (both above); NO_DEMAND without a demand day.
- Methods, each a flat forecast of units per day: SES (simple exponential smoothing, the ETS(A,N,N) level),
  CROSTON_SBA (Croston with the Syntetos-Boylan bias correction) and TSB (Teunter-Syntetos-Babai), written as
  vector recursions over the days so a million series take a few seconds; `tests/forecast` checks them against
  Nixtla's statsforecast on random series. ZERO for a series without demand.
- The method of a series is the candidate of its class (SES for smooth and erratic; CROSTON_SBA, TSB and SES
  for intermittent and lumpy) with the lowest error on the held-out last part of its history, scaled by the
  in-sample error of the naive one-day-ahead forecast (MASE); the chosen method is then refitted on all of it.
- Policy for a lead time L (days) and a cycle service level: smooth and erratic demand (one demand day or more
  out of 1.32) take the normal approximation, safety stock z x sigma x sqrt(L) with sigma the spread of the
  one-day-ahead errors; intermittent and lumpy demand take the quantile of bootstrapped lead-time demand (L days
  drawn from the series' own history, scaled to the forecast mean; the bootstrap's distribution is computed
  exactly, not sampled), not the normal formula. Reorder point = mean lead-time
  demand + safety stock; order-up-to = reorder point + a review period's demand.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from models.enums import DemandClass

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

ADI_CUT = 1.32
CV2_CUT = 0.49
SES_ALPHA = 0.1
CROSTON_ALPHA = 0.1
TSB_ALPHA_D = 0.1
TSB_ALPHA_P = 0.1
LEVEL_VARIANCE = SES_ALPHA / (2 - SES_ALPHA)  # every method smooths with weight 0.1
MIN_SERVICE_LEVEL, MAX_SERVICE_LEVEL = 0.5, 0.9999  # (0.5, 0.9999]
MAX_BINS = 64  # daily values per series in the lead-time distribution; larger ones are binned
CHUNK = 8192  # series per chunk of the lead-time distribution

CLASS_CODES = (
    DemandClass.NO_DEMAND,
    DemandClass.SMOOTH,
    DemandClass.INTERMITTENT,
    DemandClass.ERRATIC,
    DemandClass.LUMPY,
)
METHODS = ("ZERO", "SES", "CROSTON_SBA", "TSB")
NORMAL_CLASSES = (1, 3)  # SMOOTH, ERRATIC: demand on most days


@dataclass
class Forecasts:
    """One entry per series (arrays of the batch's length)."""

    demand_class: IntArray  # index into CLASS_CODES
    method: IntArray  # index into METHODS
    history_days: IntArray  # days that count
    adi: FloatArray  # nan without demand
    cv2: FloatArray
    daily_mean: FloatArray
    daily_std: FloatArray
    backtest_error: FloatArray  # nan where no backtest could run


@dataclass
class Policies:
    safety_stock: IntArray
    reorder_point: IntArray
    order_up_to: IntArray


def classify(demand: FloatArray, valid: BoolArray) -> tuple[IntArray, FloatArray, FloatArray]:
    """Syntetos-Boylan class (index into CLASS_CODES), ADI and CV² of each row."""
    positive = (demand > 0) & valid
    count = positive.sum(axis=1)
    days = valid.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        adi = np.where(count > 0, days / np.maximum(count, 1), np.nan)
        sizes = np.where(positive, demand, 0.0)
        mean = sizes.sum(axis=1) / np.maximum(count, 1)
        var = (np.where(positive, (demand - mean[:, None]) ** 2, 0.0)).sum(axis=1) / np.maximum(count, 1)
        cv2 = np.where(count > 0, var / np.where(mean > 0, mean**2, 1.0), np.nan)
    sporadic = adi >= ADI_CUT
    variable = cv2 >= CV2_CUT
    klass = np.where(sporadic, np.where(variable, 4, 2), np.where(variable, 3, 1))
    klass = np.where(count > 0, klass, 0).astype(np.int64)
    return klass, adi, cv2


def ses(demand: FloatArray, valid: BoolArray, alpha: float = SES_ALPHA) -> tuple[FloatArray, FloatArray]:
    """Simple exponential smoothing: the final level and the one-day-ahead fitted values (nan before the first)."""
    n, days = demand.shape
    level = np.full(n, np.nan)
    fitted = np.full((n, days), np.nan)
    for t in range(days):
        fitted[:, t] = level
        y, ok = demand[:, t], valid[:, t]
        update = np.where(np.isnan(level), y, level + alpha * (y - level))
        level = np.where(ok, update, level)
    return level, fitted


def croston_sba(demand: FloatArray, valid: BoolArray, alpha: float = CROSTON_ALPHA) -> tuple[FloatArray, FloatArray]:
    """Croston's method with the Syntetos-Boylan correction (1 - alpha/2): size and interval smoothed at demand
    days; the forecast is (1 - alpha/2) x size / interval."""
    n, days = demand.shape
    size = np.full(n, np.nan)
    interval = np.full(n, np.nan)
    since = np.zeros(n)  # days since the last demand day (counting only days that count)
    fitted = np.full((n, days), np.nan)
    factor = 1 - alpha / 2
    for t in range(days):
        with np.errstate(invalid="ignore", divide="ignore"):
            fitted[:, t] = factor * size / interval
        y, ok = demand[:, t], valid[:, t]
        since = since + ok
        hit = ok & (y > 0)
        first = hit & np.isnan(size)
        size = np.where(first, y, np.where(hit, size + alpha * (y - size), size))
        interval = np.where(first, since, np.where(hit, interval + alpha * (since - interval), interval))
        since = np.where(hit, 0.0, since)
    with np.errstate(invalid="ignore", divide="ignore"):
        return factor * size / interval, fitted


def tsb(
    demand: FloatArray, valid: BoolArray, alpha_d: float = TSB_ALPHA_D, alpha_p: float = TSB_ALPHA_P
) -> tuple[FloatArray, FloatArray]:
    """Teunter-Syntetos-Babai: the probability of a demand day smoothed every day, the size at demand days;
    the forecast is probability x size (it decays towards zero while no demand comes)."""
    n, days = demand.shape
    prob = np.full(n, np.nan)
    size = np.full(n, np.nan)
    fitted = np.full((n, days), np.nan)
    for t in range(days):
        fitted[:, t] = np.where(np.isnan(size), np.nan, prob * size)
        y, ok = demand[:, t], valid[:, t]
        hit = (y > 0).astype(np.float64)
        started = ~np.isnan(prob)
        prob = np.where(ok, np.where(started, prob + alpha_p * (hit - prob), hit), prob)
        grow = ok & (y > 0)
        size = np.where(grow, np.where(np.isnan(size), y, size + alpha_d * (y - size)), size)
    return np.where(np.isnan(size), 0.0, prob * size), fitted


Fit = Callable[[FloatArray, BoolArray], tuple[FloatArray, FloatArray]]
FITS: dict[int, Fit] = {1: ses, 2: croston_sba, 3: tsb}
CANDIDATES = {1: (1,), 2: (2, 3, 1), 3: (1,), 4: (2, 3, 1)}  # class -> methods tried, first wins ties


def forecast(demand: FloatArray, valid: BoolArray, holdout: int | None = None) -> Forecasts:
    """Classify, backtest the candidates of each class on the held-out tail, refit the best on all history."""
    demand = np.asarray(demand, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    n, days = demand.shape
    klass, adi, cv2 = classify(demand, valid)
    holdout = holdout if holdout is not None else max(7, days // 4)
    holdout = min(holdout, max(days - 7, 0))
    train, test = slice(0, days - holdout), slice(days - holdout, days)
    scale = _naive_scale(demand[:, train], valid[:, train])

    best_error = np.full(n, np.inf)
    method = np.zeros(n, dtype=np.int64)
    errors: dict[int, FloatArray] = {}
    for m, fit in FITS.items():
        tried = np.isin(klass, [c for c, ms in CANDIDATES.items() if m in ms])
        if not tried.any() or holdout == 0:
            continue
        rows = np.flatnonzero(tried)
        level, _ = fit(demand[rows, train], valid[rows, train])
        level = np.where(np.isnan(level), 0.0, level)
        out_valid = valid[rows, test]
        mae = (np.abs(demand[rows, test] - level[:, None]) * out_valid).sum(axis=1) / np.maximum(
            out_valid.sum(axis=1), 1
        )
        error = np.full(n, np.nan)
        error[rows] = mae / scale[rows]
        errors[m] = error
        better = tried & (error < best_error - 1e-12)
        best_error = np.where(better, error, best_error)
        method = np.where(better, m, method)
    # A class with candidates but no backtest (history too short): its first candidate.
    for c, ms in CANDIDATES.items():
        method = np.where((klass == c) & (method == 0), ms[0], method)

    mean = np.zeros(n)
    std = np.zeros(n)
    for m, fit in FITS.items():
        rows = np.flatnonzero(method == m)
        if rows.size == 0:
            continue
        level, fitted = fit(demand[rows], valid[rows])
        mean[rows] = np.where(np.isnan(level), 0.0, np.maximum(level, 0.0))
        residual = np.where(valid[rows] & ~np.isnan(fitted), demand[rows] - fitted, np.nan)
        with np.errstate(invalid="ignore"):
            counted = (~np.isnan(residual)).sum(axis=1)
            rmse = np.sqrt(np.nansum(residual**2, axis=1) / np.maximum(counted, 1))
        std[rows] = np.where(counted > 0, rmse, 0.0)
    backtest = np.where(np.isfinite(best_error), best_error, np.nan)
    backtest = np.where(klass == 0, np.nan, backtest)
    return Forecasts(
        demand_class=klass,
        method=method,
        history_days=valid.sum(axis=1).astype(np.int64),
        adi=adi,
        cv2=cv2,
        daily_mean=mean,
        daily_std=std,
        backtest_error=backtest,
    )


def _naive_scale(demand: FloatArray, valid: BoolArray) -> FloatArray:
    """The in-sample MAE of the naive forecast (yesterday's demand) over days that count; 1 where it is zero."""
    both = valid[:, 1:] & valid[:, :-1]
    diff = np.abs(demand[:, 1:] - demand[:, :-1]) * both
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = diff.sum(axis=1) / both.sum(axis=1)
    return np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)


def check_service_level(level: float) -> None:
    """ValueError unless 0.5 < level <= 0.9999."""
    if not (MIN_SERVICE_LEVEL < level <= MAX_SERVICE_LEVEL) or math.isnan(level):
        raise ValueError(f"A service level is a fraction above {MIN_SERVICE_LEVEL} and at most {MAX_SERVICE_LEVEL}.")


def policies(
    demand: FloatArray,
    valid: BoolArray,
    found: Forecasts,
    lead_time_days: IntArray,
    service_level: FloatArray,
    review_days: int,
) -> Policies:
    """Safety stock, reorder point and order-up-to per series (zeros where there is no demand)."""
    n = len(found.daily_mean)
    lead = np.maximum(np.asarray(lead_time_days, dtype=np.int64), 1)  # a same-day supplier still needs a day
    level = np.asarray(service_level, dtype=np.float64)
    mean_lead = found.daily_mean * lead
    z = np.array([NormalDist().inv_cdf(float(p)) for p in np.unique(level)])
    z_of = z[np.searchsorted(np.unique(level), level)]
    # The forecast is itself an estimate: over L days its error adds L² x Var(level) to the L x sigma² of demand;
    # an exponentially smoothed level (weight alpha) has variance sigma² x alpha / (2 - alpha).
    normal_safety = z_of * found.daily_std * np.sqrt(lead + lead**2 * LEVEL_VARIANCE)
    safety = np.where(np.isin(found.demand_class, NORMAL_CLASSES), normal_safety, 0.0)

    sporadic = np.flatnonzero(np.isin(found.demand_class, (2, 4)))
    if sporadic.size:
        d, v = demand[sporadic], valid[sporadic]
        quantile = bootstrap_quantile(d, v, lead[sporadic], level[sporadic])
        days = np.maximum(v.sum(axis=1), 1)
        history_mean = (d * v).sum(axis=1) / days
        history_std = np.sqrt((((d - history_mean[:, None]) ** 2) * v).sum(axis=1) / days)
        spread = np.maximum(quantile - lead[sporadic] * history_mean, 0.0)  # the bootstrap's quantile above its mean
        estimate = z_of[sporadic] * history_std * lead[sporadic] * np.sqrt(LEVEL_VARIANCE)
        safety[sporadic] = np.sqrt(spread**2 + estimate**2)

    safety = np.where(found.demand_class == 0, 0.0, np.maximum(safety, 0.0))
    safety_units = np.ceil(safety - 1e-9).astype(np.int64)
    reorder = np.ceil(mean_lead + safety - 1e-9).astype(np.int64)
    reorder = np.maximum(reorder, safety_units)
    up_to = np.ceil(mean_lead + safety + found.daily_mean * review_days - 1e-9).astype(np.int64)
    up_to = np.maximum(up_to, reorder)
    zero = found.demand_class == 0
    return Policies(
        safety_stock=np.where(zero, 0, safety_units)[:n],
        reorder_point=np.where(zero, 0, reorder),
        order_up_to=np.where(zero, 0, up_to),
    )


def bootstrap_quantile(demand: FloatArray, valid: BoolArray, lead: IntArray, level: FloatArray) -> FloatArray:
    """The `level` quantile of the sum of L days drawn with replacement from each row's days that count: the
    bootstrap's own distribution, computed exactly (the L-th power of the empirical daily distribution's Fourier
    transform) instead of sampled. Daily values above MAX_BINS are binned (the quantile scaled back)."""
    n = demand.shape[0]
    result = np.zeros(n)
    for lead_days in np.unique(lead).tolist():
        rows_of_lead = np.flatnonzero(lead == lead_days)
        for start in range(0, rows_of_lead.size, CHUNK):
            rows = rows_of_lead[start : start + CHUNK]
            result[rows] = _lead_time_quantile(demand[rows], valid[rows], int(lead_days), level[rows])
    return result


def _lead_time_quantile(demand: FloatArray, valid: BoolArray, lead: int, level: FloatArray) -> FloatArray:
    rows = demand.shape[0]
    largest = np.where(valid, demand, 0).max(axis=1)
    width = np.maximum(np.ceil(largest / MAX_BINS), 1.0)  # units per bin
    binned = np.where(valid, np.rint(demand / width[:, None]), 0).astype(np.int64)
    pmf = np.zeros((rows, MAX_BINS + 1))
    row_index = np.broadcast_to(np.arange(rows)[:, None], binned.shape)
    np.add.at(pmf, (row_index[valid], binned[valid]), 1.0)
    pmf /= np.maximum(pmf.sum(axis=1, keepdims=True), 1.0)
    size = 1 << int(np.ceil(np.log2(lead * int(binned.max(initial=0)) + 2)))
    spectrum = np.fft.rfft(pmf[:, :size], n=size, axis=1) ** lead
    total = np.clip(np.fft.irfft(spectrum, n=size, axis=1), 0.0, None)
    cdf = np.cumsum(total, axis=1) / np.maximum(total.sum(axis=1, keepdims=True), 1e-300)
    quantile = np.argmax(cdf >= level[:, None] - 1e-9, axis=1)
    return np.asarray(quantile * width, dtype=np.float64)


SERIES_PER_CHUNK = 100_000  # keeps the recursions' day-by-series arrays to a few hundred MB


def forecast_and_policies(
    demand: FloatArray,
    valid: BoolArray,
    lead_time_days: IntArray,
    service_level: FloatArray,
    review_days: int,
    chunk: int = SERIES_PER_CHUNK,
) -> tuple[Forecasts, Policies]:
    """`forecast` then `policies`, a chunk of series at a time (memory stays bounded however many series)."""
    parts: list[tuple[Forecasts, Policies]] = []
    for start in range(0, demand.shape[0], chunk):
        rows = slice(start, start + chunk)
        found = forecast(demand[rows], valid[rows])
        parts.append(
            (found, policies(demand[rows], valid[rows], found, lead_time_days[rows], service_level[rows], review_days))
        )
    if not parts:
        empty = forecast(np.zeros((0, max(demand.shape[1], 1))), np.zeros((0, max(demand.shape[1], 1)), dtype=bool))
        return empty, policies(demand, valid, empty, lead_time_days, service_level, review_days)
    joined = Forecasts(
        **{name: np.concatenate([getattr(f, name) for f, _ in parts]) for name in Forecasts.__dataclass_fields__}
    )
    policy = Policies(
        **{name: np.concatenate([getattr(p, name) for _, p in parts]) for name in Policies.__dataclass_fields__}
    )
    return joined, policy
