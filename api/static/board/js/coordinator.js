// The coordinator's view of a region: key figures for a period, open alerts, a map of the sites and the transfers
// on their way, the waiting backorders, the plan's suggestions (dry run, save, approve, reject), reorders to
// approve and the sites' lending balance. Live: events reload the parts they affect, without a page reload.
import { announce, debounce } from "./ui.js";
import { KpiCards } from "./coordinator/kpis.js";
import { AlertList } from "./coordinator/alerts.js";
import { RegionMap } from "./coordinator/map.js";
import { BackorderList } from "./coordinator/backorders.js";
import { PlanPanel } from "./coordinator/plan.js";
import { ReorderList } from "./coordinator/reorders.js";
import { LendingBalance } from "./coordinator/lending.js";

// Which parts each kind of event changes.
const AFFECTS = {
  BACKORDER_CREATED: ["kpis", "backorders"],
  BACKORDER_COVERED: ["backorders"],
  BACKORDER_FILLED: ["kpis", "backorders"],
  BACKORDER_CANCELLED: ["kpis", "backorders"],
  PLAN_SAVED: ["plan", "map", "reorders"],
  TRANSFER_APPROVED: ["plan", "map", "backorders"],
  TRANSFER_REJECTED: ["plan", "map"],
  TRANSFER_SHIPPED: ["map"],
  TRANSFER_RECEIVED: ["map", "kpis", "lending", "backorders"],
  TRANSFER_CANCELLED: ["map", "backorders"],
  REORDER_ORDERED: ["reorders", "backorders"],
  REORDER_RECEIVED: ["kpis", "backorders"],
  ALERT_RAISED: ["alerts"],
  ALERT_CLOSED: ["alerts"],
  STOCK_POLICY_CHANGED: [],
};

export async function mount(root, { api, live, region }) {
  const context = { api, region };
  const parts = {};
  const reload = async (...names) => {
    await Promise.all(
      names.map((name) =>
        parts[name].load().catch((error) => announce(`Could not load ${name}: ${error.message}`, "error")),
      ),
    );
  };
  // After a change made on this page: what it touches (live events would reload it too, a little later).
  const afterPlanChange = () => reload("plan", "map", "backorders", "reorders", "alerts");
  parts.kpis = new KpiCards(context, (days) => {
    parts.lending.days = days;
    reload("lending");
  });
  parts.alerts = new AlertList(context);
  parts.lending = new LendingBalance(context);
  parts.map = new RegionMap(context);
  parts.plan = new PlanPanel(context, afterPlanChange);
  parts.reorders = new ReorderList(context, () => reload("reorders", "backorders", "alerts"));
  parts.backorders = new BackorderList(context);

  root.append(
    parts.kpis.element,
    parts.plan.element,
    parts.map.element,
    parts.reorders.element,
    parts.backorders.element,
    parts.alerts.element,
    parts.lending.element,
  );
  await reload(...Object.keys(parts));

  // Live: one debounced reload per part, so a burst of events becomes one reload of each part it touches.
  const later = Object.fromEntries(Object.keys(parts).map((name) => [name, debounce(() => reload(name), 300)]));
  live.on((event) => {
    if (event.region && event.region !== region) return;
    for (const name of AFFECTS[event.kind] ?? Object.keys(parts)) later[name]();
  });
}
