"""The coordinator's HTML report of a rebalance: one self-contained page, readable offline.

The caller builds `RegionReport`s (from the database or anything else); this module only draws them. Each region
gets a row of figures, a map of its sites with the suggested transfers as arrows, a stacked bar chart of what each
receiving site gets (by transfer, by reorder, unmet), and tables of the transfers, reorders and unmet demand.

The charts use plotly (the optional `report` extra). plotly.js is embedded once, inline, so the page needs no
network: no CDN, no web font, no map tiles (the map is a plain longitude/latitude plot, not a tiled or geo map,
both of which would fetch their base map from the internet). The page is pure ASCII, whatever the text in it.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class SiteMark:
    code: str
    name: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True)
class RegionReport:
    region: str
    mode: str  # "POOL_FIRST" | "LEAST_COST"
    saved: bool  # False for a dry run
    # keys: unitsRequested, unitsByTransfer, unitsByReorder, unitsUnmet, transferCost, reorderCost, totalCost,
    # allExternalCost, savings (money as strings like "14.40"), solveMillis
    figures: dict[str, float | int | str]
    sites: list[SiteMark]
    transfers: list[dict[str, object]]  # keys: from, to, sku, quantity (int), unitCost (str), status (str)
    reorders: list[dict[str, object]]  # keys: site, sku, quantity, unitCost, status
    unmet: list[dict[str, object]]  # keys: site, sku, quantity


# Suggestions in these states will not happen: they stay in the tables but are left off the map and the bar chart.
_DROPPED_TRANSFERS = frozenset({"REJECTED", "SUPERSEDED", "CANCELLED"})
_DROPPED_REORDERS = frozenset({"REJECTED", "SUPERSEDED"})

_TRANSFER = "#2563eb"
_REORDER = "#d97706"
_UNMET = "#dc2626"
_SITE = "#0f172a"
_MUTED = "#64748b"
_FONT = '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_MODES = {"POOL_FIRST": "pool first: transfers before reorders", "LEAST_COST": "least cost overall"}
_KM_PER_DEGREE = 111.32
# A white outline around the site labels, so they stay legible where an arrow passes under them.
_HALO = "0 0 2px white, 0 0 3px white, 0 0 4px white"


def render_report(regions: list[RegionReport], generated_at: datetime) -> str:
    """The whole HTML page."""
    try:
        import plotly.graph_objects as go
        from plotly.offline import get_plotlyjs
        from plotly.utils import PlotlyJSONEncoder
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise RuntimeError("the HTML report needs plotly: pip install 'stockpool[report]'") from error

    charts = _Charts(go, PlotlyJSONEncoder)
    when = _when(generated_at)
    sections = [_region_section(index, region, charts) for index, region in enumerate(regions)]
    body = "\n".join(sections) if sections else '<p class="empty">No region was rebalanced.</p>'
    page = _PAGE.format(
        css=_CSS,
        plotly_js=_script_safe(get_plotlyjs()),
        title=_text(f"Stock pooling report, {when}"),
        when=_text(when),
        overview=_overview(regions),
        body=body,
        footer=_text(
            f"stockpool rebalance report, generated {when}. Suggested transfers and reorders are the plan's; "
            "money is in the plan's currency. This page works offline."
        ),
    )
    return page


# ---------------------------------------------------------------------------------------------------------------
# Page sections


def _overview(regions: list[RegionReport]) -> str:
    if not regions:
        return ""
    chips = []
    for index, region in enumerate(regions):
        unmet = _int(region.figures.get("unitsUnmet"))
        state = (
            f'<span class="chip-note bad">{_text(_units(unmet))} unmet</span>'
            if unmet
            else '<span class="chip-note good">all demand met</span>'
        )
        chips.append(f'<a class="chip" href="#region-{index}"><b>{_text(region.region)}</b>{state}</a>')
    transfers = sum(len(r.transfers) for r in regions)
    reorders = sum(len(r.reorders) for r in regions)
    unmet_units = sum(_int(r.figures.get("unitsUnmet")) for r in regions)
    summary = (
        f"{_plural(len(regions), 'region')} &middot; {_plural(transfers, 'transfer')} &middot; "
        f"{_plural(reorders, 'reorder')} &middot; {_text(_units(unmet_units))} units unmet"
    )
    return f'<nav class="overview"><p>{summary}</p><div class="chips">{"".join(chips)}</div></nav>'


def _region_section(index: int, region: RegionReport, charts: _Charts) -> str:
    f = region.figures
    mode = _MODES.get(region.mode, "")
    badges = [
        f'<span class="badge mode" title="{_text(mode)}">{_text(region.mode)}</span>',
        '<span class="badge saved">saved plan</span>'
        if region.saved
        else '<span class="badge dry">dry run &mdash; not saved</span>',
    ]
    unmet = _int(f.get("unitsUnmet"))
    savings = _decimal(f.get("savings"))
    requested = _int(f.get("unitsRequested"))

    def share(key: str) -> str:
        return f"{_int(f.get(key)) / requested:.0%} of requested" if requested else ""

    cards = [
        _card("requested", _units(f.get("unitsRequested")), "", "units"),
        _card("by transfer", _units(f.get("unitsByTransfer")), "transfer", share("unitsByTransfer")),
        _card("by reorder", _units(f.get("unitsByReorder")), "reorder", share("unitsByReorder")),
        _card("unmet", _units(f.get("unitsUnmet")), "unmet" if unmet else "met", share("unitsUnmet")),
        _card("transfer cost", _money(f.get("transferCost")), "", _plural(len(region.transfers), "transfer")),
        _card("reorder cost", _money(f.get("reorderCost")), "", _plural(len(region.reorders), "reorder")),
        _card("total cost", _money(f.get("totalCost")), "", "transfers + reorders"),
        _card(
            "savings",
            _money(f.get("savings")),
            "loss" if savings is not None and savings < 0 else "saving",
            f"vs {_money(f.get('allExternalCost'))} all from suppliers" if "allExternalCost" in f else "",
        ),
        _card("solve time", _millis(f.get("solveMillis")), "", "optimiser"),
    ]
    plan = _Plan(region)
    return f"""<section class="region" id="region-{index}">
<header class="region-head"><h2>{_text(region.region)}</h2>{"".join(badges)}</header>
<div class="cards">{"".join(cards)}</div>
<div class="charts">
<figure class="panel"><figcaption>Sites and suggested transfers
<span class="hint">arrow width &prop; units; hover an arrow for its items</span></figcaption>
{charts.map(plan)}{_off_map_note(plan)}</figure>
<figure class="panel"><figcaption>What each receiving site gets
<span class="hint">units, by source</span></figcaption>
{charts.bars(plan)}</figure>
</div>
{_sites_key(region)}
{_tables(region)}
</section>"""


def _card(label: str, value: str, tone: str = "", note: str = "") -> str:
    extra = f'<div class="card-note">{_text(note)}</div>' if note else ""
    return (
        f'<div class="card {tone}"><div class="card-label">{_text(label)}</div>'
        f'<div class="card-value">{_text(value)}</div>{extra}</div>'
    )


def _off_map_note(plan: _Plan) -> str:
    if not plan.unplaced:
        return ""
    codes = ", ".join(plan.unplaced)
    return f'<p class="note">Not on the map (no coordinates): {_text(codes)}.</p>'


def _sites_key(region: RegionReport) -> str:
    if not region.sites:
        return ""
    names = " &middot; ".join(
        f'<span class="site"><b>{_text(s.code)}</b> {_text(s.name)}</span>'
        for s in sorted(region.sites, key=lambda s: s.code)
    )
    return f'<p class="sites-key"><span class="sites-title">Sites</span> {names}</p>'


def _tables(region: RegionReport) -> str:
    transfers = _table(
        "Transfers",
        ["from", "to", "item", "units", "unit cost", "cost", "status"],
        [
            [t.get("from"), t.get("to"), t.get("sku"), t.get("quantity"), t.get("unitCost"), None, t.get("status")]
            for t in region.transfers
        ],
        "No transfer suggested.",
    )
    reorders = _table(
        "Reorders from suppliers",
        ["site", "item", "units", "unit cost", "cost", "status"],
        [
            [o.get("site"), o.get("sku"), o.get("quantity"), o.get("unitCost"), None, o.get("status")]
            for o in region.reorders
        ],
        "No reorder suggested.",
    )
    unmet = _table(
        "Unmet demand",
        ["site", "item", "units"],
        [[u.get("site"), u.get("sku"), u.get("quantity")] for u in region.unmet],
        "All demand met.",
    )
    return f'<div class="tables">{transfers}{reorders}{unmet}</div>'


def _table(title: str, columns: list[str], rows: list[list[object]], empty: str) -> str:
    numeric = {"units", "unit cost", "cost"}
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{_text(c)}</th>' for c in columns)
    body = []
    total_units = 0
    total_cost: Decimal | None = Decimal(0)
    for row in rows:
        cells = []
        units = _int(row[columns.index("units")])
        total_units += units
        for column, value in zip(columns, row, strict=True):
            if column == "cost":
                cost = _line_cost(units, row[columns.index("unit cost")])
                total_cost = None if cost is None or total_cost is None else total_cost + cost
                shown = "" if cost is None else _money(cost)
            elif column == "unit cost":
                shown = _money(value)
            elif column == "units":
                shown = _units(value)
            elif column == "status":
                shown = _status(value)
                cells.append(f"<td>{shown}</td>")
                continue
            else:
                shown = "" if value is None else str(value)
            cells.append(f'<td class="{"num" if column in numeric else ""}">{_text(shown)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    count = f'<span class="count">{len(rows)}</span>'
    if not rows:
        return f'<div class="table-block"><h3>{_text(title)} {count}</h3><p class="empty">{_text(empty)}</p></div>'
    foot_cells = []
    for column in columns:
        if column == columns[0]:
            foot_cells.append("<td>total</td>")
        elif column == "units":
            foot_cells.append(f'<td class="num">{_text(_units(total_units))}</td>')
        elif column == "cost" and total_cost is not None:
            foot_cells.append(f'<td class="num">{_text(_money(total_cost))}</td>')
        else:
            foot_cells.append("<td></td>")
    return (
        f'<div class="table-block"><h3>{_text(title)} {count}</h3><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody><tfoot><tr>{''.join(foot_cells)}</tr></tfoot></table></div>"
    )


def _status(value: object) -> str:
    status = "" if value is None else str(value)
    tone = "off" if status in _DROPPED_TRANSFERS | _DROPPED_REORDERS else status.lower()
    return f'<span class="status {_text(re.sub(r"[^a-z_]", "", tone))}">{_text(status)}</span>'


# ---------------------------------------------------------------------------------------------------------------
# The region's plan, summed up for the charts


@dataclass(frozen=True)
class _Flow:
    source: str
    target: str
    units: int
    items: list[tuple[str, int, str]]  # (sku, units, status)


@dataclass
class _Receipts:
    by_transfer: int = 0
    by_reorder: int = 0
    unmet: int = 0
    sent: int = 0
    items: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))


class _Plan:
    def __init__(self, region: RegionReport) -> None:
        self.sites = {s.code: s for s in region.sites}
        self.placed = {
            s.code: (float(s.longitude), float(s.latitude))
            for s in region.sites
            if s.latitude is not None and s.longitude is not None and _finite(s.latitude) and _finite(s.longitude)
        }
        self.unplaced = [s.code for s in region.sites if s.code not in self.placed]
        self.receipts: dict[str, _Receipts] = defaultdict(_Receipts)
        pairs: dict[tuple[str, str], list[tuple[str, int, str]]] = defaultdict(list)
        for t in region.transfers:
            status = str(t.get("status", ""))
            if status in _DROPPED_TRANSFERS:
                continue
            source, target, units = str(t.get("from")), str(t.get("to")), _int(t.get("quantity"))
            pairs[(source, target)].append((str(t.get("sku")), units, status))
            self.receipts[target].by_transfer += units
            self.receipts[target].items["by transfer"].append(f"{t.get('sku')} \u00d7 {units} from {source}")
            self.receipts[source].sent += units
        for o in region.reorders:
            if str(o.get("status", "")) in _DROPPED_REORDERS:
                continue
            site, units = str(o.get("site")), _int(o.get("quantity"))
            self.receipts[site].by_reorder += units
            self.receipts[site].items["by reorder"].append(f"{o.get('sku')} \u00d7 {units}")
        for u in region.unmet:
            site, units = str(u.get("site")), _int(u.get("quantity"))
            self.receipts[site].unmet += units
            self.receipts[site].items["unmet"].append(f"{u.get('sku')} \u00d7 {units}")
        self.flows = [
            _Flow(source, target, sum(units for _, units, _ in items), items)
            for (source, target), items in sorted(pairs.items())
        ]
        # Sites that receive something or go short, in code order (present or not among the sites given).
        self.receivers = sorted(code for code, r in self.receipts.items() if r.by_transfer or r.by_reorder or r.unmet)


# ---------------------------------------------------------------------------------------------------------------
# Charts


class _Charts:
    """Builds plotly figures and embeds them as inline scripts (plotly.js itself is in the page head)."""

    def __init__(self, go: Any, encoder: type[json.JSONEncoder]) -> None:
        self.go = go
        self.encoder = encoder
        self.count = 0

    def embed(self, figure: Any, height: int) -> str:
        self.count += 1
        element = f"chart-{self.count}"
        spec = figure.to_plotly_json()
        config = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d", "select2d"]}
        data = _json(spec["data"], self.encoder)
        layout = _json(spec["layout"], self.encoder)
        return (
            f'<div class="chart" id="{element}" style="height:{height}px"></div>\n'
            f'<script>Plotly.newPlot("{element}", {data}, {layout}, {_json(config, self.encoder)});</script>'
        )

    def map(self, plan: _Plan) -> str:
        go = self.go
        if not plan.placed:
            return '<p class="empty chart-empty">No site of this region has coordinates: no map to draw.</p>'
        view = _View(list(plan.placed.values()))
        arrows = _arrows(plan, view)
        figure = go.Figure()
        annotations: list[dict[str, Any]] = []
        hover_x: list[float | None] = []
        hover_y: list[float | None] = []
        hover_text: list[str] = []
        for arrow in arrows:
            flow, start, end = arrow.flow, arrow.start, arrow.end
            width = arrow.width
            label = (
                f"<b>{_text(flow.source)} &#8594; {_text(flow.target)}</b>: {_text(_units(flow.units))} units"
                f"<br>{_hover_items(flow.items)}"
            )
            annotations.append(
                {
                    "x": end[0],
                    "y": end[1],
                    "ax": start[0],
                    "ay": start[1],
                    "xref": "x",
                    "yref": "y",
                    "axref": "x",
                    "ayref": "y",
                    "text": "",
                    "showarrow": True,
                    "arrowhead": 2,
                    "arrowsize": min(1.5, max(0.75, 4.0 / width)),
                    "arrowwidth": width,
                    "arrowcolor": "rgba(37, 99, 235, 0.72)",
                    "standoff": 10,
                    "startstandoff": 9,
                }
            )
            annotations.append(
                {
                    "x": arrow.label_at[0],
                    "y": arrow.label_at[1],
                    "xref": "x",
                    "yref": "y",
                    "text": f"<b>{_text(_units(flow.units))}</b>",
                    "showarrow": False,
                    "font": {"size": 11, "color": "#1d4ed8"},
                    "bgcolor": "rgba(255, 255, 255, 0.92)",
                    "bordercolor": _TRANSFER,
                    "borderwidth": 1,
                    "borderpad": 2,
                    "hovertext": label,
                }
            )
            # Invisible points along the arrow carry its hover text, so hovering anywhere on it tells the items.
            for step in range(1, 20):
                share = step / 20
                hover_x.append(start[0] + (end[0] - start[0]) * share)
                hover_y.append(start[1] + (end[1] - start[1]) * share)
                hover_text.append(label)
        figure.add_trace(
            go.Scatter(
                x=hover_x or [None],
                y=hover_y or [None],
                mode="markers",
                marker={"size": 14, "color": _TRANSFER, "opacity": 0},
                hovertext=hover_text,
                hoverinfo="text",
                showlegend=False,
            )
        )
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line={"color": _TRANSFER, "width": 4},
                name="transfer (width &#8733; units)",
                hoverinfo="skip",
            )
        )
        codes = sorted(plan.placed)
        nothing: list[float | None] = [None]
        for name, color, size, picked in (
            ("gets a reorder", _REORDER, 26, [c for c in codes if plan.receipts[c].by_reorder]),
            ("has unmet demand", _UNMET, 34, [c for c in codes if plan.receipts[c].unmet]),
        ):
            figure.add_trace(
                go.Scatter(
                    x=[plan.placed[c][0] for c in picked] or nothing,
                    y=[plan.placed[c][1] for c in picked] or nothing,
                    mode="markers",
                    marker={"size": size, "symbol": "circle-open", "color": color, "line": {"width": 3}},
                    name=name,
                    hoverinfo="skip",
                    visible=True if picked else "legendonly",
                )
            )
        positions = view.label_positions(plan, arrows)
        figure.add_trace(
            go.Scatter(
                x=[plan.placed[c][0] for c in codes],
                y=[plan.placed[c][1] for c in codes],
                mode="markers+text",
                marker={"size": 15, "color": _SITE, "line": {"width": 2, "color": "white"}},
                text=[_site_label(plan.sites[c]) for c in codes],
                textposition=[positions[c] for c in codes],
                textfont={"size": 12, "color": _SITE, "shadow": _HALO},
                hovertext=[_site_hover(plan.sites[c], plan.receipts.get(c)) for c in codes],
                hoverinfo="text",
                name="site",
            )
        )
        km, (x0, x1, y) = view.scale_bar()
        annotations.append(
            {
                "x": (x0 + x1) / 2,
                "y": y,
                "xref": "x",
                "yref": "y",
                "text": f"{km} km",
                "showarrow": False,
                "yshift": 10,
                "font": {"size": 11, "color": _MUTED},
            }
        )
        figure.update_layout(
            template="plotly_white",
            font={"family": _FONT, "size": 12, "color": "#1e293b"},
            margin={"l": 4, "r": 4, "t": 4, "b": 34},
            plot_bgcolor="#eef3f8",
            paper_bgcolor="white",
            hovermode="closest",
            hoverlabel={"bgcolor": "white", "font": {"family": _FONT, "size": 12}, "align": "left"},
            legend={"orientation": "h", "x": 0, "y": 0, "xanchor": "left", "yanchor": "top", "font": {"size": 11}},
            annotations=annotations,
            shapes=[{"type": "line", "x0": x0, "x1": x1, "y0": y, "y1": y, "line": {"color": _MUTED, "width": 3}}],
            xaxis={"range": view.x_range, "gridcolor": "white", "zeroline": False, "showticklabels": False},
            yaxis={
                "range": view.y_range,
                "gridcolor": "white",
                "zeroline": False,
                "showticklabels": False,
                "scaleanchor": "x",
                "scaleratio": view.aspect,
            },
        )
        return self.embed(figure, _MAP_HEIGHT)

    def bars(self, plan: _Plan) -> str:
        go = self.go
        if not plan.receivers:
            return '<p class="empty chart-empty">No site receives anything and no demand is unmet.</p>'
        codes = plan.receivers
        figure = go.Figure()
        for name, color, part in (
            ("by transfer", _TRANSFER, lambda r: r.by_transfer),
            ("by reorder", _REORDER, lambda r: r.by_reorder),
            ("unmet", _UNMET, lambda r: r.unmet),
        ):
            values = [part(plan.receipts[c]) for c in codes]
            hover = [
                f"<b>{_text(c)}</b> {_text(_site_name(plan.sites.get(c)))}<br>{name}: {_text(_units(v))} units"
                + "".join(f"<br>&#183; {_text(line)}" for line in plan.receipts[c].items[name][:10])
                + (
                    f"<br>&#8230; and {len(plan.receipts[c].items[name]) - 10} more"
                    if len(plan.receipts[c].items[name]) > 10
                    else ""
                )
                for c, v in zip(codes, values, strict=True)
            ]
            figure.add_trace(
                go.Bar(
                    x=[_text(c) for c in codes],
                    y=values,
                    name=name,
                    marker={"color": color},
                    text=[_units(v) if v else "" for v in values],
                    textposition="inside",
                    textangle=0,
                    insidetextanchor="middle",
                    textfont={"color": "white", "size": 12},
                    hovertext=hover,
                    hoverinfo="text",
                )
            )
        figure.update_layout(
            template="plotly_white",
            barmode="stack",
            uniformtext={"minsize": 10, "mode": "hide"},
            bargap=0.35,
            font={"family": _FONT, "size": 12, "color": "#1e293b"},
            margin={"l": 48, "r": 8, "t": 28, "b": 64},
            legend={
                "orientation": "h",
                "x": 0,
                "y": -0.08,
                "xanchor": "left",
                "yanchor": "top",
                "traceorder": "normal",
            },
            hoverlabel={"bgcolor": "white", "font": {"family": _FONT, "size": 12}, "align": "left"},
            xaxis={"type": "category", "tickfont": {"size": 13}},
            yaxis={"title": {"text": "units"}, "rangemode": "tozero", "gridcolor": "#e2e8f0"},
        )
        return self.embed(figure, _MAP_HEIGHT)


@dataclass(frozen=True)
class _Arrow:
    flow: _Flow
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


def _arrows(plan: _Plan, view: _View) -> list[_Arrow]:
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
            _Arrow(
                flow,
                view.offset(start, end, shift),
                view.offset(end, start, -shift),
                1.5 + 5.5 * max(flow.units, 0) / biggest,
                0.36 if two_way else 0.5,
            )
        )
    return arrows


# The map's plot area at the page's usual width, in px: enough to keep site labels off arrows and each other.
_MAP_HEIGHT = 520
_PLOT_W, _PLOT_H = 680.0, _MAP_HEIGHT - 38.0
_Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in px, y up


class _View:
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

    def label_positions(self, plan: _Plan, arrows: list[_Arrow]) -> dict[str, str]:
        """For each site, the side of its marker (above, below, right, left) where its label covers least:
        arrows, transfer counts, other markers, labels already placed, and the frame's edge."""
        # An arrow covers a band as wide as it is, and more at its head.
        segments = [(self.px(a.start), self.px(a.end), a.width / 2 + 4) for a in arrows]
        taken: list[_Box] = []
        for arrow in arrows:
            x, y = self.px(arrow.label_at)
            half = 4 + 3.5 * len(_units(arrow.flow.units))
            taken.append((x - half, y - 9, x + half, y + 9))
        markers = {code: self.px(point) for code, point in plan.placed.items()}
        busy = sorted(markers, key=lambda c: (-sum(c in (a.flow.source, a.flow.target) for a in arrows), c))
        chosen = {}
        for code in busy:
            x, y = markers[code]
            site = plan.sites[code]
            width = max(8.0 * len(site.code), 5.6 * len(_short(site.name))) + 6
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


def _hover_items(items: list[tuple[str, int, str]]) -> str:
    shown = sorted(items, key=lambda item: (-item[1], item[0]))
    lines = [
        f"&#183; {_text(sku)} &#215; {_text(_units(units))} ({_text(status.lower())})"
        for sku, units, status in shown[:12]
    ]
    if len(shown) > 12:
        lines.append(f"&#8230; and {len(shown) - 12} more items")
    return "<br>".join(lines)


def _short(name: str) -> str:
    return name if len(name) <= 24 else name[:23].rstrip() + "\u2026"


def _site_label(site: SiteMark) -> str:
    return f"<b>{_text(site.code)}</b><br><span style='font-size:10px;color:{_MUTED}'>{_text(_short(site.name))}</span>"


def _site_hover(site: SiteMark, receipts: _Receipts | None) -> str:
    lines = [f"<b>{_text(site.code)}</b> {_text(site.name)}"]
    if receipts:
        for label, value in (
            ("sends by transfer", receipts.sent),
            ("gets by transfer", receipts.by_transfer),
            ("gets by reorder", receipts.by_reorder),
            ("unmet", receipts.unmet),
        ):
            if value:
                lines.append(f"{label}: {_text(_units(value))} units")
    if len(lines) == 1:
        lines.append("no movement")
    return "<br>".join(lines)


def _site_name(site: SiteMark | None) -> str:
    return site.name if site else ""


# ---------------------------------------------------------------------------------------------------------------
# Formatting


def _text(value: object) -> str:
    """HTML-escaped, and ASCII-only (anything else as a character reference); also fine in plotly's labels."""
    return html.escape(str(value)).encode("ascii", "xmlcharrefreplace").decode("ascii")


def _json(value: object, encoder: type[json.JSONEncoder]) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` (they stay, escaped, inside the JSON strings)."""
    text = json.dumps(value, cls=encoder, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _script_safe(source: str) -> str:
    """plotly.js as ASCII (its few non-ASCII characters, all in regular expressions, as \\u escapes)."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        if code > 0xFFFF:
            code -= 0x10000
            return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
        return f"\\u{code:04x}"

    return re.sub(r"[^\x00-\x7f]", escape, source).replace("</script", "<\\/script")


def _when(moment: datetime) -> str:
    zone = moment.tzname()
    return moment.strftime("%Y-%m-%d %H:%M") + (f" {zone}" if zone else "")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(float(value))


def _int(value: object) -> int:
    try:
        return int(str(value)) if not isinstance(value, int | float) else int(value)
    except (TypeError, ValueError):
        return 0


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _units(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return "\u2013" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    number = _decimal(value)
    if number is not None and number == number.to_integral_value():
        return f"{int(number):,}"
    return str(value)


def _money(value: object) -> str:
    if value is None:
        return "\u2013"
    number = _decimal(value)
    return f"{number:,.2f}" if number is not None else str(value)


def _line_cost(units: int, unit_cost: object) -> Decimal | None:
    cost = _decimal(unit_cost)
    return None if cost is None else cost * units


def _millis(value: object) -> str:
    number = _decimal(value)
    if number is None:
        return "\u2013" if value is None else str(value)
    return f"{number / 1000:,.1f} s" if number >= 1000 else f"{number:,.0f} ms"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


# ---------------------------------------------------------------------------------------------------------------
# The page

_CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f1f5f9;color:#1e293b;font:14px/1.45 -apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,
sans-serif}
.page{max-width:1320px;margin:0 auto;padding:20px 24px 8px}
.top{display:flex;align-items:baseline;justify-content:space-between;flex-wrap:wrap;gap:8px;
border-bottom:3px solid #1e3a8a;padding-bottom:10px;margin-bottom:14px}
.top h1{margin:0;font-size:24px;color:#1e3a8a;letter-spacing:-.01em}
.top .when{color:#475569;font-size:14px}
.overview p{margin:0 0 8px;color:#475569}
.chips{display:flex;flex-wrap:wrap;gap:8px;margin-bottom:6px}
.chip{display:inline-flex;gap:8px;align-items:center;background:#fff;border:1px solid #cbd5e1;border-radius:999px;
padding:4px 12px;text-decoration:none;color:#1e293b}
.chip:hover{border-color:#1e3a8a}
.chip-note{font-size:12px;font-weight:600}
.good{color:#15803d}.bad{color:#b91c1c}
.region{background:#fff;border:1px solid #e2e8f0;border-radius:10px;padding:18px 20px;margin:18px 0;
box-shadow:0 1px 2px rgba(15,23,42,.05)}
.region-head{display:flex;align-items:center;gap:10px;flex-wrap:wrap;margin-bottom:12px}
.region-head h2{margin:0 8px 0 0;font-size:22px}
.badge{font-size:12px;font-weight:600;border-radius:6px;padding:2px 8px;border:1px solid}
.badge.mode{color:#1e3a8a;border-color:#93c5fd;background:#eff6ff}
.badge.saved{color:#15803d;border-color:#86efac;background:#f0fdf4}
.badge.dry{color:#92400e;border-color:#fcd34d;background:#fffbeb}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(112px,1fr));gap:10px;margin-bottom:16px}
.card{border:1px solid #e2e8f0;border-left:4px solid #94a3b8;border-radius:8px;padding:8px 10px;background:#f8fafc}
.card-label{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#64748b}
.card-value{font-size:21px;font-weight:700;font-variant-numeric:tabular-nums;white-space:nowrap}
.card-note{font-size:11px;color:#64748b}
.card.transfer{border-left-color:#2563eb}.card.transfer .card-value{color:#1d4ed8}
.card.reorder{border-left-color:#d97706}.card.reorder .card-value{color:#b45309}
.card.unmet{border-left-color:#dc2626;background:#fef2f2}.card.unmet .card-value{color:#b91c1c}
.card.met{border-left-color:#16a34a}
.card.saving{border-left-color:#16a34a;background:#f0fdf4}.card.saving .card-value{color:#15803d}
.card.loss{border-left-color:#dc2626}.card.loss .card-value{color:#b91c1c}
.charts{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
@media (max-width:900px){.charts{grid-template-columns:minmax(0,1fr)}}
.panel{margin:0;border:1px solid #e2e8f0;border-radius:8px;padding:10px 12px;min-width:0}
.panel figcaption{font-weight:600;margin-bottom:6px}
.hint{font-weight:400;color:#64748b;font-size:12px;margin-left:6px}
.chart{width:100%}
.sites-key{margin:14px 0 0;font-size:13px;color:#334155}
.sites-key .site{white-space:nowrap}
.sites-title{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:#64748b;margin-right:4px}
.note{margin:6px 0 0;color:#92400e;font-size:13px}
.empty{color:#64748b;font-style:italic}
.chart-empty{display:flex;align-items:center;justify-content:center;min-height:160px;margin:0;background:#f8fafc;
border-radius:6px}
.tables{display:flex;flex-wrap:wrap;gap:16px 28px;margin-top:16px;align-items:flex-start}
.table-block{flex:1 1 auto;overflow-x:auto}
.table-block h3{font-size:15px;margin:0 0 6px}
.count{display:inline-block;min-width:22px;text-align:center;font-size:12px;background:#e2e8f0;border-radius:999px;
padding:0 6px;margin-left:4px;color:#334155}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;font-weight:600;color:#475569;border-bottom:2px solid #cbd5e1;padding:4px 7px;white-space:nowrap}
td{padding:4px 7px;border-bottom:1px solid #e2e8f0;white-space:nowrap}
tbody tr:nth-child(even){background:#f8fafc}
tfoot td{font-weight:700;border-top:2px solid #cbd5e1;border-bottom:none}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.status{font-size:11px;font-weight:600;border-radius:4px;padding:1px 6px;background:#e2e8f0;color:#334155}
.status.suggested{background:#eff6ff;color:#1d4ed8}
.status.approved,.status.ordered,.status.shipped,.status.received{background:#f0fdf4;color:#15803d}
.status.off{background:#f1f5f9;color:#94a3b8;text-decoration:line-through}
footer{color:#64748b;font-size:12px;text-align:center;padding:8px 0 24px}
@media print{body{background:#fff}.region{break-inside:avoid-page;box-shadow:none}}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
<script>{plotly_js}</script>
</head>
<body>
<div class="page">
<header class="top"><h1>Stock pooling report</h1><div class="when">nightly rebalance &middot; generated {when}</div>
</header>
{overview}
{body}
<footer>{footer}</footer>
</div>
</body>
</html>
"""
