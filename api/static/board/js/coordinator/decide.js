// Approve or reject the selected rows of a table: "Approve 2 selected", a labelled reason and "Reject 2 selected".
// Each call is all-or-nothing: a refusal (the payload's `errors { field code message }`) names the record by its
// id, and is shown beside that row; nothing else changes.
import { h, announce, errorText } from "../ui.js";
import { once } from "../api.js";

/** The rows (by key) whose id the message names; the API names records by their opaque ids. */
export function rowsNamed(message, keys) {
  return keys.filter((key) => message.includes(String(key)));
}

export class Decisions {
  /**
   * table: a selectable Table keyed by id; noun: "suggestion"; approve(ids, key) and reject(ids, reason, key) return
   * the payload ({errors, ...}); done(): reload what the change touches.
   */
  constructor({ api, table, id, noun, plural, approve, reject, done }) {
    this.api = api;
    this.table = table;
    this.noun = noun;
    this.plural = plural;
    this.approve = approve;
    this.reject = reject;
    this.done = done;
    this.approveButton = h("button", { type: "button", id: `${id}-approve`, onclick: () => this.run("approve") });
    this.reason = h("input", { type: "text", id: `${id}-reason`, maxlength: 500, autocomplete: "off" });
    this.rejectButton = h("button", {
      type: "button",
      class: "danger",
      id: `${id}-reject`,
      onclick: () => this.run("reject"),
    });
    this.element = h(
      "div",
      { class: "decisions" },
      this.approveButton,
      h(
        "span",
        { class: "reject" },
        h("label", { for: `${id}-reason` }, "Reason for rejecting"),
        this.reason,
        this.rejectButton,
      ),
    );
    this.update([]);
  }

  /** Call with the selected rows whenever the selection changes. */
  update(selected) {
    const n = selected.length;
    this.approveButton.textContent = `Approve ${n} selected`;
    this.rejectButton.textContent = `Reject ${n} selected`;
  }

  async run(action) {
    const button = action === "approve" ? this.approveButton : this.rejectButton;
    if (button.dataset.busy) return; // a click while the first one runs: `once` ignores it too
    const ids = this.table.selected().map((row) => this.table.key(row));
    if (!ids.length) {
      announce(`Select the ${this.plural} to ${action} first.`, "error");
      return;
    }
    const reason = this.reason.value.trim();
    if (action === "reject" && !reason) {
      announce("Say why they are rejected (the reason is kept in their history).", "error");
      this.reason.focus();
      return;
    }
    await once(button, async (key) => {
      this.table.clearMessages();
      let payload;
      try {
        payload = action === "approve" ? await this.approve(ids, key) : await this.reject(ids, reason, key);
      } catch (error) {
        announce(error.message, "error");
        return;
      }
      if (payload.errors.length) {
        for (const error of payload.errors) {
          for (const id of rowsNamed(error.message, ids)) this.table.setMessage(id, error.message);
        }
        announce(`Nothing was ${action}d: ${errorText(payload.errors)}`, "error");
        return;
      }
      // Done: these rows leave the selection at once (a further click cannot send them again).
      const left = new Set(ids);
      this.table.select(this.table.selected().map((row) => this.table.key(row)).filter((k) => !left.has(k)));
      if (action === "reject") this.reason.value = "";
      const done = action === "approve" ? "Approved" : "Rejected";
      announce(`${done} ${ids.length} ${ids.length === 1 ? this.noun : this.plural}.`);
      await this.done();
    });
  }
}
