"""The report's plotly figures: the map of a region's sites and transfers, and the bars of what each site gets.

Each figure is embedded as an inline script; plotly.js itself is in the page's head, once. plotly is passed in
(imported by `render_report`), so that importing the report needs no plotly.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from api.report.flows import Flows, Receipts
from api.report.formatting import script_json, short, text, units
from api.report.layout import MAP_HEIGHT, View, place_arrows
from api.report.region import SiteMark

_TRANSFER = "#2563eb"
_REORDER = "#d97706"
_UNMET = "#dc2626"
_SITE = "#0f172a"
_MUTED = "#64748b"
_FONT = '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
# A white outline around the site labels, so they stay legible where an arrow passes under them.
_HALO = "0 0 2px white, 0 0 3px white, 0 0 4px white"


class Charts:
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
        data = script_json(spec["data"], self.encoder)
        layout = script_json(spec["layout"], self.encoder)
        return (
            f'<div class="chart" id="{element}" style="height:{height}px"></div>\n'
            f'<script>Plotly.newPlot("{element}", {data}, {layout}, {script_json(config, self.encoder)});</script>'
        )

    def map(self, plan: Flows) -> str:
        go = self.go
        if not plan.placed:
            return '<p class="empty chart-empty">No site of this region has coordinates: no map to draw.</p>'
        view = View(list(plan.placed.values()))
        arrows = place_arrows(plan, view)
        figure = go.Figure()
        annotations: list[dict[str, Any]] = []
        hover_x: list[float | None] = []
        hover_y: list[float | None] = []
        hover_text: list[str] = []
        for arrow in arrows:
            flow, start, end = arrow.flow, arrow.start, arrow.end
            width = arrow.width
            label = (
                f"<b>{text(flow.source)} &#8594; {text(flow.target)}</b>: {text(units(flow.units))} units"
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
                    "text": f"<b>{text(units(flow.units))}</b>",
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
        return self.embed(figure, MAP_HEIGHT)

    def bars(self, plan: Flows) -> str:
        go = self.go
        if not plan.receivers:
            return '<p class="empty chart-empty">No site receives anything and no demand is unmet.</p>'
        codes = plan.receivers
        figure = go.Figure()
        parts: tuple[tuple[str, str, Callable[[Receipts], int]], ...] = (
            ("by transfer", _TRANSFER, lambda r: r.by_transfer),
            ("by reorder", _REORDER, lambda r: r.by_reorder),
            ("unmet", _UNMET, lambda r: r.unmet),
        )
        for name, color, part in parts:
            values = [part(plan.receipts[c]) for c in codes]
            hover = [
                f"<b>{text(c)}</b> {text(_site_name(plan.sites.get(c)))}<br>{name}: {text(units(v))} units"
                + "".join(f"<br>&#183; {text(line)}" for line in plan.receipts[c].items[name][:10])
                + (
                    f"<br>&#8230; and {len(plan.receipts[c].items[name]) - 10} more"
                    if len(plan.receipts[c].items[name]) > 10
                    else ""
                )
                for c, v in zip(codes, values, strict=True)
            ]
            figure.add_trace(
                go.Bar(
                    x=[text(c) for c in codes],
                    y=values,
                    name=name,
                    marker={"color": color},
                    text=[units(v) if v else "" for v in values],
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
        return self.embed(figure, MAP_HEIGHT)


def _hover_items(items: list[tuple[str, int, str]]) -> str:
    shown = sorted(items, key=lambda item: (-item[1], item[0]))
    lines = [
        f"&#183; {text(sku)} &#215; {text(units(count))} ({text(status.lower())})" for sku, count, status in shown[:12]
    ]
    if len(shown) > 12:
        lines.append(f"&#8230; and {len(shown) - 12} more items")
    return "<br>".join(lines)


def _site_label(site: SiteMark) -> str:
    return f"<b>{text(site.code)}</b><br><span style='font-size:10px;color:{_MUTED}'>{text(short(site.name))}</span>"


def _site_hover(site: SiteMark, receipts: Receipts | None) -> str:
    lines = [f"<b>{text(site.code)}</b> {text(site.name)}"]
    if receipts:
        for label, value in (
            ("sends by transfer", receipts.sent),
            ("gets by transfer", receipts.by_transfer),
            ("gets by reorder", receipts.by_reorder),
            ("unmet", receipts.unmet),
        ):
            if value:
                lines.append(f"{label}: {text(units(value))} units")
    if len(lines) == 1:
        lines.append("no movement")
    return "<br>".join(lines)


def _site_name(site: SiteMark | None) -> str:
    return site.name if site else ""
