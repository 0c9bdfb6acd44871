"""The vector recursions against Nixtla's statsforecast, series by series: the same forecast."""

from __future__ import annotations

import numpy as np
import pytest
from statsforecast.models import TSB, CrostonSBA, SimpleExponentialSmoothing

from pooling import forecasting as fc

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def series() -> np.ndarray:
    intermittent = (RNG.random((30, 120)) < 0.25) * (1 + RNG.poisson(4, (30, 120)))
    smooth = RNG.poisson(6, (30, 120))
    demand = np.vstack([intermittent, smooth]).astype(float)
    demand[:, 0] = np.maximum(demand[:, 0], 0)
    return demand


def test_croston_sba_as_statsforecast(series: np.ndarray) -> None:
    level, _ = fc.croston_sba(series, np.ones_like(series, dtype=bool))
    for row, mine in zip(series, level, strict=True):
        theirs = CrostonSBA().forecast(row, h=1)["mean"][0]
        assert mine == pytest.approx(theirs, rel=1e-9)


def test_tsb_as_statsforecast(series: np.ndarray) -> None:
    level, _ = fc.tsb(series, np.ones_like(series, dtype=bool))
    for row, mine in zip(series, level, strict=True):
        theirs = TSB(alpha_d=fc.TSB_ALPHA_D, alpha_p=fc.TSB_ALPHA_P).forecast(row, h=1)["mean"][0]
        assert mine == pytest.approx(theirs, rel=1e-9)


def test_ses_as_statsforecast(series: np.ndarray) -> None:
    level, _ = fc.ses(series, np.ones_like(series, dtype=bool))
    for row, mine in zip(series, level, strict=True):
        theirs = SimpleExponentialSmoothing(alpha=fc.SES_ALPHA).forecast(row, h=1)["mean"][0]
        assert mine == pytest.approx(theirs, rel=1e-9)


def test_the_backtest_picks_the_candidate_with_the_lowest_held_out_error(series: np.ndarray) -> None:
    valid = np.ones_like(series, dtype=bool)
    holdout = 30
    found = fc.forecast(series, valid, holdout=holdout)
    train, test = series[:, :-holdout], series[:, -holdout:]
    for row in range(series.shape[0]):
        candidates = fc.CANDIDATES[int(found.demand_class[row])]
        naive = np.mean(np.abs(np.diff(train[row])))
        errors = {}
        for method in candidates:
            level, _ = fc.FITS[method](train[row : row + 1], valid[row : row + 1, :-holdout])
            errors[method] = np.mean(np.abs(test[row] - level[0])) / naive
        best = min(errors.values())
        assert errors[int(found.method[row])] == pytest.approx(best)
        assert found.backtest_error[row] == pytest.approx(best)
