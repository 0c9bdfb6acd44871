// The site's stock levels: on hand, reserved, available, incoming; the policy (mode, safety stock, reorder point,
// order-up-to, service level) and the stored forecast (demand class, method, daily mean, when computed).

import { allNodes } from "../paging.js";
import { Part, badge, itemCell } from "./part.js";
import { Table } from "../table.js";
import { h, percent, when } from "../ui.js";

const LEVELS = `query SiteStock($site: String!, $first: Int, $after: String) {
  stockLevels(site: $site, first: $first, after: $after) {
    edges { node {
      id onHand reserved available incoming safetyStock reorderPoint orderUpTo policyMode serviceLevel
      item { sku name unit }
      forecast { demandClass method dailyMean computedAt }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

/** What the row needs: a stockout, below the reorder point, or fine. */
function state(level) {
  if (level.available <= 0) return ["stockout", "bad", 0];
  if (level.available + level.incoming < level.reorderPoint) return ["below reorder point", "warn", 1];
  return ["ok", "ok", 2];
}

function forecastCell(level) {
  const f = level.forecast;
  if (!f) return h("span", { class: "muted" }, "none stored");
  return h(
    "span",
    { title: `computed ${when(f.computedAt)}` },
    `${f.dailyMean.toFixed(2)}/day`,
    h("span", { class: "muted" }, ` · ${f.demandClass.toLowerCase().replace("_", " ")} · ${f.method}`),
  );
}

export class StockPart extends Part {
  constructor({ api, site }) {
    super("site-stock", "Stock levels");
    this.api = api;
    this.site = site;
    this.table = new Table({
      caption: "This site's stock, policy and forecast, the most urgent first",
      label: "stock levels",
      empty: "This site holds no stock level.",
      columns: [
        { title: "Item", value: (s) => `${s.item.sku} ${s.item.name}`, cell: (s) => itemCell(s.item) },
        { title: "State", value: (s) => state(s)[0], sort: (s) => state(s)[2], cell: (s) => badge(...state(s)) },
        { title: "On hand", value: (s) => s.onHand, number: true },
        { title: "Reserved", value: (s) => s.reserved, number: true },
        { title: "Available", value: (s) => s.available, number: true },
        { title: "Incoming", value: (s) => s.incoming, number: true },
        { title: "Safety stock", value: (s) => s.safetyStock, number: true },
        { title: "Reorder point", value: (s) => s.reorderPoint, number: true },
        { title: "Order-up-to", value: (s) => s.orderUpTo, number: true },
        {
          title: "Policy",
          value: (s) => s.policyMode,
          text: (s) => (s.policyMode === "FORECAST" ? `forecast, ${percent(s.serviceLevel)} service` : "manual"),
        },
        {
          title: "Forecast",
          value: (s) => (s.forecast ? s.forecast.dailyMean : null),
          text: (s) => (s.forecast ? `${s.forecast.dailyMean.toFixed(2)}/day ${s.forecast.demandClass}` : ""),
          cell: forecastCell,
        },
      ],
    });
    this.element.body.append(this.table.element);
  }

  async fetch() {
    const rows = await allNodes(this.api, LEVELS, { site: this.site }, "stockLevels");
    return rows.sort((a, b) => state(a)[2] - state(b)[2] || a.item.sku.localeCompare(b.item.sku));
  }

  show(rows) {
    this.table.setRows(rows);
  }
}
