// Race control: penalty queue with evidence, approve / waive, manual penalties, flags and start,
// live rule status per car with alerts, jump starts, car actions.
import { api } from "./auth.js";
import { mountCorrections } from "./corrections.js";
import { carOptions, formData, startStaffPage, toast } from "./staff.js";
import { KeyedTable } from "./table.js";
import { el, fmtClock, fmtT } from "./util.js";

const $ = (id) => document.getElementById(id);

// User-visible strings of the correction features, kept together for the i18n catalogue.
const T = {
  approve: "Approve…", waive: "Waive", undo: "Undo",
  approved: (id) => `${id} approved`, waived: (id) => `${id} waived`, undone: (id) => `${id} undone`,
  approveTitle: (p) => `Approve ${p.id} · ${p.rule} · #${p.number}`,
  needAmount: "Choose the amount: laps, seconds, seconds on best lap or disqualification",
  waiveAsk: (p) => `Waive ${p.id} (${p.rule}, #${p.number})? Note for the log:`,
  undoAsk: (p, what) => `Undo ${what} of ${p.id} (${p.rule}, #${p.number})? Both stay in the log.`,
  decision: (d) => `${d.action} by ${d.by || "?"} at ${fmtT(d.t)}${d.note ? ` · ${d.note}` : ""}`,
  notInSession: (rule) => `${rule} is not a rule of this session: tick "other" and say in the note which rule applies`,
  otherNeedsNote: "An \"other\" rule needs a note saying which rule applies and why",
};

const KNOWN_RULES = ["LM-STOPS", "LM-LAP-BETWEEN", "LM-PIT-CLOSED-START", "LM-NO-CHANGE-END", "LM-MIN-PIT",
  "LM-REFUEL", "LM-WEIGHT", "LM-BALLAST", "LM-UNSPORTING", "AX-JUMP", "AX-LANES", "AX-TIME-PEN", "AX-RED",
  "AX-TRANSPONDER", "KA-TRANSPONDER", "CC-PIT", "CC-LINE"];

// How early to warn that a car may miss its mandatory stops: per missing stop, this much race time.
const STOP_WARN_S = 15 * 60;
const REFUEL_WARN_S = 10 * 60;

export function amountText(p) {
  const parts = [];
  if (p.dsq) parts.push("DSQ");
  if (p.laps) parts.push(`-${p.laps} lap${p.laps === 1 ? "" : "s"}`);
  if (p.seconds) parts.push(`+${p.seconds} s`);
  if (p.best_lap_seconds) parts.push(`+${p.best_lap_seconds} s on best lap`);
  return parts.join(", ") || "none";
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
        text: `${st.missing} mandatory stop${st.missing === 1 ? "" : "s"} still to do, ${fmtClock(remaining)} left` });
    }
    for (const w of st.windows || []) {
      if (w.state === "missed") out.push({ rule, level: "crit", text: `refuel window ${w.window} missed` });
      else if (w.state === "open" && w.closes_in_s != null && w.closes_in_s < REFUEL_WARN_S) {
        out.push({ rule, level: "warn", text: `refuel window ${w.window} closes in ${fmtClock(w.closes_in_s)}` });
      }
    }
    if (st.return_required) out.push({ rule, level: "crit", text: st.text || "must return to the pit lane" });
    if (st.no_reads) out.push({ rule, level: "crit", text: st.message || "no transponder read" });
    if (st.driver_change_allowed === false && r.in_pit && st.pit_lane === "closed") {
      out.push({ rule, level: "warn", text: st.text || "in the pit lane while it is closed" });
    }
  }
  return out;
}

function ruleChips(td, r, ctx) {
  const bad = new Set((ctx.alerts.get(r.number) || []).map((a) => a.rule));
  const chips = [];
  for (const [rule, st] of Object.entries(r.rules || {})) {
    if (!st) continue;
    let text = st.text || st.message;
    if (!text) {
      text = Object.entries(st).filter(([, v]) => typeof v !== "object").map(([k, v]) => {
        const name = k.replace(/_s$/, "").replace(/_/g, " ");
        if (typeof v === "boolean") return `${name}: ${v ? "yes" : "no"}`;
        if (typeof v === "number" && k.endsWith("_s")) return `${name} ${fmtClock(v)}`;
        return `${name}: ${v}`;
      }).join(", ");
    }
    const good = st.required != null && st.done >= st.required;
    chips.push(el("span", { class: `rule-chip${bad.has(rule) ? " bad" : good ? " good" : ""}`, title: JSON.stringify(st) },
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

  // -- flags ----------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("button[data-signal]")) {
    b.addEventListener("click", async () => {
      if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
      await call("signal", { signal: b.dataset.signal }, { ok: `Signal sent: ${b.textContent}` });
    });
  }
  const clockLine = () => {
    const s = store.session;
    if (!s) return;
    const c = s.clock || {};
    const running = !s.closed ? store.elapsed() : 0;
    const now = (c.now_s || 0) + running;
    const parts = [c.green_s != null ? `Race time ${fmtClock(now - c.green_s)}` : `Session clock ${fmtClock(now)}`];
    if (c.green_s != null) parts.push(`green at ${fmtT(c.green_s)}`);
    if (c.leader_laps) parts.push(`leader on lap ${c.leader_laps}`);
    $("clock-line").textContent = parts.join(" · ");
  };
  setInterval(clockLine, 500);
  store.onChange(clockLine);

  // -- penalty queue ----------------------------------------------------------------------------
  const penTable = new KeyedTable($("penalties"), [
    { id: "id", label: "ID", cell: (p) => p.id },
    { id: "car", label: "Car", cls: "no", cell: (p) => {
      const r = store.rows.get(p.number);
      return { t: `#${p.number}`, sub: r ? r.name : "" };
    } },
    { id: "rule", label: "Rule", cls: "rule", cell: (p) => ({ t: p.rule, sub: p.note || "" }) },
    { id: "amount", label: "Penalty", cls: "nowrap", cell: (p) => amountText(p) },
    { id: "t", label: "Time", cls: "num", cell: (p) => fmtT(p.t) },
    { id: "evidence", label: "Evidence", cls: "evidence", cell: (p) => p.evidence || "" },
    { id: "state", label: "State", cell: (p) => ({ t: p.state, c: `st-${p.state}` }),
      render: (td, p) => td.replaceChildren(el("span", { class: `state-tag state-${p.state}` }, p.state)) },
    { id: "decision", label: "Decision", cls: "decision", cell: (p) => {
      const d = details.get(p.id) || {};
      return d.decision ? T.decision(d.decision) : d.manual && d.source ? `${d.source}` : "";
    } },
    { id: "actions", label: "", cls: "actions", cell: (p) => `${p.state}|${JSON.stringify(details.get(p.id) || {})}`,
      render: (td, p) => {
        const d = details.get(p.id) || {};
        const undoId = d.decision && p.state !== "reverted" ? d.decision.id : d.manual && p.state !== "reverted" ? d.source : null;
        td.replaceChildren(
          p.state === "proposed" ? el("button", { type: "button", class: "primary", "data-act": "approve",
            onclick: () => openApprove(p) }, T.approve) : "",
          p.state !== "waived" && p.state !== "reverted" ? el("button", { type: "button", class: "danger", "data-act": "waive",
            onclick: () => {
              const note = prompt(T.waiveAsk(p), "");
              if (note !== null) call(`penalties/${p.id}/waive`, note ? { note } : {}, { ok: T.waived(p.id) });
            } }, T.waive) : "",
          undoId ? el("button", { type: "button", "data-act": "undo", title: undoId, onclick: async () => {
            if (!confirm(T.undoAsk(p, d.decision ? d.decision.action : "the penalty"))) return;
            if (await call("revert", { id: undoId }, { ok: T.undone(undoId) })) corrections.refresh();
          } }, T.undo) : "");
      } },
  ], { key: (p) => p.id, rowClass: (p) => `pen-${p.state}` });

  // Who decided what and when: /penalties has it (the live stream carries the penalties themselves).
  const details = new Map();
  let detailTimer = null;
  const refreshDetails = () => {
    if (detailTimer) return;
    detailTimer = setTimeout(async () => {
      detailTimer = null;
      try {
        for (const d of await api(`${base}/penalties`)) details.set(d.id, d);
      } catch {
        return;
      }
      renderPenalties();
    }, 200);
  };

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
    $("appr-evidence").textContent = p.evidence || "";
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
    else return toast(T.needAmount, true);
    if (f.note) body.note = f.note;
    const p = approving;
    if (await call(`penalties/${p.id}/approve`, body, { ok: T.approved(p.id) })) {
      dlg.close();
      corrections.refresh();
    }
  });

  const jumpTable = new KeyedTable($("jumps"), [
    { id: "car", label: "Car", cls: "no", cell: (p) => `#${p.number}` },
    { id: "margin", label: "Margin", cls: "num", cell: (p) => {
      const ms = jumpMargin(p);
      return ms == null ? "?" : `${ms} ms`;
    } },
    { id: "amount", label: "Penalty", cell: (p) => amountText(p) },
    { id: "state", label: "State", cell: (p) => p.state },
    { id: "evidence", label: "Evidence", cls: "evidence", cell: (p) => p.evidence || "" },
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
    $("pen-count").textContent = `${proposed} to decide · ${all.length} in all`;
    const jumps = all.filter((p) => p.rule === "AX-JUMP").sort((a, b) => a.t - b.t);
    for (const p of jumps) jumpTable.update(p, ctx);
    jumpTable.order(jumps.map((p) => p.id));
    $("no-jumps").hidden = jumps.length > 0;
    $("jumps").hidden = jumps.length === 0;
    $("jump-count").textContent = jumps.length ? String(jumps.length) : "";
  };

  // -- manual penalty ---------------------------------------------------------------------------
  const rules = new Set(KNOWN_RULES);
  const ruleList = $("rule-ids");
  const refreshRuleList = () => {
    for (const k of Object.keys(sessionRules)) rules.add(k);
    if (ruleList.children.length !== rules.size) {
      ruleList.replaceChildren(...[...rules].sort().map((r) => el("option", { value: r },
        r in sessionRules ? "" : "other")));
    }
  };
  api(`${base}/rules`).then((r) => { sessionRules = r.rules || {}; refreshRuleList(); }).catch(() => {});
  $("pen-unit").addEventListener("change", () => { $("pen-amount").disabled = $("pen-unit").value === "dsq"; });
  $("penalty-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    const body = { number: f.number, rule: f.rule.toUpperCase() };
    if (!(body.rule in sessionRules) && !f.other) return toast(T.notInSession(body.rule), true);
    if (f.other && !f.note) return toast(T.otherNeedsNote, true);
    if (f.other) body.other = true;
    if (f.unit === "dsq") body.dsq = true;
    else if (f.amount !== "") body[f.unit] = Number(f.amount);
    if (f.note) body.note = f.note;
    if (f.offence) body.offence = f.offence; // CC-LINE: the rule picks the amount (warning, then 1 lap)
    const res = await call("penalties", body, { ok: `Penalty added to #${f.number}` });
    if (res) ev.target.reset();
  });

  // -- car actions ------------------------------------------------------------------------------
  for (const b of document.querySelectorAll("button[data-action]")) {
    b.addEventListener("click", async () => {
      const f = formData($("car-form"));
      if (!f.number) return toast("Choose a car first", true);
      let action = b.dataset.action, body = {};
      if (action === "ballast_ok" || action === "ballast_short") {
        body = { ok: action === "ballast_ok" };
        action = "ballast_check";
      } else if (action === "driver_change") {
        if (!f.driver) return toast("Type the new driver's id", true);
        body = { driver: f.driver };
      } else if (action === "weight_check") {
        if (!f.driver || !f.kg) return toast("Weight check needs driver and kg", true);
        body = { driver: f.driver, kg: Number(f.kg) };
      }
      await call(`cars/${encodeURIComponent(f.number)}/${action}`, body, { ok: `${b.textContent}: #${f.number}` });
    });
  }

  // -- rule status per car ----------------------------------------------------------------------
  const ruleTable = new KeyedTable($("rules"), [
    { id: "pos", label: "Pos", cls: "num pos", cell: (r) => String(r.position) },
    { id: "no", label: "No", cls: "no", cell: (r) => r.number },
    { id: "name", label: "Name", cls: "name", cell: (r) => ({ t: r.name, sub: r.category || "" }) },
    { id: "laps", label: "Laps", cls: "num", cell: (r) => String(r.laps) },
    { id: "pit", label: "Stops", cls: "num", cell: (r) => ({ t: String(r.pit_stops), sub: r.in_pit ? "IN PIT" : "" }) },
    { id: "driver", label: "Driver / stint", cell: (r) => ({
      t: r.driver_name || r.driver || "",
      sub: r.stint_s != null ? `stint ${fmtClock(r.stint_s)} · ${r.stint_laps} laps` : "" }) },
    { id: "rules", label: "Rules", cls: "rules",
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
  toast(`Cannot load race control: ${e.message}`, true);
});
