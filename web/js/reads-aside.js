// Timing crew: decoder reads kept out of the log (refused, after the finish, clock), and the log's
// condition. Nothing a decoder sent is hidden: each kept-aside read shows why, in the crew's
// language, and can be admitted (logged as a passing, timed by its decoder's clock now).
import { api } from "./auth.js";
import { label, lang, t } from "./i18n.js";
import { toast } from "./staff.js";
import { KeyedTable } from "./table.js";
import { el, fmtT } from "./util.js";

const reason = (r) => t(`tc.reason.${r.reason}`, r.params || {});
const clockTime = (ms) => new Date(ms).toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB");

/** Mount the kept-aside card (`#aside-card`) and the log banner (`#log-banner`). Returns refresh(). */
export function mountAside({ base, call, canAdmit }) {
  const $ = (id) => document.getElementById(id);
  let pending = [];
  const admit = async (ids) => {
    const res = await call("aside/admit", { ids });
    if (!res) return;
    const n = (res.admitted || []).length;
    const still = res.refused || [];
    if (still.length) toast(t("tc.still_refused", { n: still.length, why: [...new Set(still.map(reason))].join(", ") }), true);
    else toast(t("tc.admitted_n", { n }));
    refresh();
  };
  const table = new KeyedTable($("aside"), [
    { id: "kind", label: t("tc.col_kind"), cell: (r) => ({ t: label("tc.aside_kind.", r.kind), c: r.admitted ? "" : "st-dsq" }) },
    // the boundary's own words only where no catalogue text says more (an engine failure)
    { id: "why", label: t("tc.col_why"), cell: (r) => ({ t: reason(r), sub: r.reason === "engine" ? r.detail : "" }) },
    { id: "t", label: t("tc.col_time"), cls: "num", cell: (r) => fmtT(r.t) },
    { id: "tr", label: t("tc.col_transponder"), cell: (r) => ({ t: r.transponder ?? "", sub: r.number ? `#${r.number}` : "" }) },
    { id: "loop", label: t("tc.loop"), cell: (r) => label("loop.", r.loop) },
    { id: "dec", label: t("tc.col_passing_id"), cell: (r) => [r.decoder, r.passing_id].filter((x) => x != null && x !== "").join(" · ") + (r.epoch > 1 ? ` (${r.epoch})` : "") },
    { id: "rcv", label: t("tc.col_received"), cls: "num", cell: (r) => clockTime(r.received_ms) },
    { id: "act", label: "", cell: (r) => `${r.admitted}`, render: (td, r) => td.replaceChildren(r.admitted
      ? t("tc.admitted")
      : canAdmit ? el("button", { type: "button", class: "primary", "data-act": "admit", onclick: () => admit([r.id]) }, t("tc.admit")) : "") },
  ], { key: (r) => String(r.id), rowClass: (r) => (r.admitted ? "" : "alert") });

  $("aside-admit").addEventListener("click", () => {
    if (pending.length && confirm(t("tc.admit_ask", { n: pending.length }))) admit(pending.map((r) => r.id));
  });

  async function refresh() {
    let info, head;
    try {
      [info, head] = await Promise.all([api(`${base}/aside`), api(base)]);
    } catch {
      return;
    }
    const reads = info.reads || [];
    for (const r of reads) table.update(r, {});
    table.order(reads.map((r) => String(r.id)));
    pending = reads.filter((r) => !r.admitted && r.kind !== "clock");
    $("aside").hidden = reads.length === 0;
    $("no-aside").hidden = reads.length > 0;
    $("aside-count").textContent = reads.length ? String(reads.filter((r) => !r.admitted).length) : "";
    $("aside-admit").hidden = !canAdmit || pending.length === 0;
    $("aside-admit").textContent = t("tc.admit_pending", { n: pending.length });
    const lg = (head && head.log) || {};
    const lines = [];
    if (lg.unwritable) lines.push(t("tc.unwritable", { since: clockTime(lg.unwritable.since_ms), error: lg.unwritable.error }));
    if (lg.log_errors) lines.push(t("tc.log_errors", { n: lg.log_errors }));
    $("log-banner").replaceChildren(...lines.map((x) => el("p", {}, x)));
    $("log-banner").hidden = !lg.unwritable;
  }
  return refresh;
}
