// The region's sites drawn from their latitude and longitude in inline SVG (no tiles), with an arrow per lane and
// status for suggested, approved and in-transit transfers: width by units, colour and dash by status. The SVG has
// an accessible name and description; the same transfers are listed in a table below it.
import { h, section, clear } from "../ui.js";
import { Table } from "../table.js";
import { all } from "./backorders.js";

const SITES = `query BoardSites($region: String!, $after: String) {
  sites(region: $region, first: 500, after: $after) {
    edges { node { code name latitude longitude active } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const MOVING = `query BoardMoving($region: String!, $after: String) {
  transfers(region: $region, status: [SUGGESTED, APPROVED, SHIPPED], first: 500, after: $after) {
    edges { node { id status quantity fromSite { code } toSite { code } item { sku } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

// SVG's namespace, as the HTML parser gives it (our code writes no address of another host, not even this one).
const SVG = (() => {
  const template = document.createElement("template");
  template.innerHTML = "<svg></svg>";
  return template.content.firstChild.namespaceURI;
})();
const WIDTH = 800;
const HEIGHT = 480;
const MARGIN = 48;
const RADIUS = 7;

// Colours of board.css (AA on white); each status also has its own dash, so colour is not the only cue.
export const STYLES = {
  SUGGESTED: { colour: "#0b5cad", dash: "10 6", label: "suggested", bend: 1 },
  APPROVED: { colour: "#1a7f37", dash: null, label: "approved", bend: 2 },
  SHIPPED: { colour: "#9a6700", dash: "2 5", label: "in transit", bend: 3 },
};

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** Positions in the SVG's box: an equirectangular projection around the region's mean latitude, fitted. */
function project(sites) {
  const placed = sites.filter((site) => site.latitude !== null && site.longitude !== null);
  if (!placed.length) return new Map();
  const mean = placed.reduce((sum, site) => sum + site.latitude, 0) / placed.length;
  const k = Math.cos((mean * Math.PI) / 180);
  const xs = placed.map((site) => site.longitude * k);
  const ys = placed.map((site) => -site.latitude);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min((WIDTH - 2 * MARGIN) / (x1 - x0 || 1), (HEIGHT - 2 * MARGIN) / (y1 - y0 || 1));
  const dx = (WIDTH - (x1 - x0) * scale) / 2;
  const dy = (HEIGHT - (y1 - y0) * scale) / 2;
  const at = (i) => ({ x: dx + (xs[i] - x0) * scale, y: dy + (ys[i] - y0) * scale });
  return new Map(placed.map((site, i) => [site.code, at(i)]));
}

/** A curved arrow from a to b, bent to the side by `bend` steps (so statuses and directions do not overlap). */
function arrowPath(a, b, bend) {
  const [mx, my] = [(a.x + b.x) / 2, (a.y + b.y) / 2];
  const length = Math.hypot(b.x - a.x, b.y - a.y) || 1;
  const [nx, ny] = [-(b.y - a.y) / length, (b.x - a.x) / length];
  const c = { x: mx + nx * 16 * bend, y: my + ny * 16 * bend };
  const toward = (p, q, by) => {
    const d = Math.hypot(q.x - p.x, q.y - p.y) || 1;
    return { x: p.x + ((q.x - p.x) / d) * by, y: p.y + ((q.y - p.y) / d) * by };
  };
  const start = toward(a, c, RADIUS + 2);
  const end = toward(b, c, RADIUS + 4);
  const f = (n) => n.toFixed(1);
  return `M${f(start.x)},${f(start.y)} Q${f(c.x)},${f(c.y)} ${f(end.x)},${f(end.y)}`;
}

export class RegionMap {
  constructor({ api, region }) {
    this.api = api;
    this.region = region;
    this.element = section("map", "Map of the region");
    this.element.classList.add("map");
    this.picture = h("div", { class: "map-picture" });
    this.legend = h("ul", { class: "legend", "aria-label": "Legend" });
    this.table = new Table({
      caption: "Transfers drawn on the map",
      label: "transfers on the map",
      empty: "No transfer is suggested, approved or in transit.",
      columns: [
        { title: "From", value: (t) => t.fromSite.code },
        { title: "To", value: (t) => t.toSite.code },
        { title: "Item", value: (t) => t.item.sku },
        { title: "Units", value: (t) => t.quantity, number: true },
        { title: "Status", value: (t) => STYLES[t.status].label },
      ],
    });
    this.element.body.append(
      this.picture,
      this.legend,
      h("details", { class: "map-table" }, h("summary", {}, "The map's transfers as a table"), this.table.element),
    );
  }

  async load() {
    const [sites, transfers] = await Promise.all([
      all(this.api, SITES, { region: this.region }, "sites"),
      all(this.api, MOVING, { region: this.region }, "transfers"),
    ]);
    this.draw(sites, transfers);
    this.table.setRows(transfers);
  }

  draw(sites, transfers) {
    const at = project(sites);
    const lanes = new Map(); // "from>to>status" -> {from, to, status, units, count}
    for (const t of transfers) {
      const key = `${t.fromSite.code}>${t.toSite.code}>${t.status}`;
      const lane = lanes.get(key) || { from: t.fromSite.code, to: t.toSite.code, status: t.status, units: 0 };
      lane.units += t.quantity;
      lane.count = (lane.count || 0) + 1;
      lanes.set(key, lane);
    }
    const most = Math.max(1, ...[...lanes.values()].map((l) => l.units));
    const width = (units) => 1.5 + 7 * Math.sqrt(units / most);

    const totals = Object.keys(STYLES).map((status) => {
      const mine = transfers.filter((t) => t.status === status);
      return `${mine.length} ${STYLES[status].label} (${mine.reduce((n, t) => n + t.quantity, 0)} units)`;
    });
    const description =
      `${sites.length} sites of region ${this.region}. Transfers: ${totals.join(", ")}. ` +
      "Arrow width grows with the units; the table below lists every transfer.";

    const defs = s(
      "defs",
      {},
      Object.entries(STYLES).map(([status, style]) =>
        s(
          "marker",
          {
            id: `arrow-${status}`,
            viewBox: "0 0 10 10",
            refX: 8,
            refY: 5,
            markerWidth: 11,
            markerHeight: 11,
            markerUnits: "userSpaceOnUse",
            orient: "auto-start-reverse",
          },
          s("path", { d: "M0,0 L10,5 L0,10 z", fill: style.colour }),
        ),
      ),
    );
    const arrows = [...lanes.values()]
      .filter((l) => at.has(l.from) && at.has(l.to))
      .sort((a, b) => b.units - a.units)
      .map((l) => {
        const style = STYLES[l.status];
        return s(
          "path",
          {
            d: arrowPath(at.get(l.from), at.get(l.to), style.bend),
            fill: "none",
            stroke: style.colour,
            "stroke-width": width(l.units).toFixed(1),
            "stroke-dasharray": style.dash,
            "stroke-linecap": l.status === "SHIPPED" ? "round" : "butt",
            "marker-end": `url(#arrow-${l.status})`,
            class: `arrow ${l.status}`,
          },
          s("title", {}, `${l.from} to ${l.to}: ${l.units} units in ${l.count} ${style.label} transfer(s)`),
        );
      });
    const dots = sites
      .filter((site) => at.has(site.code))
      .map((site) => {
        const p = at.get(site.code);
        return s(
          "g",
          { class: "site" },
          s("circle", {
            cx: p.x.toFixed(1),
            cy: p.y.toFixed(1),
            r: RADIUS,
            fill: "#ffffff",
            stroke: "#1b1f24",
            "stroke-width": 2,
          }),
          s(
            "text",
            { x: (p.x + RADIUS + 3).toFixed(1), y: (p.y - RADIUS).toFixed(1), "font-size": 13, fill: "#1b1f24" },
            site.code,
          ),
          s("title", {}, `${site.code} ${site.name}`),
        );
      });
    const svg = s(
      "svg",
      {
        viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
        role: "img",
        "aria-labelledby": "map-svg-title",
        "aria-describedby": "map-svg-desc",
        preserveAspectRatio: "xMidYMid meet",
      },
      s("title", { id: "map-svg-title" }, `Map of region ${this.region}: sites and transfers`),
      s("desc", { id: "map-svg-desc" }, description),
      defs,
      s("g", { class: "arrows" }, arrows),
      s("g", { class: "sites" }, dots),
    );
    clear(this.picture).append(svg);
    clear(this.legend).append(
      ...Object.values(STYLES).map((style) =>
        h(
          "li",
          {},
          s(
            "svg",
            { width: 36, height: 12, viewBox: "0 0 36 12", "aria-hidden": "true" },
            s("line", {
              x1: 1,
              y1: 6,
              x2: 35,
              y2: 6,
              stroke: style.colour,
              "stroke-width": 4,
              "stroke-dasharray": style.dash,
            }),
          ),
          ` ${style.label}`,
        ),
      ),
      h("li", {}, `width by units (widest: ${most} units)`),
    );
  }
}
