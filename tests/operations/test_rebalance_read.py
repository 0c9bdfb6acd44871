"""How a rebalance cuts the rows it read into one array per item."""

from __future__ import annotations

from pooling.rebalance import _split
from pooling.solver.problem import ints


def test_rows_of_an_item_that_was_not_read_go_nowhere() -> None:
    """On PostgreSQL each read sees its own moment: item 5's rows may come back although item 5 no longer needs a
    plan. They must be dropped, never handed to the item before or after it."""
    row_item = ints([2, 2, 5, 7, 9, 9])
    row_value = ints([20, 21, 50, 70, 90, 91])
    (values,) = _split(ints([2, 7, 8, 9]), row_item, row_value)
    assert [v.tolist() for v in values] == [[20, 21], [70], [], [90, 91]]


def test_no_rows_gives_an_empty_array_per_item() -> None:
    (values,) = _split(ints([1, 2]), ints([]), ints([]))
    assert [v.tolist() for v in values] == [[], []]
