"""The examples' comments speak of the demo that a newcomer runs: its regions are north and south."""

from __future__ import annotations

import re
from pathlib import Path

from pooling.demo import REGIONS

OPERATIONS = Path(__file__).parents[1] / "examples" / "operations.graphql"


def test_the_regions_in_the_operations_comments_are_the_demos() -> None:
    comments = [line.split("#", 1)[1] for line in OPERATIONS.read_text().splitlines() if "#" in line]
    regions = {region for comment in comments for region in re.findall(r'region: "([^"]*)"', comment)}
    assert regions and regions <= set(REGIONS), regions
