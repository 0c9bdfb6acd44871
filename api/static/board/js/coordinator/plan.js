// The current plan's suggestions (SUGGESTED transfers of the region): from, to, item, quantity, cost, savings
// against buying, reason, expected arrival and the backorders each serves; select, approve, reject with a reason.
// "Dry run" plans anew without saving and shows what would change against the open suggestions; "Save plan" makes
// a new plan current (its suggestions replace the open ones).
import { h, section, clear, when, money, announce, errorText } from "../ui.js";
import { once } from "../api.js";
import { Table } from "../table.js";
import { all } from "./backorders.js";
import { Decisions } from "./decide.js";

const SUGGESTIONS = `query BoardSuggestions($region: String!, $after: String) {
  transfers(region: $region, status: [SUGGESTED], first: 500, after: $after) {
    edges { node {
      id quantity unitCost reason savingsVsBuying expectedAt
      fromSite { code } toSite { code } item { sku name }
      allocations { quantity backorder { id priority neededBy site { code } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const OPEN_REORDERS = `query BoardOpenReorders($region: String!, $after: String) {
  reorders(region: $region, status: [SUGGESTED], first: 500, after: $after) {
    edges { node { quantity site { code } item { sku } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CURRENT = `query BoardCurrentPlan($region: String!) {
  plans(region: $region, first: 1) { edges { node { id status createdAt mode } } }
}`;

const REBALANCE = `mutation BoardRebalance($input: RebalanceInput!) {
  rebalance(input: $input) {
    plan {
      id status createdAt
      summary { unitsRequested unitsByTransfer unitsByReorder unitsUnmet unitsProactive totalCost savings }
      transfers { quantity fromSite { code } toSite { code } item { sku } }
      reorders { quantity site { code } item { sku } }
    }
    errors { field code message }
  }
}`;

const APPROVE = `mutation BoardApproveTransfers($ids: [ID!]!) {
  approveTransfers(input: { ids: $ids }) { transfers { id status } errors { field code message } }
}`;

const REJECT = `mutation BoardRejectTransfers($ids: [ID!]!, $reason: String) {
  rejectTransfers(input: { ids: $ids, reason: $reason }) { transfers { id status } errors { field code message } }
}`;

const SUPPLIER = "supplier";
const words = (value) => value.toLowerCase().replaceAll("_", " ");

/** Units by (from, to, sku) of transfers and reorders (the supplier as their origin). */
function lines(transfers, reorders) {
  const units = new Map();
  const add = (from, to, sku, quantity) => {
    const key = `${from}>${to}>${sku}`;
    const line = units.get(key) || { key, from, to, sku, units: 0 };
    line.units += quantity;
    units.set(key, line);
  };
  for (const t of transfers) add(t.fromSite.code, t.toSite.code, t.item.sku, t.quantity);
  for (const r of reorders) add(SUPPLIER, r.site.code, r.item.sku, r.quantity);
  return units;
}

/** What the dry run adds, removes and changes against the open suggestions, by (from, to, sku). */
export function difference(current, planned) {
  const changes = [];
  for (const [key, line] of planned) {
    const before = current.get(key);
    if (!before) changes.push({ ...line, change: "added", before: 0, after: line.units });
    else if (before.units !== line.units) {
      changes.push({ ...line, change: "changed", before: before.units, after: line.units });
    }
  }
  for (const [key, line] of current) {
    if (!planned.has(key)) changes.push({ ...line, change: "removed", before: line.units, after: 0 });
  }
  return changes;
}

function serves(transfer) {
  if (!transfer.allocations.length) return h("span", { class: "muted" }, "restocking (no backorder)");
  return h(
    "ul",
    { class: "serves" },
    transfer.allocations.map((a) =>
      h(
        "li",
        {},
        `${a.quantity} for a ${words(a.backorder.priority)} backorder at ${a.backorder.site.code}`,
        a.backorder.neededBy ? `, needed by ${when(a.backorder.neededBy)}` : "",
      ),
    ),
  );
}

/** A suggestion in words: its checkbox's label ("Select 12 MIC-BC-AER from LDS to YRK"). */
export function describe(t) {
  const restock = t.reason === "REPLENISH" ? " (restock)" : "";
  return `${t.quantity} ${t.item.sku} from ${t.fromSite.code} to ${t.toSite.code}${restock}`;
}

export class PlanPanel {
  constructor({ api, region }, changed = async () => {}) {
    this.api = api;
    this.region = region;
    this.changed = changed; // reloads the other parts after a change made here
    this.suggestions = [];

    this.proactive = h("input", { type: "checkbox", id: "plan-proactive" });
    this.dryRunButton = h("button", { type: "button", class: "secondary", onclick: () => this.dryRun() }, "Dry run");
    this.saveButton = h("button", { type: "button", onclick: () => this.save() }, "Save plan");
    this.element = section(
      "plan",
      "Plan: suggested transfers",
      h("span", {}, this.proactive, h("label", { for: "plan-proactive" }, " Also restock below reorder point")),
      this.dryRunButton,
      this.saveButton,
    );
    this.status = h("p", { class: "muted plan-status" });
    this.diff = h("div", { class: "plan-diff", id: "plan-diff" });

    this.table = new Table({
      caption: "Suggested transfers of the current plan",
      label: "suggestions",
      selectable: true,
      empty: "No suggestion is waiting. Run a dry run, then save the plan.",
      rowLabel: describe,
      onselect: (rows) => this.decisions?.update(rows),
      columns: [
        { title: "From", value: (t) => t.fromSite.code },
        { title: "To", value: (t) => t.toSite.code },
        { title: "Item", value: (t) => t.item.sku, text: (t) => `${t.item.sku} ${t.item.name}` },
        { title: "Quantity", value: (t) => t.quantity, number: true },
        {
          title: "Cost",
          value: (t) => t.quantity * Number(t.unitCost),
          text: (t) => money(t.quantity * Number(t.unitCost)),
          number: true,
        },
        {
          title: "Savings vs buying",
          value: (t) => Number(t.savingsVsBuying),
          text: (t) => money(t.savingsVsBuying),
          number: true,
        },
        { title: "Reason", value: (t) => (t.reason === "BACKORDER" ? "backorders" : "restock") },
        { title: "Expected", value: (t) => t.expectedAt, text: (t) => when(t.expectedAt) },
        {
          title: "Serves",
          value: (t) => t.allocations.reduce((n, a) => n + a.quantity, 0),
          text: (t) => t.allocations.map((a) => `${a.backorder.site.code} ${a.backorder.priority}`).join(" "),
          cell: serves,
        },
      ],
    });
    this.decisions = new Decisions({
      api,
      table: this.table,
      id: "suggestions",
      noun: "suggestion",
      plural: "suggestions",
      approve: async (ids, key) => (await api.mutate(APPROVE, { ids }, key)).approveTransfers,
      reject: async (ids, reason, key) => (await api.mutate(REJECT, { ids, reason }, key)).rejectTransfers,
      done: () => this.changed(),
    });
    this.element.body.append(this.status, this.diff, this.decisions.element, this.table.element);
  }

  async load() {
    const [suggestions, plans] = await Promise.all([
      all(this.api, SUGGESTIONS, { region: this.region }, "transfers"),
      this.api.query(CURRENT, { region: this.region }),
    ]);
    this.suggestions = suggestions;
    const current = plans.plans.edges.map((e) => e.node).find((p) => p.status === "CURRENT");
    if (this.diffAgainst !== undefined && this.diffAgainst !== (current?.id ?? null)) {
      // Another plan was saved since the dry run: its comparison no longer holds.
      const note = "A new plan was saved since the dry run: run it again to compare.";
      clear(this.diff).append(h("p", { class: "muted" }, note));
      this.diffAgainst = undefined;
    }
    this.currentId = current?.id ?? null;
    this.status.textContent = current
      ? `Current plan saved ${when(current.createdAt)} (${words(current.mode)}).`
      : "No plan is current: run a dry run, then save the plan.";
    this.table.setRows(suggestions);
  }

  input(dryRun) {
    return { region: this.region, dryRun, proactive: this.proactive.checked };
  }

  async dryRun() {
    await once(this.dryRunButton, async (key) => {
      try {
        const [{ rebalance }, reorders] = await Promise.all([
          this.api.mutate(REBALANCE, { input: this.input(true) }, key),
          all(this.api, OPEN_REORDERS, { region: this.region }, "reorders"),
        ]);
        if (rebalance.errors.length) {
          announce(errorText(rebalance.errors), "error");
          return;
        }
        const planned = lines(rebalance.plan.transfers, rebalance.plan.reorders);
        this.showDiff(rebalance.plan, difference(lines(this.suggestions, reorders), planned));
      } catch (error) {
        announce(error.message, "error");
      }
    });
  }

  showDiff(plan, changes) {
    this.diffAgainst = this.currentId;
    const s = plan.summary;
    const table = new Table({
      caption: "What the dry run changes against the current plan's open suggestions (nothing is saved)",
      label: "dry run changes",
      key: (c) => c.key,
      empty: "The dry run plans the same as the open suggestions.",
      columns: [
        { title: "Change", value: (c) => c.change },
        { title: "From", value: (c) => c.from },
        { title: "To", value: (c) => c.to },
        { title: "Item", value: (c) => c.sku },
        { title: "Units now", value: (c) => c.before, number: true },
        { title: "Units in the dry run", value: (c) => c.after, number: true },
      ],
    });
    table.setRows(changes);
    const counts = ["added", "removed", "changed"].map(
      (kind) => `${changes.filter((c) => c.change === kind).length} ${kind}`,
    );
    clear(this.diff).append(
      h("h3", {}, "Dry run"),
      h(
        "p",
        { class: "dry-run-summary" },
        `${counts.join(", ")}. It plans ${s.unitsByTransfer} units by transfer and ${s.unitsByReorder} by reorder ` +
          `for ${s.unitsRequested} requested (${s.unitsUnmet} unmet` +
          `${s.unitsProactive ? `, ${s.unitsProactive} to restock` : ""}); ` +
          `cost ${money(s.totalCost)}, saving ${money(s.savings)} against buying.`,
      ),
      table.element,
    );
    announce(`Dry run: ${counts.join(", ")}.`);
  }

  async save() {
    await once(this.saveButton, async (key) => {
      try {
        const { rebalance } = await this.api.mutate(REBALANCE, { input: this.input(false) }, key);
        if (rebalance.errors.length) {
          announce(errorText(rebalance.errors), "error");
          return;
        }
        clear(this.diff);
        this.diffAgainst = undefined;
        const { transfers, reorders } = rebalance.plan;
        announce(`Plan saved: ${transfers.length} suggested transfers, ${reorders.length} reorders.`);
        await this.changed();
      } catch (error) {
        announce(error.message, "error");
      }
    });
  }
}
