// The region's backorders that are still waiting (open or covered): priority, needed by, expected by, status.
import { h, section, when } from "../ui.js";
import { Table } from "../table.js";

const BACKORDERS = `query BoardBackorders($region: String!, $after: String) {
  backorders(region: $region, status: [OPEN, PARTIALLY_COVERED, COVERED], first: 500, after: $after) {
    edges { node { id quantity fulfilled covered open priority status neededBy expectedBy reference
      site { code } item { sku } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const PRIORITIES = ["CRITICAL", "HIGH", "NORMAL", "LOW"];
const words = (value) => value.toLowerCase().replaceAll("_", " ");

export async function all(api, query, variables, field) {
  const nodes = [];
  let after = null;
  for (;;) {
    const page = (await api.query(query, { ...variables, after }))[field];
    nodes.push(...page.edges.map((e) => e.node));
    if (!page.pageInfo.hasNextPage) return nodes;
    after = page.pageInfo.endCursor;
  }
}

export class BackorderList {
  constructor({ api, region }) {
    this.api = api;
    this.region = region;
    this.element = section("backorders", "Backorders");
    this.table = new Table({
      caption: "Waiting backorders of the region (open or covered by what is on its way)",
      label: "backorders",
      empty: "No backorder is waiting.",
      columns: [
        {
          title: "Priority",
          value: (b) => b.priority,
          sort: (b) => PRIORITIES.indexOf(b.priority),
          cell: (b) => h("span", { class: `badge ${b.priority}` }, words(b.priority)),
        },
        { title: "Needed by", value: (b) => b.neededBy, text: (b) => when(b.neededBy) },
        { title: "Expected by", value: (b) => b.expectedBy, text: (b) => when(b.expectedBy) },
        { title: "Status", value: (b) => b.status, text: (b) => words(b.status) },
        { title: "Site", value: (b) => b.site.code },
        { title: "Item", value: (b) => b.item.sku },
        { title: "Quantity", value: (b) => b.quantity, number: true },
        { title: "Open", value: (b) => b.open, number: true },
        { title: "Covered", value: (b) => b.covered, number: true },
        { title: "Reference", value: (b) => b.reference ?? "" },
      ],
    });
    this.element.body.append(this.table.element);
  }

  async load() {
    this.table.setRows(await all(this.api, BACKORDERS, { region: this.region }, "backorders"));
  }
}
