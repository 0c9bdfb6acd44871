"""Syntetos-Boylan classification on synthetic series, checked against ADI and CV² computed here row by row."""

from __future__ import annotations

import numpy as np
import pytest

from models.enums import DemandClass
from pooling import forecasting as fc

RNG = np.random.default_rng(7)
DAYS = 180


def _series(kind: str, n: int = 100) -> np.ndarray:
    if kind == "smooth":  # a demand every day, sizes Poisson(8) around their mean
        return RNG.poisson(8, (n, DAYS)).astype(float)
    if kind == "intermittent":  # a demand one day in ten, sizes 1 + Poisson(3)
        return (RNG.random((n, DAYS)) < 0.1) * (1 + RNG.poisson(3, (n, DAYS))).astype(float)
    if kind == "erratic":  # most days, sizes lognormal with a wide spread
        return (RNG.random((n, DAYS)) < 0.95) * np.ceil(RNG.lognormal(1.0, 1.2, (n, DAYS)))
    return (RNG.random((n, DAYS)) < 0.1) * np.ceil(RNG.lognormal(1.0, 1.2, (n, DAYS)))  # lumpy


def _by_hand(row: np.ndarray) -> tuple[float, float]:
    sizes = [float(v) for v in row if v > 0]
    adi = len(row) / len(sizes)
    mean = sum(sizes) / len(sizes)
    var = sum((s - mean) ** 2 for s in sizes) / len(sizes)
    return adi, var / mean**2


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("smooth", DemandClass.SMOOTH),
        ("intermittent", DemandClass.INTERMITTENT),
        ("erratic", DemandClass.ERRATIC),
        ("lumpy", DemandClass.LUMPY),
    ],
)
def test_each_regime_is_classified_by_its_adi_and_cv2(kind: str, expected: DemandClass) -> None:
    demand = _series(kind)
    klass, adi, cv2 = fc.classify(demand, np.ones_like(demand, dtype=bool))
    for row, k, a, c in zip(demand, klass, adi, cv2, strict=True):
        hand_adi, hand_cv2 = _by_hand(row)
        assert a == pytest.approx(hand_adi) and c == pytest.approx(hand_cv2)
        want = (hand_adi >= fc.ADI_CUT, hand_cv2 >= fc.CV2_CUT)
        assert (
            fc.CLASS_CODES[k]
            == {
                (False, False): DemandClass.SMOOTH,
                (True, False): DemandClass.INTERMITTENT,
                (False, True): DemandClass.ERRATIC,
                (True, True): DemandClass.LUMPY,
            }[want]
        )
    # The generator's regime is what most of its series are classified as.
    assert np.mean([fc.CLASS_CODES[k] == expected for k in klass]) > 0.8


def test_a_series_without_demand_is_no_demand_with_the_zero_method_and_no_stock() -> None:
    demand = np.zeros((3, 90))
    valid = np.ones_like(demand, dtype=bool)
    valid[1, :45] = False  # stock-out days change nothing
    found = fc.forecast(demand, valid)
    assert [fc.CLASS_CODES[k] for k in found.demand_class] == [DemandClass.NO_DEMAND] * 3
    assert [fc.METHODS[m] for m in found.method] == ["ZERO"] * 3
    assert np.all(found.daily_mean == 0) and np.all(np.isnan(found.backtest_error))
    policy = fc.policies(demand, valid, found, np.array([7, 7, 7]), np.array([0.95] * 3), 7)
    assert np.all(policy.safety_stock == 0) and np.all(policy.reorder_point == 0) and np.all(policy.order_up_to == 0)


def test_days_that_do_not_count_are_as_if_they_were_not_there() -> None:
    """Stock-out days without demand, left out through the mask, give what the series without them gives."""
    demand = np.vstack([_series("intermittent", 20), _series("smooth", 20)])
    valid = RNG.random(demand.shape) > 0.2
    valid |= demand > 0  # a day with demand always counts
    masked = fc.forecast(np.where(valid, demand, 0.0), valid, holdout=0)
    for row in range(demand.shape[0]):
        kept = demand[row][valid[row]][None, :]
        alone = fc.forecast(kept, np.ones_like(kept, dtype=bool), holdout=0)
        assert masked.demand_class[row] == alone.demand_class[0]
        assert masked.method[row] == alone.method[0]
        assert masked.daily_mean[row] == pytest.approx(alone.daily_mean[0])
        assert masked.daily_std[row] == pytest.approx(alone.daily_std[0])
        assert masked.history_days[row] == kept.shape[1]


@pytest.mark.parametrize("level", [0.5, 0.0, 1.0, 0.99995, -0.3, float("nan")])
def test_service_levels_outside_the_range_are_refused(level: float) -> None:
    with pytest.raises(ValueError, match="service level"):
        fc.check_service_level(level)
