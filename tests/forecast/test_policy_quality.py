"""Forecast and policy quality: series of known parameters, a policy from their history, replayed over demand the
policy never saw. The share of replenishment cycles without a stock-out (lead-time demand within the reorder
point) reaches the target cycle service level less at most TOLERANCE, and the reorder point is not wasteful: one
unit less would not serve more than the target plus TOLERANCE."""

from __future__ import annotations

import numpy as np
import pytest

from models.enums import DemandClass
from pooling import forecasting as fc

HISTORY, FUTURE, SERIES = 365, 3000, 150
# The estimate from a year of history (mean and spread) is not the truth; whole units make the service of a
# reorder point jump by up to one unit's worth of probability, so it sits between the two bounds, not at target.
TOLERANCE = 0.025


def _poisson(rng: np.random.Generator, days: int) -> np.ndarray:
    means = np.linspace(3, 30, SERIES)[:, None]
    return rng.poisson(means, (SERIES, days)).astype(float)


def _bernoulli_size(rng: np.random.Generator, days: int) -> np.ndarray:
    chance = np.linspace(0.05, 0.3, SERIES)[:, None]
    size = np.linspace(1, 6, SERIES)[:, None]
    return (rng.random((SERIES, days)) < chance) * (1 + rng.poisson(size, (SERIES, days))).astype(float)


def _cycle_service(future: np.ndarray, lead: int, reorder_point: np.ndarray) -> np.ndarray:
    """Per series: the share of lead times (consecutive, non-overlapping) whose demand the reorder point covers."""
    cycles = future[:, : (future.shape[1] // lead) * lead].reshape(future.shape[0], -1, lead).sum(axis=2)
    covered: np.ndarray = (cycles <= reorder_point[:, None]).mean(axis=1)
    return covered


@pytest.mark.parametrize(("generator", "sporadic"), [(_poisson, False), (_bernoulli_size, True)])
@pytest.mark.parametrize("lead", [3, 10])
@pytest.mark.parametrize("target", [0.9, 0.95, 0.99])
def test_the_policy_reaches_its_cycle_service_level_on_demand_it_never_saw(
    generator: object, sporadic: bool, lead: int, target: float
) -> None:
    rng = np.random.default_rng(abs(hash((sporadic, lead, target))) % 2**32)
    make = generator  # type: ignore[assignment]
    history, future = make(rng, HISTORY), make(rng, FUTURE)  # type: ignore[operator]
    valid = np.ones_like(history, dtype=bool)
    found = fc.forecast(history, valid)
    classes = {fc.CLASS_CODES[k] for k in found.demand_class}
    if sporadic:
        assert classes <= {DemandClass.INTERMITTENT, DemandClass.LUMPY}
    else:
        assert classes == {DemandClass.SMOOTH}
    policy = fc.policies(history, valid, found, np.full(SERIES, lead), np.full(SERIES, target), review_days=7)
    achieved = _cycle_service(future, lead, policy.reorder_point).mean()
    one_less = _cycle_service(future, lead, policy.reorder_point - 1).mean()
    assert achieved >= target - TOLERANCE, (achieved, target)
    assert one_less <= target + TOLERANCE, (one_less, target)  # and not by holding more than it needs
    assert np.all(policy.safety_stock <= policy.reorder_point) and np.all(policy.reorder_point <= policy.order_up_to)
