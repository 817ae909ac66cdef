// Race control: penalty queue with evidence, approve / waive, manual penalties, flags and start,
// live rule status per car with alerts, jump starts, car actions.
import { api, coalescedGet } from "./auth.js";
import { mountCorrections } from "./corrections.js";
import { label, serverText, t } from "./i18n.js";
import { carOptions, formData, startStaffPage, toast } from "./staff.js";
import { KeyedTable } from "./table.js";
import { el, fmtClock, fmtLap, fmtT } from "./util.js";

const $ = (id) => document.getElementById(id);

// Texts of the correction features (catalogue keys rc.* / corr.*), built when used.
const T = {
  approve: () => t("rc.approve_dots"), undo: () => t("corr.undo"), undone: (id) => t("corr.undone", { id }),
  approveTitle: (p) => t("rc.approve_title", { id: p.id, rule: p.rule, number: p.number }),
  needAmount: () => t("rc.need_amount"),
  undoAsk: (p, what) => t("rc.undo_ask", { what, id: p.id, rule: p.rule, number: p.number }),
  decision: (d) => t("print.decided", { action: label("decision.", d.action), by: label("role.", d.by || "?"), t: fmtT(d.t) })
    + (d.note ? ` · ${d.note}` : ""),
  notInSession: (rule) => t("rc.not_in_session", { rule }),
  otherNeedsNote: () => t("rc.other_needs_note"),
};

// How early to warn that a car may miss its mandatory stops: per missing stop, this much race time.
const STOP_WARN_S = 15 * 60;
const REFUEL_WARN_S = 10 * 60;

export function amountText(p) {
  const parts = [];
  if (p.dsq) parts.push(t("pen.dsq"));
  if (p.laps) parts.push(t("pen.laps", { n: p.laps }));
  if (p.seconds) parts.push(t("pen.seconds", { n: p.seconds }));
  if (p.best_lap_seconds) parts.push(t("pen.best_lap", { n: p.best_lap_seconds }));
  return parts.join(", ") || t("pen.none");
}

/** Jump starts: the engine's evidence says "N ms before the green". */
export function jumpMargin(p) {
  const m = /(-?\d+(?:\.\d+)?)\s*ms\b/.exec(p.evidence || "");
  return m ? Number(m[1]) : null;
}

/** Alerts for one car from its live rule status: [{rule, text, level}]. */
export function alertsFor(r, remaining) {
  const out = [];
  if (r.finished || (r.status && r.status !== "classified")) return out;
  for (const [rule, st] of Object.entries(r.rules || {})) {
    if (!st || typeof st !== "object") continue;
    if (st.missing > 0 && remaining != null && remaining < st.missing * STOP_WARN_S) {
      out.push({ rule, level: remaining < st.missing * 5 * 60 ? "crit" : "warn",
        text: t("rc.alert_stops", { n: st.missing, left: fmtClock(remaining) }) });
    }
    for (const w of st.windows || []) {
      if (w.state === "missed") out.push({ rule, level: "crit", text: t("rc.alert_window_missed", { w: w.window }) });
      else if (w.state === "open" && w.closes_in_s != null && w.closes_in_s < REFUEL_WARN_S) {
        out.push({ rule, level: "warn", text: t("rc.alert_window_closes", { w: w.window, left: fmtClock(w.closes_in_s) }) });
      }
    }
    if (st.return_required) out.push({ rule, level: "crit", text: serverText(st.text, st.text_said) || t("rc.alert_return") });
    if (st.no_reads) out.push({ rule, level: "crit", text: serverText(st.message, st.message_said) || t("rc.alert_no_reads") });
    if (st.driver_change_allowed === false && r.in_pit && st.pit_lane === "closed") {
      out.push({ rule, level: "warn", text: serverText(st.text, st.text_said) || t("rc.alert_pit_closed") });
    }
  }
  return out;
}

function ruleChips(td, r, ctx) {
  const bad = new Set((ctx.alerts.get(r.number) || []).map((a) => a.rule));
  const chips = [];
  for (const [rule, st] of Object.entries(r.rules || {})) {
    if (!st) continue;
    let text = st.text ? serverText(st.text, st.text_said) : serverText(st.message, st.message_said);
    if (!text) {
      text = Object.entries(st).filter(([, v]) => typeof v !== "object").map(([k, v]) => {
        const name = label("status.", k) === k ? k.replace(/_s$/, "").replace(/_/g, " ") : label("status.", k);
        if (typeof v === "boolean") return `${name}: ${v ? t("common.yes") : t("common.no")}`;
        if (typeof v === "number" && k.endsWith("_s")) return `${name} ${fmtClock(v)}`;
        return `${name}: ${label("statusval.", v)}`;
      }).join(", ");
    }
    const good = st.required != null && st.done >= st.required;
    chips.push(el("span", { class: `rule-chip${bad.has(rule) ? " bad" : good ? " good" : ""}`, title: `${label("rule.", rule)}\n${JSON.stringify(st)}` },
      el("b", {}, rule), " ", text));
  }
  td.replaceChildren(...chips);
}

async function main() {
  const page = await startStaffPage(["race_control", "admin"], "race-control.html");
  if (!page) return;
  const { store, call, base } = page;
  const ctx = { alerts: new Map() };
  const corrections = mountCorrections($("corrections"), $("no-corrections"), { base, call, canConfirm: true,
    types: ["penalty", "waive", "approve", "driver_change", "confirm"] });

  // -- warned laps: no best lap, qualifying time or fastest lap until confirmed --------------------
  let warnedKey = null;
  const renderWarned = () => {
    const items = [];
    for (const r of store.rows.values()) {
      // only the warned laps that would be the car's best lap if confirmed: the others change no record
      for (const w of r.lap_warnings || []) {
        if ((r.lap_flags || {})[w[0]] === "warned" && w[1] < (r.best_lap_s ?? Infinity)) items.push([r, w]);
      }
    }
    const key = items.map(([r, w]) => `${r.number}@${w[4]}`).join(",");
    if (key === warnedKey) return;
    warnedKey = key;
    $("warned-laps").replaceChildren(...items.map(([r, w]) => el("li", { class: "alert-warn", "data-car": r.number, "data-lap": String(w[0]) },
      t("tc.lap_warn", { number: r.number, lap: w[0], time: fmtLap(w[1]), why: serverText(w[2], w[3]) }), " ",
      el("button", { type: "button", "data-act": "confirm-lap", onclick: async () => {
        const ok = t("rc.lap_confirmed", { number: r.number, lap: w[0] });
        if (await call("confirm", { number: r.number, lap_t: w[4] }, { ok })) corrections.refresh();
      } }, t("corr.confirm_lap")))));
    $("no-warned-laps").hidden = items.length > 0;
  };
  store.onChange(renderWarned);

  // -- flags ----------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("button[data-signal]")) {
    b.addEventListener("click", async () => {
      if (b.dataset.confirm && !confirm(t(b.dataset.confirm))) return;
      await call("signal", { signal: b.dataset.signal }, { ok: t("staff.signal_sent", { signal: b.textContent }) });
    });
  }
  const clockLine = () => {
    const s = store.session;
    if (!s) return;
    const c = s.clock || {};
    const running = !s.closed ? store.elapsed() : 0;
    const now = (c.now_s || 0) + running;
    const parts = [c.green_s != null ? t("rc.race_time", { t: fmtClock(now - c.green_s) }) : t("rc.session_clock", { t: fmtClock(now) })];
    if (c.green_s != null) parts.push(t("rc.green_at", { t: fmtT(c.green_s) }));
    if (c.leader_laps) parts.push(t("rc.leader_on_lap", { n: c.leader_laps }));
    $("clock-line").textContent = parts.join(" · ");
  };
  setInterval(clockLine, 500);
  store.onChange(clockLine);

  // -- penalty queue ----------------------------------------------------------------------------
  const penTable = new KeyedTable($("penalties"), [
    { id: "id", label: "ID", cell: (p) => p.id },
    { id: "car", label: t("common.car"), cls: "no", cell: (p) => {
      const r = store.rows.get(p.number);
      return { t: `#${p.number}`, sub: r ? r.name : "" };
    } },
    { id: "rule", label: t("rc.rule"), cls: "rule", cell: (p) => ({ t: p.rule, sub: [label("rule.", p.rule) === p.rule ? "" : label("rule.", p.rule), serverText(p.note, p.note_said)].filter(Boolean).join(" · ") }) },
    { id: "amount", label: t("rc.penalty"), cls: "nowrap", cell: (p) => amountText(p) },
    { id: "t", label: t("tc.col_time"), cls: "num", cell: (p) => fmtT(p.t) },
    { id: "evidence", label: t("rc.evidence"), cls: "evidence", cell: (p) => serverText(p.evidence, p.evidence_said) },
    { id: "state", label: t("common.state"), cell: (p) => ({ t: p.state, c: `st-${p.state}` }),
      render: (td, p) => td.replaceChildren(el("span", { class: `state-tag state-${p.state}` }, label("penstate.", p.state))) },
    { id: "decision", label: t("print.decision"), cls: "decision", cell: (p) => {
      const d = details.get(p.id) || {};
      return d.decision ? T.decision(d.decision) : d.manual && d.source ? `${d.source}` : "";
    } },
    { id: "actions", label: "", cls: "actions", cell: (p) => `${p.state}|${JSON.stringify(details.get(p.id) || {})}`,
      render: (td, p) => {
        const d = details.get(p.id) || {};
        const undoId = d.decision && p.state !== "reverted" ? d.decision.id : d.manual && p.state !== "reverted" ? d.source : null;
        td.replaceChildren(
          p.state === "proposed" ? el("button", { type: "button", class: "primary", "data-act": "approve",
            onclick: () => openApprove(p) }, T.approve()) : "",
          p.state !== "waived" && p.state !== "reverted" ? el("button", { type: "button", class: "danger", "data-act": "waive",
            onclick: () => {
              const note = prompt(t("rc.waive_prompt", { id: p.id, rule: p.rule, number: p.number }), "");
              if (note !== null) call(`penalties/${p.id}/waive`, note ? { note } : {}, { ok: t("rc.waived", { id: p.id }) });
            } }, t("rc.waive")) : "",
          undoId ? el("button", { type: "button", "data-act": "undo", title: undoId, onclick: async () => {
            if (!confirm(T.undoAsk(p, d.decision ? label("decision.", d.decision.action) : t("rc.the_penalty")))) return;
            if (await call("revert", { id: undoId }, { ok: T.undone(undoId) })) corrections.refresh();
          } }, T.undo()) : "");
      } },
  ], { key: (p) => p.id, rowClass: (p) => `pen-${p.state}` });

  // Who decided what and when: /penalties has it (the live stream carries the penalties themselves).
  const details = new Map();
  const refreshDetails = coalescedGet(`${base}/penalties`, 200, (list) => {
    for (const d of list) details.set(d.id, d);
    renderPenalties();
  });

  // -- approve with an amount (prefilled from the preset, else from the proposal) ---------------
  let sessionRules = {};
  const dlg = $("approve-dialog");
  let approving = null;
  function openApprove(p) {
    approving = p;
    const preset = sessionRules[p.rule] || {};
    const src = p.laps || p.seconds || p.best_lap_seconds || p.dsq ? p : preset;
    const unit = src.dsq ? "dsq" : src.laps ? "laps" : src.best_lap_seconds ? "best_lap_seconds" : src.seconds ? "seconds" : "laps";
    $("appr-title").textContent = T.approveTitle(p);
    $("appr-evidence").textContent = serverText(p.evidence, p.evidence_said);
    $("appr-unit").value = unit;
    $("appr-amount").value = unit === "dsq" ? "" : String(src[unit] || "");
    $("appr-amount").disabled = unit === "dsq";
    $("appr-note").value = "";
    dlg.showModal();
  }
  $("appr-unit").addEventListener("change", () => { $("appr-amount").disabled = $("appr-unit").value === "dsq"; });
  $("appr-cancel").addEventListener("click", () => dlg.close());
  $("approve-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    const body = {};
    if (f.unit === "dsq") body.dsq = true;
    else if (f.amount !== "" && Number(f.amount) > 0) body[f.unit] = Number(f.amount);
    else return toast(T.needAmount(), true);
    if (f.note) body.note = f.note;
    const p = approving;
    if (await call(`penalties/${p.id}/approve`, body, { ok: t("rc.approved", { id: p.id }) })) {
      dlg.close();
      corrections.refresh();
    }
  });

  const jumpTable = new KeyedTable($("jumps"), [
    { id: "car", label: t("common.car"), cls: "no", cell: (p) => `#${p.number}` },
    { id: "margin", label: t("rc.margin"), cls: "num", cell: (p) => {
      const ms = jumpMargin(p);
      return ms == null ? "?" : `${ms} ms`;
    } },
    { id: "amount", label: t("rc.penalty"), cell: (p) => amountText(p) },
    { id: "state", label: t("common.state"), cell: (p) => label("penstate.", p.state) },
    { id: "evidence", label: t("rc.evidence"), cls: "evidence", cell: (p) => serverText(p.evidence, p.evidence_said) },
  ], { key: (p) => p.id, rowClass: (p) => `pen-${p.state}` });

  const stateRank = { proposed: 0, applied: 1, waived: 2, reverted: 3 };
  const renderPenalties = () => {
    const all = [...store.penalties.values()];
    for (const p of all) penTable.update(p, ctx);
    all.sort((a, b) => (stateRank[a.state] ?? 3) - (stateRank[b.state] ?? 3) ||
      (a.state === "proposed" ? a.t - b.t : b.t - a.t));
    penTable.order(all.map((p) => p.id));
    const proposed = all.filter((p) => p.state === "proposed").length;
    if (all.some((p) => !details.has(p.id))) refreshDetails();
    $("pen-count").textContent = t("rc.pen_count", { k: proposed, n: all.length });
    const jumps = all.filter((p) => p.rule === "AX-JUMP").sort((a, b) => a.t - b.t);
    for (const p of jumps) jumpTable.update(p, ctx);
    jumpTable.order(jumps.map((p) => p.id));
    $("no-jumps").hidden = jumps.length > 0;
    $("jumps").hidden = jumps.length === 0;
    $("jump-count").textContent = jumps.length ? String(jumps.length) : "";
  };

  // -- manual penalty ---------------------------------------------------------------------------
  const rules = new Set(); // every rule ID the service implements, and the session's
  const ruleList = $("rule-ids");
  const refreshRuleList = () => {
    for (const k of Object.keys(sessionRules)) rules.add(k);
    if (ruleList.children.length !== rules.size) {
      ruleList.replaceChildren(...[...rules].sort().map((r) => el("option", { value: r },
        r in sessionRules ? "" : t("rc.other_rule"))));
    }
  };
  api(`${base}/rules`).then((r) => {
    sessionRules = r.rules || {};
    for (const k of r.implemented || []) rules.add(k);
    refreshRuleList();
  }).catch(() => {});
  $("pen-unit").addEventListener("change", () => { $("pen-amount").disabled = $("pen-unit").value === "dsq"; });
  $("penalty-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    const body = { number: f.number, rule: f.rule.toUpperCase() };
    if (!(body.rule in sessionRules) && !f.other) return toast(T.notInSession(body.rule), true);
    if (f.other && !f.note) return toast(T.otherNeedsNote(), true);
    if (f.other) body.other = true;
    if (f.unit === "dsq") body.dsq = true;
    else if (f.amount !== "") body[f.unit] = Number(f.amount);
    if (f.note) body.note = f.note;
    if (f.offence) body.offence = f.offence; // CC-LINE: the rule picks the amount (warning, then 1 lap)
    const res = await call("penalties", body, { ok: t("rc.penalty_added", { number: f.number }) });
    if (res) ev.target.reset();
  });

  // -- car actions ------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("button[data-action]")) {
    b.addEventListener("click", async () => {
      const f = formData($("car-form"));
      if (!f.number) return toast(t("rc.choose_car"), true);
      let action = b.dataset.action, body = {};
      if (action === "ballast_ok" || action === "ballast_short") {
        body = { ok: action === "ballast_ok" };
        action = "ballast_check";
      } else if (action === "driver_change") {
        if (!f.driver) return toast(t("rc.need_driver"), true);
        body = { driver: f.driver };
      } else if (action === "weight_check") {
        if (!f.driver || !f.kg) return toast(t("rc.need_driver_kg"), true);
        body = { driver: f.driver, kg: Number(f.kg) };
      }
      await call(`cars/${encodeURIComponent(f.number)}/${action}`, body, { ok: `${b.textContent}: #${f.number}` });
    });
  }

  // -- rule status per car ----------------------------------------------------------------------
  const ruleTable = new KeyedTable($("rules"), [
    { id: "pos", label: t("col.pos"), cls: "num pos", cell: (r) => String(r.position) },
    { id: "no", label: t("col.no"), cls: "no", cell: (r) => r.number },
    { id: "name", label: t("common.name"), cls: "name", cell: (r) => ({ t: r.name, sub: r.category || "" }) },
    { id: "laps", label: t("col.laps"), cls: "num", cell: (r) => String(r.laps) },
    { id: "pit", label: t("col.stops"), cls: "num", cell: (r) => ({ t: String(r.pit_stops), sub: r.in_pit ? t("state.pit") : "" }) },
    { id: "driver", label: t("rc.driver_stint"), cell: (r) => ({
      t: r.driver_name || r.driver || "",
      sub: r.stint_s != null ? t("rc.stint", { t: fmtClock(r.stint_s), n: r.stint_laps }) : "" }) },
    { id: "rules", label: t("rc.rules"), cls: "rules",
      cell: (r, c) => JSON.stringify(r.rules) + JSON.stringify(c.alerts.get(r.number) || []),
      render: ruleChips },
  ], { rowClass: (r) => [(ctx.alerts.get(r.number) || []).length ? "alert" : "", r.in_pit ? "in-pit" : ""].join(" ") });

  let alertKey = null;
  const renderAlerts = () => {
    const s = store.session;
    const c = (s && s.clock) || {};
    const remaining = c.remaining_s == null ? null : Math.max(0, c.remaining_s - (s.closed ? 0 : store.elapsed()));
    ctx.alerts = new Map();
    const items = [];
    for (const r of store.sortedRows()) {
      const a = alertsFor(r, remaining);
      if (a.length) ctx.alerts.set(r.number, a);
      for (const x of a) items.push(el("li", { class: `alert-${x.level}`, "data-car": r.number },
        el("b", {}, `#${r.number} ${r.name}`), ` · ${x.rule}: ${x.text}`));
    }
    // Rebuilt only when the text changes: the live stream can bring many messages a second.
    const key = items.map((li) => li.textContent).join("\n");
    if (key !== alertKey) {
      alertKey = key;
      $("alerts").replaceChildren(...items);
    }
    $("no-alerts").hidden = items.length > 0;
    $("alert-count").textContent = items.length ? String(items.length) : "";
  };

  store.onChange((p) => {
    renderAlerts();
    const rows = store.sortedRows();
    for (const r of rows) ruleTable.update(r, ctx);
    ruleTable.order(rows.map((r) => r.number));
    $("no-rules").hidden = rows.some((r) => r.rules && Object.keys(r.rules).length);
    if (p.full || p.penalties.size) refreshDetails();
    if (p.full || p.penalties.size || p.rows.size) {
      renderPenalties();
      corrections.refresh();
    }
    carOptions($("pen-car"), store);
    carOptions($("act-car"), store);
    refreshRuleList();
  });
  // Countdown-based alerts move with the clock even when no car crosses the line.
  setInterval(() => { if (store.session && !store.pending) store.mark("session"); }, 5000);
  store.start();
}

main().catch((e) => {
  console.error(e);
  toast(t("rc.cannot_load", { error: e.message }), true);
});
