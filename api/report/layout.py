"""The map's layout: its frame, the transfer arrows, and where each site's label covers least.

Geometry in longitude/latitude for plotly, and in px of the plot area at the page's usual width to weigh overlaps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from api.report.flows import Flow, Flows
from api.report.formatting import short, units

_KM_PER_DEGREE = 111.32
# The map's plot area at the page's usual width, in px: enough to keep site labels off arrows and each other.
MAP_HEIGHT = 520
_PLOT_W, _PLOT_H = 680.0, MAP_HEIGHT - 38.0
_Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in px, y up


@dataclass(frozen=True)
class Arrow:
    flow: Flow
    start: tuple[float, float]  # (longitude, latitude)
    end: tuple[float, float]
    width: float  # px
    label_share: float  # where its unit count sits, from start (0) to end (1)

    @property
    def label_at(self) -> tuple[float, float]:
        share = self.label_share
        return (
            self.start[0] + (self.end[0] - self.start[0]) * share,
            self.start[1] + (self.end[1] - self.start[1]) * share,
        )


def place_arrows(plan: Flows, view: View) -> list[Arrow]:
    """The flows between sites on the map, as wide as their units; a two-way pair side by side (not on top of each
    other), each with its count nearer its start, so that the two counts do not cover each other."""
    drawn = {(f.source, f.target) for f in plan.flows if f.source in plan.placed and f.target in plan.placed}
    biggest = max((f.units for f in plan.flows if (f.source, f.target) in drawn), default=1) or 1
    arrows = []
    for flow in plan.flows:
        if (flow.source, flow.target) not in drawn:
            continue
        start, end = plan.placed[flow.source], plan.placed[flow.target]
        if start == end:
            continue
        two_way = (flow.target, flow.source) in drawn
        shift = 8.0 / view.px_per_km if two_way else 0.0
        arrows.append(
            Arrow(
                flow,
                view.offset(start, end, shift),
                view.offset(end, start, -shift),
                1.5 + 5.5 * max(flow.units, 0) / biggest,
                0.36 if two_way else 0.5,
            )
        )
    return arrows


class View:
    """The map's frame: longitude/latitude axes padded around the sites, with a true-to-scale aspect."""

    def __init__(self, points: list[tuple[float, float]]) -> None:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        middle_lat = (min(ys) + max(ys)) / 2
        self.cos = max(math.cos(math.radians(middle_lat)), 0.05)
        self.aspect = 1 / self.cos
        # Pad around the sites (room for their labels); a lone site, or sites on one spot, get a frame of ~20 km.
        width = max((max(xs) - min(xs)) * self.cos, max(ys) - min(ys), 0.2)
        pad = width * 0.14
        self.x_range = [min(xs) - pad * 1.3 / self.cos, max(xs) + pad * 1.3 / self.cos]
        self.y_range = [min(ys) - pad, max(ys) + pad]
        # plotly widens one range to keep the aspect; the px scale is the tighter of the two.
        km_wide = (self.x_range[1] - self.x_range[0]) * self.cos * _KM_PER_DEGREE
        km_high = (self.y_range[1] - self.y_range[0]) * _KM_PER_DEGREE
        self.px_per_km = min(_PLOT_W / km_wide, _PLOT_H / km_high)
        self.centre = ((self.x_range[0] + self.x_range[1]) / 2, (self.y_range[0] + self.y_range[1]) / 2)

    def px(self, point: tuple[float, float]) -> tuple[float, float]:
        """Where `point` lands in the plot area, in px from its bottom-left corner (at the usual width)."""
        x = (point[0] - self.centre[0]) * self.cos * _KM_PER_DEGREE * self.px_per_km + _PLOT_W / 2
        y = (point[1] - self.centre[1]) * _KM_PER_DEGREE * self.px_per_km + _PLOT_H / 2
        return x, y

    def offset(self, a: tuple[float, float], b: tuple[float, float], km: float) -> tuple[float, float]:
        """`a` moved `km` to the right of the direction a -> b (a plain plane at this scale)."""
        if not km:
            return a
        dx, dy = (b[0] - a[0]) * self.cos, b[1] - a[1]
        length = math.hypot(dx, dy) or 1.0
        degrees = km / _KM_PER_DEGREE
        return (a[0] + dy / length * degrees / self.cos, a[1] - dx / length * degrees)

    def label_positions(self, plan: Flows, arrows: list[Arrow]) -> dict[str, str]:
        """For each site, the side of its marker (above, below, right, left) where its label covers least:
        arrows, transfer counts, other markers, labels already placed, and the frame's edge."""
        # An arrow covers a band as wide as it is, and more at its head.
        segments = [(self.px(a.start), self.px(a.end), a.width / 2 + 4) for a in arrows]
        taken: list[_Box] = []
        for arrow in arrows:
            x, y = self.px(arrow.label_at)
            half = 4 + 3.5 * len(units(arrow.flow.units))
            taken.append((x - half, y - 9, x + half, y + 9))
        markers = {code: self.px(point) for code, point in plan.placed.items()}
        busy = sorted(markers, key=lambda c: (-sum(c in (a.flow.source, a.flow.target) for a in arrows), c))
        chosen = {}
        for code in busy:
            x, y = markers[code]
            site = plan.sites[code]
            width = max(8.0 * len(site.code), 5.6 * len(short(site.name))) + 6
            height, r = 30.0, 9.0
            d = r * 0.7
            others = [at for other, at in markers.items() if other != code]
            best: tuple[float, str, _Box] | None = None
            for name, box, preference in (
                ("top center", (x - width / 2, y + r, x + width / 2, y + r + height), 0.0),
                ("bottom center", (x - width / 2, y - r - height, x + width / 2, y - r), 2.0),
                ("middle right", (x + r, y - height / 2, x + r + width, y + height / 2), 4.0),
                ("middle left", (x - r - width, y - height / 2, x - r, y + height / 2), 4.0),
                ("top right", (x + d, y + d, x + d + width, y + d + height), 6.0),
                ("top left", (x - d - width, y + d, x - d, y + d + height), 6.0),
                ("bottom right", (x + d, y - d - height, x + d + width, y - d), 8.0),
                ("bottom left", (x - d - width, y - d - height, x - d, y - d), 8.0),
            ):
                cost = preference + sum(_inside(p, q, _grown(box, pad)) for p, q, pad in segments)
                cost += sum(_overlap(box, other) / 12 for other in taken)
                cost += sum(60.0 for at in others if _contains(box, at, r))
                outside = max(0.0, -box[0]) + max(0.0, box[2] - _PLOT_W) + max(0.0, -box[1])
                cost += 4 * (outside + max(0.0, box[3] - _PLOT_H))
                if best is None or cost < best[0]:
                    best = (cost, name, box)
            assert best is not None
            chosen[code] = best[1]
            taken.append(best[2])
        return chosen

    def scale_bar(self) -> tuple[int, tuple[float, float, float]]:
        """A round length of about a fifth of the frame, and where to draw it: (km, (x start, x end, y))."""
        wanted = _PLOT_W / self.px_per_km * 0.2
        km = next((k for k in (1000, 500, 200, 100, 50, 20, 10, 5, 2, 1) if k <= wanted), 1)
        left = self.centre[0] - _PLOT_W / 2 / self.px_per_km / _KM_PER_DEGREE / self.cos
        bottom = self.centre[1] - _PLOT_H / 2 / self.px_per_km / _KM_PER_DEGREE
        x0 = left + 24 / self.px_per_km / _KM_PER_DEGREE / self.cos
        y = bottom + 16 / self.px_per_km / _KM_PER_DEGREE
        return km, (x0, x0 + km / (_KM_PER_DEGREE * self.cos), y)


def _inside(p: tuple[float, float], q: tuple[float, float], box: _Box) -> float:
    """The length of the segment p-q inside `box` (Liang-Barsky clipping)."""
    low, high = 0.0, 1.0
    dx, dy = q[0] - p[0], q[1] - p[1]
    for step, room in ((-dx, p[0] - box[0]), (dx, box[2] - p[0]), (-dy, p[1] - box[1]), (dy, box[3] - p[1])):
        if step == 0:
            if room < 0:
                return 0.0
            continue
        t = room / step
        if step < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return 0.0
    return (high - low) * math.hypot(dx, dy)


def _grown(box: _Box, by: float) -> _Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _overlap(a: _Box, b: _Box) -> float:
    return max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))


def _contains(box: _Box, point: tuple[float, float], margin: float) -> bool:
    return box[0] - margin < point[0] < box[2] + margin and box[1] - margin < point[1] < box[3] + margin
