// Corrections card shared by the race-control and timing pages: every correction of the session
// (invalid read, assignment, manual passing, penalty, waive, approval, driver change) with who made
// it and when, and an Undo button (a `revert` event: the log keeps both).
import { api } from "./auth.js";
import { KeyedTable } from "./table.js";
import { el, fmtT } from "./util.js";

// User-visible strings, kept together for the i18n catalogue.
export const T = {
  undo: "Undo",
  confirmLap: "Confirm lap",
  undoAsk: (c) => `Undo ${c.id} (${KIND[c.type] || c.type}: ${summary(c)})? Both stay in the log.`,
  undone: (id) => `${id} undone`,
  confirmed: (id) => `${id} confirmed: its laps may be best laps`,
  reverted: (by) => `undone by ${by}`,
  isConfirmed: "confirmed",
};
export const KIND = {
  invalidate: "invalid read", assign: "assignment", manual_passing: "manual passing", penalty: "penalty",
  waive: "waive", approve: "approval", driver_change: "driver change", confirm: "lap confirmed", revert: "undo",
};

/** One line saying what a correction did. */
export function summary(c) {
  const l = c.line || {};
  switch (c.type) {
    case "invalidate": return `${l.transponder} ${l.loop || "finish"} at ${fmtT(l.target_t)}`;
    case "assign": return `${l.transponder} → #${l.number}${l.replace ? " (replaces)" : ""}`;
    case "manual_passing": return `#${l.number} ${l.loop || "finish"} at ${fmtT(c.t)}${l.estimated ? " (estimated)" : ""}`;
    case "penalty": return `#${l.number} ${l.rule || ""}${l.note ? ` · ${l.note}` : ""}`;
    case "waive": case "approve": return `${l.penalty_id}${l.note ? ` · ${l.note}` : ""}`;
    case "driver_change": return `#${l.number} → ${l.driver}`;
    case "confirm": case "revert": return `${l.target}${l.note ? ` · ${l.note}` : ""}`;
    default: return "";
  }
}

/**
 * Mount the card's table. `types`: the correction types this role may undo; `canConfirm`: race
 * control may confirm manual passings. Returns refresh(), to call when the session changes.
 */
export function mountCorrections(table, empty, { base, call, types, canConfirm = false }) {
  const undoable = (c) => types.includes(c.type) && !c.reverted;
  const tbl = new KeyedTable(table, [
    { id: "id", label: "ID", cell: (c) => c.id },
    { id: "t", label: "Time", cls: "num", cell: (c) => fmtT(c.t) },
    { id: "what", label: "Correction", cell: (c) => ({ t: KIND[c.type] || c.type, sub: summary(c) }) },
    { id: "by", label: "By", cell: (c) => c.by || "" },
    { id: "state", label: "", cell: (c) => (c.reverted ? T.reverted(c.reverted_by) : c.confirmed ? T.isConfirmed : "") },
    { id: "act", label: "", cls: "actions", cell: (c) => `${undoable(c)}|${c.confirmed}|${c.reverted}`, render: (td, c) => {
      const btns = [];
      if (canConfirm && c.type === "manual_passing" && !c.reverted && !c.confirmed) {
        btns.push(el("button", { type: "button", "data-act": "confirm", onclick: async () => {
          if (await call("confirm", { id: c.id }, { ok: T.confirmed(c.id) })) refresh();
        } }, T.confirmLap));
      }
      if (undoable(c)) {
        btns.push(el("button", { type: "button", class: "danger", "data-act": "undo", onclick: () => undo(c) }, T.undo));
      }
      td.replaceChildren(...btns);
    } },
  ], { key: (c) => c.id, rowClass: (c) => (c.reverted ? "reverted" : "") });

  async function undo(c) {
    if (!confirm(T.undoAsk(c))) return null;
    const res = await call("revert", { id: c.id }, { ok: T.undone(c.id) });
    refresh();
    return res;
  }

  let timer = null;
  function refresh() {
    if (timer) return; // at most a few times a second however fast the session changes
    timer = setTimeout(async () => {
      timer = null;
      let list;
      try {
        list = await api(`${base}/corrections`);
      } catch {
        return;
      }
      for (const c of list) tbl.update(c, {});
      tbl.order(list.map((c) => c.id));
      empty.hidden = list.length > 0;
      table.hidden = list.length === 0;
    }, 300);
  }
  refresh();
  return { refresh, undo };
}
