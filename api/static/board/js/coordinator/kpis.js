// KPI cards of the region for a chosen period (last 7, 30 or 90 days): `kpis(region, since)`.
import { h, section, clear, money, percent } from "../ui.js";

const KPIS = `query BoardKpis($region: String!, $since: DateTime) {
  kpis(region: $region, since: $since) {
    ordersPlaced ordersBackordered backorderRate fillRate openBackorderUnits
    unitsPooled unitsReordered pooledShare savings
  }
}`;

const CARDS = [
  ["ordersPlaced", "Orders placed", (v) => String(v)],
  ["backorderRate", "Backorder rate", percent],
  ["fillRate", "Fill rate", percent],
  ["openBackorderUnits", "Open backorder units", (v) => String(v)],
  ["unitsPooled", "Units pooled", (v) => String(v)],
  ["unitsReordered", "Units reordered", (v) => String(v)],
  ["pooledShare", "Pooled share", percent],
  ["savings", "Savings", money],
];

export const PERIODS = [7, 30, 90];

/** The start of the last `days` days, as the API takes it. */
export function since(days) {
  return new Date(Date.now() - days * 86400_000).toISOString();
}

export class KpiCards {
  constructor({ api, region }, onPeriod = () => {}) {
    this.api = api;
    this.region = region;
    this.days = 30;
    this.onPeriod = onPeriod;
    const picker = h(
      "select",
      {
        id: "kpi-period",
        onchange: (e) => {
          this.days = Number(e.target.value);
          this.load();
          this.onPeriod(this.days);
        },
      },
      PERIODS.map((d) => h("option", { value: d, selected: d === this.days }, `Last ${d} days`)),
    );
    this.element = section("kpis", "Key figures", h("label", { for: "kpi-period" }, "Period"), picker);
    this.cards = h("div", { class: "kpis" });
    this.element.body.append(this.cards);
  }

  async load() {
    const { kpis } = await this.api.query(KPIS, { region: this.region, since: since(this.days) });
    clear(this.cards).append(
      ...CARDS.map(([field, label, format]) =>
        h(
          "div",
          { class: "kpi", role: "group", "aria-labelledby": `kpi-${field}` },
          h("p", { class: "label", id: `kpi-${field}` }, label),
          h("p", { class: "value", dataset: { field } }, format(kpis[field])),
        ),
      ),
    );
  }
}
