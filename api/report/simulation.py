"""The HTML page of `stockpool simulate --report`: curves over the simulated days (mean over seeds, per policy) and
the table. Offline like the nightly report: plotly.js is embedded in the page's head, once."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import numpy as np

from api.report.formatting import script_json, script_safe, text, when
from pooling.simulation.compare import BASELINE, METRICS, Comparison, cell

CURVES = (
    ("backordered units waiting", "Backordered units waiting (end of day)"),
    ("fill rate", "Fill rate from the shelf, 7-day mean"),
    ("units on hand", "Units on hand (end of day)"),
    ("units pooled", "Units pooled so far"),
)
COLOURS = {"none": "#64748b", "nearest": "#d97706", "reactive": "#2563eb", "proactive": "#16a34a"}


def render_simulation(c: Comparison, generated_at: datetime) -> str:
    try:
        import plotly.graph_objects as go
        from plotly.offline import get_plotlyjs
        from plotly.utils import PlotlyJSONEncoder
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise RuntimeError("the HTML report needs plotly: pip install 'stockpool[report]'") from error

    charts = [_chart(go, PlotlyJSONEncoder, c, k, series, title) for k, (series, title) in enumerate(CURVES)]
    seeds = f"seed {c.seeds[0]}" if len(c.seeds) == 1 else f"seeds {c.seeds[0]} to {c.seeds[-1]}"
    summary = f"{c.days} days, {c.sites} sites, {c.items} items, {seeds}; every policy saw the same demand"
    ledger = (
        '<p class="good">Ledger clean at the end of the runs: on hand equals the movements everywhere.</p>'
        if not c.breaches
        else f'<p class="bad">Ledger broken: {len(c.breaches)} invariant(s).</p>'
    )
    return _PAGE.format(
        plotly_js=script_safe(get_plotlyjs()),
        title=text(f"Simulation, {when(generated_at)}"),
        summary=text(summary),
        charts="\n".join(charts),
        table=_table(c),
        ledger=ledger,
        when=text(when(generated_at)),
    )


def mean_curve(c: Comparison, policy: str, series: str) -> list[float]:
    runs = [r.daily[series] for r in c.runs if r.policy == policy]
    curve = np.mean(np.array(runs, dtype=float), axis=0)
    if series == "fill rate":
        window = np.ones(7) / 7
        curve = np.convolve(np.pad(curve, (6, 0), mode="edge"), window, mode="valid")
    return [float(v) for v in curve]


def _chart(go: Any, encoder: type[json.JSONEncoder], c: Comparison, index: int, series: str, title: str) -> str:
    figure = go.Figure()
    for policy in c.policies:
        curve = mean_curve(c, policy, series)
        figure.add_trace(
            go.Scatter(
                x=list(range(1, len(curve) + 1)),
                y=curve,
                name=policy,
                mode="lines",
                line={"color": COLOURS.get(policy), "width": 2},
            )
        )
    figure.update_layout(
        title={"text": text(title), "font": {"size": 15}},
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        xaxis={"title": "day"},
        yaxis={"tickformat": ".0%"} if series == "fill rate" else {},
        legend={"orientation": "h", "y": -0.2},
    )
    spec = figure.to_plotly_json()
    config = {"displaylogo": False, "responsive": True, "staticPlot": False}
    element = f"curve-{index}"
    return (
        f'<div class="chart" id="{element}"></div>\n<script>Plotly.newPlot("{element}", '
        f"{script_json(spec['data'], encoder)}, {script_json(spec['layout'], encoder)}, "
        f"{script_json(config, encoder)});</script>"
    )


def _table(c: Comparison) -> str:
    head = "".join(f"<th>{text(p)}</th>" for p in c.policies)
    rows = []
    for metric in METRICS:
        cells = "".join(f"<td>{text(cell(metric, c.estimate(p, metric)))}</td>" for p in c.policies)
        rows.append(f"<tr><th>{text(metric)}</th>{cells}</tr>")
    body = f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    others = [p for p in c.policies if p != BASELINE]
    if BASELINE in c.policies and others:
        diff_head = "".join(f"<th>{text(p)}</th>" for p in others)
        diff_rows = [
            f"<tr><th>{text(m)}</th>"
            + "".join(f"<td>{text(cell(m, c.versus_baseline(p, m), True))}</td>" for p in others)
            + "</tr>"
            for m in METRICS
        ]
        body += (
            f"<h3>Difference to {BASELINE} (paired by seed)</h3>"
            f"<table><tr><th></th>{diff_head}</tr>{''.join(diff_rows)}</table>"
        )
    return body


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #0f172a;
  margin: 0; background: #f8fafc; }}
.page {{ max-width: 1180px; margin: 0 auto; padding: 24px; }}
h1 {{ font-size: 24px; margin: 0 0 4px; }}
.sub {{ color: #64748b; margin: 0 0 16px; }}
.charts {{ display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }}
.chart {{ background: white; border: 1px solid #e2e8f0; border-radius: 8px; height: 320px; }}
table {{ border-collapse: collapse; background: white; margin: 8px 0 16px; }}
th, td {{ border: 1px solid #e2e8f0; padding: 6px 12px; text-align: right; font-variant-numeric: tabular-nums; }}
th {{ background: #f1f5f9; }}
.good {{ color: #15803d; }} .bad {{ color: #b91c1c; }}
footer {{ color: #64748b; font-size: 13px; margin-top: 24px; }}
</style>
<script>{plotly_js}</script>
</head>
<body>
<div class="page">
<h1>Simulated network: policies side by side</h1>
<p class="sub">{summary}</p>
<div class="charts">
{charts}
</div>
<h2>Figures per policy</h2>
<p class="sub">Mean over seeds &plusmn; half-width of the 95 % interval.</p>
{table}
{ledger}
<footer>stockpool simulate, generated {when}. This page works offline.</footer>
</div>
</body>
</html>
"""
