// The region's open alerts, most severe first, with severity badges: `alerts(region)`.
import { h, section, when } from "../ui.js";
import { Table } from "../table.js";

const ALERTS = `query BoardAlerts($region: String!) {
  alerts(region: $region, first: 200) {
    edges { node { id kind severity message raisedAt site { code } item { sku } } }
  }
}`;

export class AlertList {
  constructor({ api, region }) {
    this.api = api;
    this.region = region;
    this.element = section("alerts", "Open alerts");
    this.element.classList.add("half");
    this.table = new Table({
      caption: "Open alerts of the region, most severe first",
      label: "alerts",
      empty: "No open alert.",
      columns: [
        {
          title: "Severity",
          value: (a) => a.severity,
          sort: (a) => ["CRITICAL", "WARNING", "INFO"].indexOf(a.severity),
          cell: (a) => h("span", { class: `badge ${a.severity}` }, a.severity.toLowerCase()),
        },
        { title: "Alert", value: (a) => a.message },
        { title: "Site", value: (a) => a.site?.code ?? "" },
        { title: "Raised", value: (a) => a.raisedAt, text: (a) => when(a.raisedAt) },
      ],
    });
    this.element.body.append(this.table.element);
  }

  async load() {
    const { alerts } = await this.api.query(ALERTS, { region: this.region });
    this.table.setRows(alerts.edges.map((e) => e.node));
  }
}
