// The site's backorders still waiting (open, partly covered, covered): priority, needed by, when they are expected
// to be filled (expectedBy) and what is on its way for them (coveredBy).

import { allNodes } from "../paging.js";
import { Part, badge, itemCell } from "./part.js";
import { Table } from "../table.js";
import { h, when } from "../ui.js";

const BACKORDERS = `query SiteBackorders($site: String!, $first: Int, $after: String) {
  backorders(site: $site, status: [OPEN, PARTIALLY_COVERED, COVERED], first: $first, after: $after) {
    edges { node {
      id quantity fulfilled covered open priority status neededBy reference createdAt expectedBy
      site { code } item { sku name unit }
      coveredBy { quantity expectedAt transfer { fromSite { code } } reorder { id } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const PRIORITY_ORDER = { CRITICAL: 0, HIGH: 1, NORMAL: 2, LOW: 3 };
const STATUS_TEXT = { OPEN: "open", PARTIALLY_COVERED: "partly covered", COVERED: "covered" };

function late(b) {
  return Boolean(b.neededBy && (b.expectedBy ? b.expectedBy > b.neededBy : new Date(b.neededBy) < new Date()));
}

function coverText(b) {
  if (!b.coveredBy.length) return "nothing on its way";
  return b.coveredBy
    .map((c) => `${c.quantity} ${c.transfer ? `from ${c.transfer.fromSite.code}` : "reordered"}, ${when(c.expectedAt)}`)
    .join("; ");
}

export class BackordersPart extends Part {
  constructor({ api, site }) {
    super("site-backorders", "Backorders");
    this.api = api;
    this.site = site;
    this.table = new Table({
      caption: "This site's backorders still waiting, most urgent first",
      label: "backorders",
      empty: "No backorder is waiting.",
      rowClass: (b) => (late(b) ? "late" : ""),
      columns: [
        { title: "Item", value: (b) => `${b.item.sku} ${b.item.name}`, cell: (b) => itemCell(b.item) },
        { title: "Reference", value: (b) => b.reference ?? "" },
        {
          title: "Waiting",
          value: (b) => b.quantity - b.fulfilled,
          text: (b) => `${b.quantity - b.fulfilled} of ${b.quantity}`,
          number: true,
        },
        { title: "Not covered", value: (b) => b.open, number: true },
        {
          title: "Priority",
          value: (b) => b.priority,
          sort: (b) => PRIORITY_ORDER[b.priority],
          cell: (b) => badge(b.priority.toLowerCase(), b.priority),
        },
        { title: "Status", value: (b) => STATUS_TEXT[b.status] ?? b.status },
        { title: "Needed by", value: (b) => b.neededBy, text: (b) => when(b.neededBy) },
        {
          title: "Expected by",
          value: (b) => b.expectedBy,
          cell: (b) =>
            h(
              "span",
              {},
              b.expectedBy ? when(b.expectedBy) : b.open > 0 ? "not fully covered" : "—",
              late(b) ? [" ", badge("late", "bad")] : null,
            ),
        },
        { title: "On its way", value: (b) => coverText(b) },
      ],
    });
    this.element.body.append(this.table.element);
  }

  async fetch() {
    const rows = await allNodes(this.api, BACKORDERS, { site: this.site }, "backorders");
    return rows.sort(
      (a, b) =>
        PRIORITY_ORDER[a.priority] - PRIORITY_ORDER[b.priority] ||
        String(a.neededBy ?? "~").localeCompare(String(b.neededBy ?? "~")) ||
        String(a.createdAt).localeCompare(String(b.createdAt)),
    );
  }

  show(rows) {
    this.table.setRows(rows);
  }
}
