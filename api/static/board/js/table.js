// A generic table: caption, sortable columns, a filter box, optional row selection ("select all matching the
// filter") and a message beside a row. Used by both views.
//
//   const t = new Table({
//     caption: "Suggested transfers", label: "suggestions",       // label names the filter and checkboxes
//     key: (row) => row.id,                                        // a stable key per row (kept across reloads)
//     columns: [{ title: "From", value: (r) => r.from, text?: (r) => "...", cell?: (r) => Node, number?: true,
//                 sort?: (r) => comparable }],
//     selectable: true, filter: true, empty: "Nothing to approve.",
//     onselect: (rows) => ..., rowLabel: (r) => "transfer 12 from A to B",
//   });
//   parent.append(t.element); t.setRows(rows); t.selected(); t.setMessage(key, "refused because ...");

import { h, clear } from "./ui.js";

let counter = 0;

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined || a === "") return 1; // empty values last, whatever the direction
  if (b === null || b === undefined || b === "") return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

export class Table {
  constructor({
    caption,
    label = caption,
    columns,
    key = (row) => row.id,
    selectable = false,
    filter = true,
    empty = "Nothing to show.",
    onselect = () => {},
    rowLabel = (row) => String(key(row)),
    rowClass = () => "",
  }) {
    this.id = `table-${++counter}`;
    this.caption = caption;
    this.label = label;
    this.columns = columns.map((c) => ({ value: () => "", ...c }));
    this.key = key;
    this.selectable = selectable;
    this.emptyText = empty;
    this.onselect = onselect;
    this.rowLabel = rowLabel;
    this.rowClass = rowClass;
    this.rows = [];
    this.chosen = new Set(); // keys of the selected rows
    this.messages = new Map(); // key -> message shown beside the row
    this.sortIndex = null;
    this.sortAscending = true;
    this.query = "";

    this.filterInput = filter
      ? h("input", {
          type: "search",
          id: `${this.id}-filter`,
          "aria-label": `Filter ${label}`,
          placeholder: "Filter…",
          oninput: (e) => {
            this.query = e.target.value.trim().toLowerCase();
            this.render();
          },
        })
      : null;
    this.selectMatching = selectable
      ? h("button", { type: "button", class: "secondary", onclick: () => this.selectAllMatching() }, "Select all")
      : null;
    this.clearSelection = selectable
      ? h("button", { type: "button", class: "secondary", onclick: () => this.select([]) }, "Clear selection")
      : null;
    this.count = h("span", { class: "muted count", "aria-live": "polite" });
    this.table = h("table", { id: this.id });
    const tools =
      this.filterInput || this.selectable
        ? h("div", { class: "table-tools" }, this.filterInput, this.selectMatching, this.clearSelection, this.count)
        : null;
    this.element = h("div", { class: "table-block" }, tools, h("div", { class: "table-wrap" }, this.table));
  }

  /** Replace the rows; selection and messages are kept for rows that are still there. */
  setRows(rows) {
    this.rows = rows;
    const keys = new Set(rows.map((r) => this.key(r)));
    for (const k of [...this.chosen]) if (!keys.has(k)) this.chosen.delete(k);
    for (const k of [...this.messages.keys()]) if (!keys.has(k)) this.messages.delete(k);
    this.render();
    this.onselect(this.selected());
  }

  text(column, row) {
    if (column.text) return column.text(row);
    const v = column.value(row);
    return v === null || v === undefined ? "" : String(v);
  }

  /** The rows the filter lets through, in the chosen order. */
  visible() {
    let rows = this.rows;
    if (this.query) {
      rows = rows.filter((row) =>
        this.columns.some((c) => this.text(c, row).toLowerCase().includes(this.query)),
      );
    }
    if (this.sortIndex !== null) {
      const column = this.columns[this.sortIndex];
      const by = column.sort || column.value;
      const sign = this.sortAscending ? 1 : -1;
      rows = [...rows].sort((a, b) => {
        const va = by(a);
        const vb = by(b);
        if (va === null || va === undefined || va === "") return vb === null || vb === undefined || vb === "" ? 0 : 1;
        if (vb === null || vb === undefined || vb === "") return -1;
        return sign * compare(va, vb);
      });
    }
    return rows;
  }

  selected() {
    return this.rows.filter((r) => this.chosen.has(this.key(r)));
  }

  select(keys) {
    this.chosen = new Set(keys);
    this.render();
    this.onselect(this.selected());
  }

  selectAllMatching() {
    this.select([...this.chosen, ...this.visible().map((r) => this.key(r))]);
  }

  /** Show `message` beside the row with this key (null clears it). */
  setMessage(key, message) {
    if (message) this.messages.set(key, message);
    else this.messages.delete(key);
    this.render();
  }

  clearMessages() {
    this.messages.clear();
    this.render();
  }

  sortBy(index) {
    if (this.sortIndex === index) this.sortAscending = !this.sortAscending;
    else {
      this.sortIndex = index;
      this.sortAscending = true;
    }
    this.render();
  }

  render() {
    const focused = document.activeElement;
    const focusId = focused && this.table.contains(focused) ? focused.id : null;
    const rows = this.visible();
    const headers = this.columns.map((column, index) => {
      const sorted = this.sortIndex === index;
      const direction = sorted ? (this.sortAscending ? "ascending" : "descending") : "none";
      const arrow = sorted ? (this.sortAscending ? " ▲" : " ▼") : "";
      return h(
        "th",
        { scope: "col", class: column.number ? "number" : null, "aria-sort": column.nosort ? null : direction },
        column.nosort
          ? column.title
          : h(
              "button",
              {
                type: "button",
                class: "sort",
                id: `${this.id}-sort-${index}`,
                onclick: () => this.sortBy(index),
              },
              column.title,
              h("span", { "aria-hidden": "true" }, arrow),
            ),
      );
    });
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        this.selectable ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Selected")) : null,
        headers,
      ),
    );
    const width = this.columns.length + (this.selectable ? 1 : 0);
    const body = h("tbody");
    if (rows.length === 0) {
      body.append(
        h(
          "tr",
          {},
          h("td", { colspan: width, class: "empty" }, this.rows.length ? "No row matches the filter." : this.emptyText),
        ),
      );
    }
    for (const row of rows) {
      const k = this.key(row);
      const message = this.messages.get(k);
      const cells = this.columns.map((column) =>
        h(
          "td",
          { class: column.number ? "number" : null },
          column.cell ? column.cell(row) : this.text(column, row),
        ),
      );
      const box = this.selectable
        ? h(
            "td",
            {},
            h("input", {
              type: "checkbox",
              id: `${this.id}-select-${k}`,
              "aria-label": `Select ${this.rowLabel(row)}`,
              checked: this.chosen.has(k),
              onchange: (e) => {
                if (e.target.checked) this.chosen.add(k);
                else this.chosen.delete(k);
                this.updateCount();
                this.onselect(this.selected());
              },
            }),
          )
        : null;
      const classes = [this.rowClass(row), message ? "refused" : ""].filter(Boolean).join(" ");
      body.append(h("tr", { class: classes || null, dataset: { key: String(k) } }, box, cells));
      if (message) {
        body.append(
          h(
            "tr",
            { class: "refused message-row", dataset: { messageFor: String(k) } },
            h("td", { colspan: width, class: "row-message", role: "alert" }, message),
          ),
        );
      }
    }
    clear(this.table).append(h("caption", {}, this.caption), head, body);
    this.updateCount(rows.length);
    if (focusId) document.getElementById(focusId)?.focus();
  }

  updateCount(shown = this.visible().length) {
    const parts = [`${shown} of ${this.rows.length} shown`];
    if (this.selectable) parts.push(`${this.chosen.size} selected`);
    this.count.textContent = parts.join(", ");
  }
}
