// "What is coming": approved and shipped transfers into this site and its ordered reorders, soonest first, with
// a Receive control for what can be received now (a shipped transfer: receiveTransfer; an ordered reorder:
// receiveReorder). The quantity received defaults to the quantity sent; less records the difference as lost.

import { once } from "../api.js";
import { allNodes } from "../paging.js";
import { Part, badge, idPart, itemCell } from "./part.js";
import { Table } from "../table.js";
import { announce, errorText, h, when } from "../ui.js";

const COMING = `query SiteComing($first: Int, $after: String) {
  transfers(status: [APPROVED, SHIPPED], first: $first, after: $after) {
    edges { node {
      id status quantity approvedAt shippedAt expectedAt
      fromSite { code name } toSite { code } item { sku name unit }
      allocations { quantity backorder { reference priority } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const ORDERED = `query SiteOrdered($first: Int, $after: String) {
  reorders(status: [ORDERED], first: $first, after: $after) {
    edges { node { id status quantity orderedAt expectedAt site { code } item { sku name unit } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const RECEIVE_TRANSFER = `mutation SiteReceiveTransfer($input: ReceiveTransferInput!) {
  receiveTransfer(input: $input) { transfer { id status quantityReceived quantityLost } errors { field code message } }
}`;

const RECEIVE_REORDER = `mutation SiteReceiveReorder($input: ReceiveReorderInput!) {
  receiveReorder(input: $input) { reorder { id status quantityReceived } errors { field code message } }
}`;

export class ComingPart extends Part {
  constructor({ api, site, changed }) {
    super("coming", "What is coming");
    this.api = api;
    this.site = site;
    this.changed = changed;
    this.drafts = new Map(); // row key -> quantity typed but not yet received (kept across reloads)
    this.table = new Table({
      caption: "Transfers into this site and reorders from the supplier, soonest expected first",
      label: "what is coming",
      key: (row) => row.key,
      empty: "Nothing on its way.",
      columns: [
        { title: "Item", value: (r) => `${r.item.sku} ${r.item.name}`, cell: (r) => itemCell(r.item) },
        { title: "Quantity", value: (r) => r.quantity, number: true },
        { title: "From", value: (r) => r.from },
        { title: "Status", value: (r) => r.status, cell: (r) => badge(r.statusText, r.receivable ? "ok" : "warn") },
        { title: "Expected", value: (r) => r.expectedAt, text: (r) => when(r.expectedAt) },
        { title: "For", value: (r) => r.serves },
        { title: "Receive", nosort: true, cell: (r) => this.receiveCell(r) },
      ],
    });
    this.element.body.append(this.table.element);
  }

  async fetch() {
    const [transfers, reorders] = await Promise.all([
      allNodes(this.api, COMING, {}, "transfers"),
      allNodes(this.api, ORDERED, {}, "reorders"),
    ]);
    const rows = [
      ...transfers
        .filter((t) => t.toSite.code === this.site)
        .map((t) => ({
          key: t.id,
          kind: "transfer",
          id: t.id,
          item: t.item,
          quantity: t.quantity,
          from: t.fromSite.code,
          fromText: t.fromSite.code,
          status: t.status,
          statusText: t.status === "SHIPPED" ? "shipped" : "approved, not shipped yet",
          receivable: t.status === "SHIPPED",
          expectedAt: t.expectedAt,
          serves: t.allocations
            .map((a) => `${a.quantity} for ${a.backorder.reference || "a backorder"} (${a.backorder.priority})`)
            .join("; "),
        })),
      ...reorders
        .filter((r) => r.site.code === this.site)
        .map((r) => ({
          key: r.id,
          kind: "reorder",
          id: r.id,
          item: r.item,
          quantity: r.quantity,
          from: "supplier",
          fromText: "the supplier",
          status: r.status,
          statusText: "ordered",
          receivable: true,
          expectedAt: r.expectedAt,
          serves: "",
        })),
    ];
    return rows.sort((a, b) => String(a.expectedAt ?? "~").localeCompare(String(b.expectedAt ?? "~")));
  }

  show(rows) {
    const keys = new Set(rows.map((r) => r.key));
    for (const key of [...this.drafts.keys()]) if (!keys.has(key)) this.drafts.delete(key);
    this.table.setRows(rows);
  }

  receiveCell(row) {
    if (!row.receivable) return h("span", { class: "muted" }, "when shipped");
    const id = `received-${idPart(row.key)}`;
    const typed = this.drafts.get(row.key) ?? String(row.quantity);
    const lost = h("span", { class: "lost", id: `${id}-lost`, "aria-live": "polite" });
    const showLost = (value) => {
      const n = Number(value);
      lost.textContent = Number.isInteger(n) && n >= 0 && n < row.quantity ? ` ${row.quantity - n} lost` : "";
    };
    showLost(typed);
    const input = h("input", {
      type: "number",
      id,
      min: 0,
      max: row.quantity,
      step: 1,
      value: typed,
      inputmode: "numeric",
      "aria-label": `Quantity received, ${row.quantity} ${row.item.sku} from ${row.fromText}`,
      "aria-describedby": `${id}-lost`,
      oninput: (e) => {
        this.drafts.set(row.key, e.target.value);
        showLost(e.target.value);
      },
    });
    const button = h(
      "button",
      {
        type: "button",
        id: `receive-${idPart(row.key)}`,
        "aria-label": `Receive ${row.quantity} ${row.item.sku} from ${row.fromText}`,
        onclick: (e) => this.receive(row, input, e.currentTarget),
      },
      "Receive",
    );
    return h("div", { class: "receive" }, input, lost, button);
  }

  receive(row, input, button) {
    const received = Number(input.value);
    if (input.value === "" || !Number.isInteger(received) || received < 0 || received > row.quantity) {
      this.table.setMessage(row.key, `The quantity received must be a whole number from 0 to ${row.quantity}.`);
      return undefined;
    }
    const [mutation, field] =
      row.kind === "transfer" ? [RECEIVE_TRANSFER, "receiveTransfer"] : [RECEIVE_REORDER, "receiveReorder"];
    const variables = { input: { id: row.id, quantityReceived: received } };
    return once(button, async (key) => {
      try {
        const payload = (await this.api.mutate(mutation, variables, key))[field];
        if (payload.errors.length) {
          this.table.setMessage(row.key, errorText(payload.errors));
          announce(`Not received: ${errorText(payload.errors)}`, "error");
          this.changed(["coming"]);
          return;
        }
      } catch (error) {
        this.table.setMessage(row.key, error.message);
        announce(`Not received: ${error.message}`, "error");
        return;
      }
      const lost = row.quantity - received;
      const loss = lost ? `; ${lost} recorded as lost` : "";
      announce(`Received ${received} of ${row.quantity} ${row.item.sku} from ${row.fromText}${loss}.`);
      this.drafts.delete(row.key);
      this.changed(["coming", "backorders", "stock", "alerts"]);
    });
  }
}
