// "What to ship": the approved transfers out of this site, each with a Ship button (shipTransfer).

import { once } from "../api.js";
import { allNodes } from "../paging.js";
import { Part, idPart, itemCell } from "./part.js";
import { Table } from "../table.js";
import { announce, errorText, h, when } from "../ui.js";

const APPROVED = `query SiteToShip($first: Int, $after: String) {
  transfers(status: [APPROVED], first: $first, after: $after) {
    edges { node {
      id status quantity approvedAt expectedAt
      fromSite { code } toSite { code name } item { sku name unit }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const SHIP = `mutation SiteShip($input: ShipTransferInput!) {
  shipTransfer(input: $input) { transfer { id status shippedAt } errors { field code message } }
}`;

export class ShipPart extends Part {
  constructor({ api, site, changed }) {
    super("to-ship", "What to ship");
    this.api = api;
    this.site = site;
    this.changed = changed;
    this.table = new Table({
      caption: "Approved transfers out of this site, oldest approval first",
      label: "transfers to ship",
      empty: "Nothing to ship.",
      columns: [
        { title: "Item", value: (t) => `${t.item.sku} ${t.item.name}`, cell: (t) => itemCell(t.item) },
        { title: "Quantity", value: (t) => t.quantity, number: true },
        { title: "To", value: (t) => `${t.toSite.code} ${t.toSite.name}` },
        { title: "Approved", value: (t) => t.approvedAt, text: (t) => when(t.approvedAt) },
        { title: "Expected there", value: (t) => t.expectedAt, text: (t) => when(t.expectedAt) },
        { title: "Action", nosort: true, cell: (t) => this.shipButton(t) },
      ],
    });
    this.element.body.append(this.table.element);
  }

  async fetch() {
    const transfers = await allNodes(this.api, APPROVED, {}, "transfers");
    return transfers
      .filter((t) => t.fromSite.code === this.site)
      .sort((a, b) => String(a.approvedAt).localeCompare(String(b.approvedAt)));
  }

  show(rows) {
    this.table.setRows(rows);
  }

  shipButton(transfer) {
    return h(
      "button",
      {
        type: "button",
        id: `ship-${idPart(transfer.id)}`,
        "aria-label": `Ship ${transfer.quantity} ${transfer.item.sku} to ${transfer.toSite.code}`,
        onclick: (e) => this.ship(transfer, e.currentTarget),
      },
      "Ship",
    );
  }

  ship(transfer, button) {
    const what = `${transfer.quantity} ${transfer.item.unit} of ${transfer.item.sku} to ${transfer.toSite.code}`;
    return once(button, async (key) => {
      try {
        const payload = (await this.api.mutate(SHIP, { input: { id: transfer.id } }, key)).shipTransfer;
        if (payload.errors.length) {
          // Refused (cancelled or shipped meanwhile, say): said beside the row, which a reload keeps while the
          // transfer still waits here and drops once it does not.
          this.table.setMessage(transfer.id, errorText(payload.errors));
          announce(`Not shipped: ${errorText(payload.errors)}`, "error");
          this.changed(["ship"]);
          return;
        }
        announce(`Shipped ${what}.`);
      } catch (error) {
        this.table.setMessage(transfer.id, error.message);
        announce(`Not shipped: ${error.message}`, "error");
        return;
      }
      this.changed(["ship", "coming", "stock", "alerts"]);
    });
  }
}
