// A site's view: what to ship, what is coming, its backorders, its stock levels (policy and forecast) and its
// alerts. Each part loads its own rows (js/site/*.js); a change made here reloads the parts it touches, and live
// events (a coordinator approves, the other end ships) reload the parts they are about, debounced.
//
// A SITE token reads only its own records (the API scopes it), and this view has no plan or approval controls.

import { AlertsPart } from "./site/alerts.js";
import { BackordersPart } from "./site/backorders.js";
import { ComingPart } from "./site/coming.js";
import { ShipPart } from "./site/ship.js";
import { StockPart } from "./site/stock.js";
import { debounce } from "./ui.js";

/** Which parts an event kind is about. */
function affected(kind) {
  if (kind.startsWith("TRANSFER_")) return ["ship", "coming", "backorders", "stock", "alerts"];
  if (kind.startsWith("REORDER_")) return ["coming", "backorders", "stock", "alerts"];
  if (kind.startsWith("BACKORDER_")) return ["backorders", "stock", "alerts"];
  if (kind.startsWith("ALERT_")) return ["alerts"];
  if (kind === "STOCK_POLICY_CHANGED") return ["stock", "alerts"];
  return [];
}

export async function mount(root, { api, live, site }) {
  const reload = {};
  const changed = (names) => names.forEach((name) => reload[name]());
  const context = { api, site, changed };
  const parts = {
    ship: new ShipPart(context),
    coming: new ComingPart(context),
    backorders: new BackordersPart(context),
    stock: new StockPart(context),
    alerts: new AlertsPart(context),
  };
  for (const [name, part] of Object.entries(parts)) reload[name] = debounce(() => part.load(), 200);
  root.append(...Object.values(parts).map((part) => part.element));
  await Promise.all(Object.values(parts).map((part) => part.load()));
  live.on((event) => changed(affected(event.kind)));
}
