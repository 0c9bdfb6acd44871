"""The coordinator's HTML report of a rebalance: one self-contained page, readable offline.

The caller builds `RegionReport`s (from the database or anything else); this package only draws them. Each region
gets a row of figures, a map of its sites with the suggested transfers as arrows, a stacked bar chart of what each
receiving site gets (by transfer, by reorder, unmet), and tables of the transfers, reorders and unmet demand.

The charts use plotly (the optional `report` extra), imported only when a page is drawn. plotly.js is embedded
once, inline, so the page needs no network: no CDN, no web font, no map tiles (the map is a plain
longitude/latitude plot, not a tiled or geo map, both of which would fetch their base map from the internet). The
page is pure ASCII, whatever the text in it.

`page` writes the document, `charts` the plotly figures, `layout` the map's geometry (arrows, label places),
`flows` sums a plan up for the charts, `region` holds the typed input.
"""

from api.report.page import render_report
from api.report.region import PlanSummary, RegionReport, ReorderLine, SiteMark, TransferLine, UnmetLine

__all__ = ["PlanSummary", "RegionReport", "ReorderLine", "SiteMark", "TransferLine", "UnmetLine", "render_report"]
