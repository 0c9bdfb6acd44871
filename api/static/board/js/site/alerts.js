// The site's open alerts, most severe first (the API's order).

import { allNodes } from "../paging.js";
import { Part, badge } from "./part.js";
import { Table } from "../table.js";
import { when } from "../ui.js";

const ALERTS = `query SiteAlerts($site: String!, $first: Int, $after: String) {
  alerts(site: $site, first: $first, after: $after) {
    edges { node { id kind severity message raisedAt item { sku } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const SEVERITY_ORDER = { CRITICAL: 0, WARNING: 1, INFO: 2 };

export class AlertsPart extends Part {
  constructor({ api, site }) {
    super("site-alerts", "Alerts");
    this.api = api;
    this.site = site;
    this.table = new Table({
      caption: "This site's open alerts, most severe first",
      label: "alerts",
      empty: "No open alert.",
      columns: [
        {
          title: "Severity",
          value: (a) => a.severity,
          sort: (a) => SEVERITY_ORDER[a.severity],
          cell: (a) => badge(a.severity.toLowerCase(), a.severity),
        },
        { title: "Alert", value: (a) => a.message },
        { title: "Item", value: (a) => a.item?.sku ?? "" },
        { title: "Raised", value: (a) => a.raisedAt, text: (a) => when(a.raisedAt) },
      ],
    });
    this.element.body.append(this.table.element);
  }

  fetch() {
    return allNodes(this.api, ALERTS, { site: this.site }, "alerts");
  }

  show(rows) {
    this.table.setRows(rows);
  }
}
