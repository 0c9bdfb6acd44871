"""The HTML page: the document, its CSS, and per region the figures, the charts and the tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from api.report.charts import Charts
from api.report.flows import DROPPED_REORDERS, DROPPED_TRANSFERS, Flows
from api.report.formatting import amount, millis, plural, script_safe, text, units, when
from api.report.region import RegionReport
from models.enums import PlanMode, ReorderStatus, TransferStatus

_MODES = {PlanMode.POOL_FIRST: "pool first: transfers before reorders", PlanMode.LEAST_COST: "least cost overall"}


def render_report(regions: list[RegionReport], generated_at: datetime, board_url: str | None = None) -> str:
    """The whole HTML page; with `board_url` (the service's /board), it links there: the board is where the
    suggestions are approved, shipped and received. The link is shown in print too."""
    try:
        import plotly.graph_objects as go
        from plotly.offline import get_plotlyjs
        from plotly.utils import PlotlyJSONEncoder
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise RuntimeError("the HTML report needs plotly: pip install 'stockpool[report]'") from error

    charts = Charts(go, PlotlyJSONEncoder)
    moment = when(generated_at)
    sections = [_region_section(index, region, charts) for index, region in enumerate(regions)]
    body = "\n".join(sections) if sections else '<p class="empty">No region was rebalanced.</p>'
    return _PAGE.format(
        css=_CSS,
        plotly_js=script_safe(get_plotlyjs()),
        title=text(f"Stock pooling report, {moment}"),
        when=text(moment),
        overview=_overview(regions),
        board=_board_link(board_url),
        body=body,
        footer=text(
            f"stockpool rebalance report, generated {moment}. Suggested transfers and reorders are the plan's; "
            "money is in the plan's currency. This page works offline."
        ),
    )


def _board_link(board_url: str | None) -> str:
    if not board_url:
        return (
            '<p class="board">Approve, ship and receive on the board: <code>/board</code> on the stockpool service.</p>'
        )
    return (
        f'<p class="board">Approve, ship and receive on the board: <a class="board-link" href="{text(board_url)}">'
        f"{text(board_url)}</a></p>"
    )


def _overview(regions: list[RegionReport]) -> str:
    if not regions:
        return ""
    chips = []
    for index, region in enumerate(regions):
        unmet = region.summary.units_unmet
        state = (
            f'<span class="chip-note bad">{text(units(unmet))} unmet</span>'
            if unmet
            else '<span class="chip-note good">all demand met</span>'
        )
        chips.append(f'<a class="chip" href="#region-{index}"><b>{text(region.region)}</b>{state}</a>')
    transfers = sum(len(r.transfers) for r in regions)
    reorders = sum(len(r.reorders) for r in regions)
    unmet_units = sum(r.summary.units_unmet for r in regions)
    summary = (
        f"{plural(len(regions), 'region')} &middot; {plural(transfers, 'transfer')} &middot; "
        f"{plural(reorders, 'reorder')} &middot; {text(units(unmet_units))} units unmet"
    )
    return f'<nav class="overview"><p>{summary}</p><div class="chips">{"".join(chips)}</div></nav>'


def _region_section(index: int, region: RegionReport, charts: Charts) -> str:
    s = region.summary
    mode = _MODES.get(region.mode, "")
    badges = [
        f'<span class="badge mode" title="{text(mode)}">{text(region.mode)}</span>',
        '<span class="badge saved">saved plan</span>'
        if region.saved
        else '<span class="badge dry">dry run &mdash; not saved</span>',
    ]

    def share(part: int) -> str:
        return f"{part / s.units_requested:.0%} of requested" if s.units_requested else ""

    cards = [
        _card("requested", units(s.units_requested), "", "units"),
        _card("by transfer", units(s.units_by_transfer), "transfer", share(s.units_by_transfer)),
        _card("by reorder", units(s.units_by_reorder), "reorder", share(s.units_by_reorder)),
        _card("unmet", units(s.units_unmet), "unmet" if s.units_unmet else "met", share(s.units_unmet)),
        _card("proactive", units(s.units_proactive), "", "restoring sites below reorder point"),
        _card("transfer cost", amount(s.transfer_cost), "", plural(len(region.transfers), "transfer")),
        _card("reorder cost", amount(s.reorder_cost), "", plural(len(region.reorders), "reorder")),
        _card("total cost", amount(s.total_cost), "", "transfers + reorders"),
        _card(
            "savings",
            amount(s.savings),
            "loss" if s.savings < 0 else "saving",
            f"vs {amount(s.all_external_cost)} all from suppliers",
        ),
        _card("solve time", millis(s.solve_millis), "", "optimiser"),
    ]
    plan = Flows(region)
    return f"""<section class="region" id="region-{index}">
<header class="region-head"><h2>{text(region.region)}</h2>{"".join(badges)}</header>
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
    extra = f'<div class="card-note">{text(note)}</div>' if note else ""
    return (
        f'<div class="card {tone}"><div class="card-label">{text(label)}</div>'
        f'<div class="card-value">{text(value)}</div>{extra}</div>'
    )


def _off_map_note(plan: Flows) -> str:
    if not plan.unplaced:
        return ""
    codes = ", ".join(plan.unplaced)
    return f'<p class="note">Not on the map (no coordinates): {text(codes)}.</p>'


def _sites_key(region: RegionReport) -> str:
    if not region.sites:
        return ""
    names = " &middot; ".join(
        f'<span class="site"><b>{text(s.code)}</b> {text(s.name)}</span>'
        for s in sorted(region.sites, key=lambda s: s.code)
    )
    return f'<p class="sites-key"><span class="sites-title">Sites</span> {names}</p>'


# ---------------------------------------------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class _Row:
    labels: tuple[str, ...]  # the sites and the item
    units: int
    unit_cost: Decimal | None = None  # with the line's cost and status; None in a table of units only
    status: TransferStatus | ReorderStatus | None = None


def _tables(region: RegionReport) -> str:
    transfers = _table(
        "Transfers",
        ["from", "to", "item"],
        [_Row((t.from_site, t.to_site, t.sku), t.quantity, t.unit_cost, t.status) for t in region.transfers],
        "No transfer suggested.",
    )
    reorders = _table(
        "Reorders from suppliers",
        ["site", "item"],
        [_Row((o.site, o.sku), o.quantity, o.unit_cost, o.status) for o in region.reorders],
        "No reorder suggested.",
    )
    unmet = _table(
        "Unmet demand", ["site", "item"], [_Row((u.site, u.sku), u.quantity) for u in region.unmet], "All demand met."
    )
    return f'<div class="tables">{transfers}{reorders}{unmet}</div>'


def _table(title: str, labels: list[str], rows: list[_Row], empty: str) -> str:
    count = f'<span class="count">{len(rows)}</span>'
    if not rows:
        return f'<div class="table-block"><h3>{text(title)} {count}</h3><p class="empty">{text(empty)}</p></div>'
    priced = any(row.unit_cost is not None for row in rows)
    head = "".join(f'<th class="">{text(label)}</th>' for label in labels) + '<th class="num">units</th>'
    if priced:
        head += '<th class="num">unit cost</th><th class="num">cost</th><th class="">status</th>'
    body = []
    for row in rows:
        cells = "".join(f'<td class="">{text(label)}</td>' for label in row.labels)
        cells += f'<td class="num">{text(units(row.units))}</td>'
        if row.unit_cost is not None:
            cells += f'<td class="num">{text(amount(row.unit_cost))}</td>'
            cells += f'<td class="num">{text(amount(row.unit_cost * row.units))}</td>'
            cells += f"<td>{_status(row.status)}</td>"
        body.append(f"<tr>{cells}</tr>")
    foot = "<td>total</td>" + "<td></td>" * (len(labels) - 1)
    foot += f'<td class="num">{text(units(sum(row.units for row in rows)))}</td>'
    if priced:
        cost = sum((row.unit_cost * row.units for row in rows if row.unit_cost is not None), Decimal(0))
        foot += f'<td></td><td class="num">{text(amount(cost))}</td><td></td>'
    return (
        f'<div class="table-block"><h3>{text(title)} {count}</h3><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody><tfoot><tr>{foot}</tr></tfoot></table></div>"
    )


def _status(status: TransferStatus | ReorderStatus | None) -> str:
    shown = "" if status is None else str(status)
    tone = "off" if shown in DROPPED_TRANSFERS | DROPPED_REORDERS else shown.lower()
    return f'<span class="status {text(re.sub(r"[^a-z_]", "", tone))}">{text(shown)}</span>'


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
.board{margin:0 0 10px;color:#475569}
.board a{color:#1e3a8a;font-weight:600}
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
{board}
{overview}
{body}
<footer>{footer}</footer>
</div>
</body>
</html>
"""
