// One part of the site's view: a card that loads its rows from the API and shows them in a table; `load` may be
// called at any time (live events, after a change made here): an answer older than the latest asked is dropped.

import { h, section } from "../ui.js";

export class Part {
  /** `fetch()` answers the rows, `show(rows)` puts them on the page. */
  constructor(id, title, { half = false } = {}) {
    this.element = section(id, title);
    if (half) this.element.classList.add("half");
    this.problem = h("p", { class: "error", role: "alert", hidden: true });
    this.element.body.append(this.problem);
    this.asked = 0;
    this.loads = 0;
  }

  async load() {
    const turn = ++this.asked;
    let rows;
    try {
      rows = await this.fetch();
    } catch (error) {
      if (turn !== this.asked) return;
      this.problem.hidden = false;
      this.problem.textContent = `Could not load this part: ${error.message}`;
      return;
    }
    if (turn !== this.asked) return;
    this.problem.hidden = true;
    this.show(rows);
    this.element.dataset.loads = String(++this.loads); // how many answers it has shown (for tests and debugging)
  }
}

/** A safe id fragment for an opaque API id (base64 may hold + / =). */
export function idPart(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, "_");
}

/** "RGT-001 Reagent name" as an item cell. */
export function itemCell(item) {
  return h("span", {}, h("strong", {}, item.sku), " ", h("span", { class: "muted" }, item.name));
}

export function badge(text, kind) {
  return h("span", { class: `badge ${kind}` }, text);
}
