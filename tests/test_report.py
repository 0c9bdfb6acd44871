"""The coordinator's HTML report: one self-contained page, every figure and row in it, text escaped."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest

pytest.importorskip("plotly")

from api.report import (
    PlanSummary,
    RegionReport,
    ReorderLine,
    SiteMark,
    TransferLine,
    UnmetLine,
    render_report,
)
from models.enums import PlanMode, ReorderStatus, TransferStatus

WHEN = datetime(2025, 3, 14, 2, 15, tzinfo=UTC)


class _Tables(HTMLParser):
    """The text of every table row (header, body and footer rows), cell by cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_rows(page: str) -> list[list[str]]:
    parser = _Tables()
    parser.feed(page)
    return parser.rows


def quiet_region() -> RegionReport:
    """Nothing to move: demand met by one reorder."""
    return RegionReport(
        region="Pennines",
        mode=PlanMode.POOL_FIRST,
        saved=True,
        summary=PlanSummary(
            units_requested=40,
            units_by_transfer=0,
            units_by_reorder=40,
            units_unmet=0,
            transfer_cost=Decimal("0.00"),
            reorder_cost=Decimal("248.00"),
            total_cost=Decimal("248.00"),
            all_external_cost=Decimal("248.00"),
            savings=Decimal("0.00"),
            solve_millis=38,
        ),
        sites=[
            SiteMark("LDS", "Leeds General Infirmary", 53.8008, -1.5491),
            SiteMark("YRK", "York Hospital Lab", 53.9600, -1.0873),
        ],
        transfers=[],
        reorders=[ReorderLine("YRK", "RGT-TROP-I", 40, Decimal("6.20"), ReorderStatus.SUGGESTED)],
        unmet=[],
    )


def short_region() -> RegionReport:
    """Transfers (one of them two-way), a reorder, unmet demand, a site without coordinates, hostile names."""
    return RegionReport(
        region="South & <East>",
        mode=PlanMode.LEAST_COST,
        saved=False,
        summary=PlanSummary(
            units_requested=77,
            units_by_transfer=45,
            units_by_reorder=10,
            units_unmet=22,
            transfer_cost=Decimal("14.40"),
            reorder_cost=Decimal("145.00"),
            total_cost=Decimal("159.40"),
            all_external_cost=Decimal("1234.56"),
            savings=Decimal("1075.16"),
            solve_millis=1240,
            units_proactive=13,
        ),
        sites=[
            SiteMark("GST", "<b>Evil</b> & Sons Lab", 51.4988, -0.1186),
            SiteMark("OXF", "Oxford John Radcliffe", 51.7640, -1.2195),
            SiteMark("BRI", "Brighton Royal Sussex", 50.8194, -0.1179),
            SiteMark("MOB", "Mobile screening unit", None, None),
        ],
        transfers=[
            TransferLine("OXF", "GST", "CAL-HBA1C", 6, Decimal("1.40"), TransferStatus.SUGGESTED),
            TransferLine("OXF", "GST", "RGT-CRP", 9, Decimal("0.40"), TransferStatus.APPROVED),
            TransferLine("GST", "OXF", "TUBE-EDTA", 20, Decimal("0.03"), TransferStatus.SUGGESTED),
            TransferLine("BRI", "MOB", "PIP-TIP", 10, Decimal("0.06"), TransferStatus.SUGGESTED),
        ],
        reorders=[ReorderLine("BRI", "CAL-HBA1C", 10, Decimal("14.50"), ReorderStatus.SUGGESTED)],
        unmet=[
            UnmetLine("BRI", "RGT-TROP-I", 12),
            UnmetLine("MOB", "CTL-LIPID", 10),
        ],
    )


@pytest.fixture(scope="module")
def page() -> str:
    return render_report([quiet_region(), short_region()], WHEN)


def test_one_self_contained_html_document(page: str) -> None:
    assert page.lstrip().startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    for tag in ("<!DOCTYPE html>", "<html", "<head>", "</head>", "<body>", "</body>", "</html>"):
        assert page.count(tag) == 1, tag
    assert page.isascii()
    assert "2025-03-14 02:15 UTC" in page


def test_plotly_is_inline_once_and_nothing_is_fetched(page: str) -> None:
    from plotly.offline import get_plotlyjs

    banner = get_plotlyjs()[:120]
    assert page.count(banner) == 1
    # Two charts (map and bars) per region, each drawn by an inline script.
    assert page.count("Plotly.newPlot(") == 4
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.IGNORECASE)
    assert not re.search(r"<link\b", page, re.IGNORECASE)
    # plotly.js mentions URLs in its strings; the page around the scripts points nowhere outside itself.
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup, re.IGNORECASE)
    assert "@import" not in markup and "url(" not in markup


def test_every_region_site_and_figure_is_shown(page: str) -> None:
    assert "Pennines" in page
    assert "South &amp; &lt;East&gt;" in page
    for code in ("LDS", "YRK", "GST", "OXF", "BRI", "MOB"):
        assert f"<b>{code}</b>" in page, code
    assert "POOL_FIRST" in page and "LEAST_COST" in page
    assert "saved plan" in page and "dry run" in page
    for shown in ("77", "45", "22", "13", "14.40", "145.00", "159.40", "1,075.16", "1.2 s", "38 ms", "248.00"):
        assert f'<div class="card-value">{shown}</div>' in page, shown
    assert "vs 1,234.56 all from suppliers" in page


def test_tables_hold_every_transfer_reorder_and_unmet_row(page: str) -> None:
    rows = table_rows(page)
    for row in (
        ["OXF", "GST", "CAL-HBA1C", "6", "1.40", "8.40", "SUGGESTED"],
        ["OXF", "GST", "RGT-CRP", "9", "0.40", "3.60", "APPROVED"],
        ["GST", "OXF", "TUBE-EDTA", "20", "0.03", "0.60", "SUGGESTED"],
        ["BRI", "MOB", "PIP-TIP", "10", "0.06", "0.60", "SUGGESTED"],
        ["YRK", "RGT-TROP-I", "40", "6.20", "248.00", "SUGGESTED"],
        ["BRI", "CAL-HBA1C", "10", "14.50", "145.00", "SUGGESTED"],
        ["BRI", "RGT-TROP-I", "12"],
        ["MOB", "CTL-LIPID", "10"],
        ["total", "", "", "45", "", "13.20", ""],
        ["total", "", "22"],
    ):
        assert row in rows, row
    assert "No transfer suggested." in page
    assert "All demand met." in page


def test_site_without_coordinates_is_listed_but_not_mapped() -> None:
    page = render_report([short_region()], WHEN)
    assert "Not on the map (no coordinates): MOB." in page
    nowhere = RegionReport(
        region="Nowhere",
        mode=PlanMode.POOL_FIRST,
        saved=False,
        summary=PlanSummary(
            units_requested=3,
            units_by_transfer=3,
            units_by_reorder=0,
            units_unmet=0,
            transfer_cost=Decimal("3.00"),
            reorder_cost=Decimal("0.00"),
            total_cost=Decimal("3.00"),
            all_external_cost=Decimal("3.00"),
            savings=Decimal("0.00"),
            solve_millis=1,
        ),
        sites=[SiteMark("X1", "Unplaced", None, None), SiteMark("X2", "Half placed", 51.0, None)],
        transfers=[TransferLine("X1", "X2", "S", 3, Decimal("1.00"), TransferStatus.SUGGESTED)],
        reorders=[],
        unmet=[],
    )
    page = render_report([nowhere], WHEN)
    assert "no map to draw" in page
    assert ["X1", "X2", "S", "3", "1.00", "3.00", "SUGGESTED"] in table_rows(page)


def test_text_is_escaped_everywhere(page: str) -> None:
    assert "<b>Evil</b>" not in page
    assert "<East>" not in page
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Sons Lab" in page


def test_no_region_still_renders_a_page() -> None:
    page = render_report([], WHEN)
    assert "No region was rebalanced." in page
    assert page.count("<html") == 1


def test_missing_plotly_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "plotly" or m.startswith("plotly.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "plotly", None)
    with pytest.raises(RuntimeError, match=re.escape("pip install 'stockpool[report]'")):
        render_report([quiet_region()], WHEN)


def test_the_report_links_to_the_board_and_fetches_nothing_from_it() -> None:
    board = "https://pool.example.org/board?x=1&y=<2>"
    page = render_report([short_region()], WHEN, board_url=board)
    escaped = "https://pool.example.org/board?x=1&amp;y=&lt;2&gt;"
    # One link, an <a> the reader follows (nothing loads from it); its address is its text, so a print shows it.
    assert re.findall(r'<a class="board-link" href="([^"]*)">([^<]*)</a>', page) == [(escaped, escaped)]
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.DOTALL)
    outside = re.findall(r"""(<\w+)[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""", markup, re.IGNORECASE)
    assert outside == ["<a"]
    without = render_report([short_region()], WHEN)
    assert "board-link" not in without and "<code>/board</code>" in without
