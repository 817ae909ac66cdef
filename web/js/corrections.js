// Corrections card shared by the race-control and timing pages: every correction of the session
// (invalid read, assignment, manual passing, penalty, waive, approval, driver change) with who made
// it and when, and an Undo button (a `revert` event: the log keeps both).
import { coalescedGet } from "./auth.js";
import { label, t } from "./i18n.js";
import { KeyedTable } from "./table.js";
import { el, fmtT } from "./util.js";

// Texts from the catalogue (corr.*), built when used.
export const T = {
  undo: () => t("corr.undo"),
  confirmLap: () => t("corr.confirm_lap"),
  undoAsk: (c) => t("corr.undo_ask", { id: c.id, kind: kind(c.type), what: summary(c) }),
  undone: (id) => t("corr.undone", { id }),
  confirmed: (id) => t("corr.confirmed", { id }),
  reverted: (by) => t("corr.reverted", { by: label("role.", by) }),
  isConfirmed: () => t("corr.is_confirmed"),
};
export const kind = (type) => label("corr.kind_", type);

/** One line saying what a correction did. */
export function summary(c) {
  const l = c.line || {};
  const loop = label("loop.", l.loop || "finish");
  const note = l.note ? ` · ${l.note}` : "";
  switch (c.type) {
    case "invalidate": return t("corr.s_invalidate", { transponder: l.transponder, loop, t: fmtT(l.target_t) });
    case "assign": return t(l.replace ? "corr.s_assign_replace" : "corr.s_assign", { transponder: l.transponder, number: l.number });
    case "manual_passing": return t(l.estimated ? "corr.s_manual_estimated" : "corr.s_manual", { number: l.number, loop, t: fmtT(c.t) });
    case "penalty": return `#${l.number} ${l.rule || ""}${note}`;
    case "waive": case "approve": return `${l.penalty_id}${note}`;
    case "driver_change": return `#${l.number} → ${l.driver}`;
    case "confirm": return `${l.target ?? `#${l.number} ${fmtT(l.lap_t)}`}${note}`;
    case "revert": return `${l.target}${note}`;
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
    { id: "t", label: t("tc.col_time"), cls: "num", cell: (c) => fmtT(c.t) },
    { id: "what", label: t("corr.col_what"), cell: (c) => ({ t: kind(c.type), sub: summary(c) }) },
    { id: "by", label: t("corr.col_by"), cell: (c) => label("role.", c.by) },
    { id: "state", label: "", cell: (c) => (c.reverted ? T.reverted(c.reverted_by) : c.confirmed ? T.isConfirmed() : "") },
    { id: "act", label: "", cls: "actions", cell: (c) => `${undoable(c)}|${c.confirmed}|${c.reverted}`, render: (td, c) => {
      const btns = [];
      if (canConfirm && c.type === "manual_passing" && !c.reverted && !c.confirmed) {
        btns.push(el("button", { type: "button", "data-act": "confirm", onclick: async () => {
          if (await call("confirm", { id: c.id }, { ok: T.confirmed(c.id) })) refresh();
        } }, T.confirmLap()));
      }
      if (undoable(c)) {
        btns.push(el("button", { type: "button", class: "danger", "data-act": "undo", onclick: () => undo(c) }, T.undo()));
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

  // at most a few times a second however fast the session changes
  const refresh = coalescedGet(`${base}/corrections`, 300, (list) => {
    for (const c of list) tbl.update(c, {});
    tbl.order(list.map((c) => c.id));
    empty.hidden = list.length > 0;
    table.hidden = list.length === 0;
  });
  refresh();
  return { refresh, undo };
}
