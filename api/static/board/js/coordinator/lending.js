// Each site's lending balance: units and value lent and borrowed through received transfers, since the period's
// start: `lending(region, since)`.
import { h, section, money } from "../ui.js";
import { Table } from "../table.js";
import { since } from "./kpis.js";

const LENDING = `query BoardLending($region: String!, $since: DateTime) {
  lending(region: $region, since: $since) {
    unitsLent unitsBorrowed valueLent valueBorrowed site { code name }
  }
}`;

export class LendingBalance {
  constructor({ api, region }) {
    this.api = api;
    this.region = region;
    this.days = 30;
    this.element = section("lending", "Lending balance");
    this.element.classList.add("half");
    this.table = new Table({
      caption: "Units and value each site lent and borrowed (received transfers) in the period",
      label: "lending balance",
      key: (row) => row.site.code,
      empty: "No site.",
      columns: [
        {
          title: "Site",
          value: (r) => r.site.code,
          text: (r) => `${r.site.code} ${r.site.name}`,
          cell: (r) => h("abbr", { title: r.site.name }, r.site.code),
        },
        { title: "Units lent", value: (r) => r.unitsLent, number: true },
        { title: "Units borrowed", value: (r) => r.unitsBorrowed, number: true },
        { title: "Value lent", value: (r) => Number(r.valueLent), text: (r) => money(r.valueLent), number: true },
        {
          title: "Value borrowed",
          value: (r) => Number(r.valueBorrowed),
          text: (r) => money(r.valueBorrowed),
          number: true,
        },
        {
          title: "Net value lent",
          value: (r) => Number(r.valueLent) - Number(r.valueBorrowed),
          text: (r) => money(Number(r.valueLent) - Number(r.valueBorrowed)),
          number: true,
        },
      ],
    });
    this.element.body.append(this.table.element);
  }

  async load() {
    const { lending } = await this.api.query(LENDING, { region: this.region, since: since(this.days) });
    this.table.setRows(lending);
  }
}
