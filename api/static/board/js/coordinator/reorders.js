// Reorders to approve: the region's SUGGESTED reorders (buy from the supplier); approve or reject the selected ones.
import { section, when, money } from "../ui.js";
import { Table } from "../table.js";
import { all } from "./backorders.js";
import { Decisions } from "./decide.js";

const REORDERS = `query BoardReorders($region: String!, $after: String) {
  reorders(region: $region, status: [SUGGESTED], first: 500, after: $after) {
    edges { node { id quantity unitCost reason expectedAt site { code } item { sku name } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const APPROVE = `mutation BoardApproveReorders($ids: [ID!]!) {
  approveReorders(input: { ids: $ids }) { reorders { id status } errors { field code message } }
}`;

const REJECT = `mutation BoardRejectReorders($ids: [ID!]!, $reason: String) {
  rejectReorders(input: { ids: $ids, reason: $reason }) { reorders { id status } errors { field code message } }
}`;

export const describeReorder = (r) => `reorder of ${r.quantity} ${r.item.sku} for ${r.site.code}`;

export class ReorderList {
  constructor({ api, region }, changed = async () => {}) {
    this.api = api;
    this.region = region;
    this.element = section("reorders", "Reorders to approve");
    this.table = new Table({
      caption: "Suggested reorders from the supplier",
      label: "reorders",
      selectable: true,
      empty: "No reorder is waiting.",
      rowLabel: describeReorder,
      onselect: (rows) => this.decisions?.update(rows),
      columns: [
        { title: "Site", value: (r) => r.site.code },
        { title: "Item", value: (r) => r.item.sku, text: (r) => `${r.item.sku} ${r.item.name}` },
        { title: "Quantity", value: (r) => r.quantity, number: true },
        {
          title: "Cost",
          value: (r) => r.quantity * Number(r.unitCost),
          text: (r) => money(r.quantity * Number(r.unitCost)),
          number: true,
        },
        { title: "Reason", value: (r) => (r.reason === "BACKORDER" ? "backorders" : "restock") },
        { title: "Expected", value: (r) => r.expectedAt, text: (r) => when(r.expectedAt) },
      ],
    });
    this.decisions = new Decisions({
      api,
      table: this.table,
      id: "reorders",
      noun: "reorder",
      plural: "reorders",
      approve: async (ids, key) => (await api.mutate(APPROVE, { ids }, key)).approveReorders,
      reject: async (ids, reason, key) => (await api.mutate(REJECT, { ids, reason }, key)).rejectReorders,
      done: () => changed(),
    });
    this.element.body.append(this.decisions.element, this.table.element);
  }

  async load() {
    this.table.setRows(await all(this.api, REORDERS, { region: this.region }, "reorders"));
  }
}
