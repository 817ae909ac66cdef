// Timing crew: decoders, live passings, unknown transponders, manual corrections, setup, export.
import { api, coalescedGet } from "./auth.js";
import { mountCorrections } from "./corrections.js";
import { mountEntries } from "./entries.js";
import { label, say, serverText, t } from "./i18n.js";
import { mountImportWizard } from "./import-wizard.js";
import { carOptions, formData, startStaffPage, toast } from "./staff.js";
import { mountAside } from "./reads-aside.js";
import { KeyedTable } from "./table.js";
import { clockOf, shownT, typedT } from "./timeinput.js";
import { el, fmtLap, fmtT, pageLink, params } from "./util.js";

const $ = (id) => document.getElementById(id);
// Why an unknown transponder looks like noise, in the page language (the server's codes).
const noiseText = (u) => (u.noise_said || []).map(say).join(", ") || (u.noise || []).join(", ");
// Texts of the correction features (catalogue keys tc.*), built when used.
const T = {
  noiseAsk: (u, n) => t("tc.noise_ask", { transponder: u.transponder, why: noiseText(u), number: n }),
  replaceAsk: (n, trs, tr) => t("tc.replace_ask", { number: n, old: trs.length ? trs.join(", ") : t("tc.no_transponder"), transponder: tr }),
  assigned: (tr, n, replace) => t(replace ? "tc.assigned_replace" : "tc.assigned_add", { transponder: tr, number: n }),
  estimated: (e) => e.basis === "interpolated"
    ? t("tc.est_interpolated", { lap: e.lap, n: e.missing + 1, t: fmtT(e.t) })
    : e.basis === "pace"
    ? t("tc.est_pace", { last: fmtT(e.last_crossing_t), min: e.min_lap_s })
    : t("tc.est_clock"),
  flag: (f) => (f ? t(`tc.flag_${f}`) : ""),
  lapWarn: (r, w) => t("tc.lap_warn", { number: r.number, lap: w[0], time: fmtLap(w[1]), why: serverText(w[2], w[3]) }),
};
const FEED_MAX = 200; // rows kept in the live feed: enough to spot a problem, cheap to keep

async function main() {
  const page = await startStaffPage(["timing", "admin"], "timing.html");
  if (!page) return;
  const { store, call, sid, who, base } = page;
  if (params.get("created")) {
    toast(t("tc.now_on_new", { id: sid }));
    history.replaceState(null, "", pageLink("timing.html", sid));
  }

  // -- live passings ----------------------------------------------------------------------------
  let feed = []; // newest first: {key, ...passing}
  let feedSeq = 0;
  const invalid = new Set();
  const feedTable = new KeyedTable($("feed"), [
    { id: "t", label: t("tc.col_time"), cls: "num", cell: (p) => ({ t: fmtT(p.t), sub: store.session && store.session.origin_ms ? clockOf(p.t, store.session) : "" }) },
    { id: "tr", label: t("tc.col_transponder"), cell: (p) => p.transponder ?? (p.manual ? t("tc.by_hand") : "") },
    { id: "loop", label: t("tc.loop"), cell: (p) => label("loop.", p.loop) },
    { id: "car", label: t("common.car"), cls: "no", cell: (p) => (p.number ? `#${p.number}` : "?") },
    { id: "dec", label: t("tc.col_decoder"), cell: (p) => p.decoder ?? "" },
    { id: "sig", label: t("tc.col_strength"), cls: "num", cell: (p) => [p.strength, p.hits].filter((x) => x != null).join(" / ") },
    { id: "state", label: t("common.state"), cell: (p) => (invalid.has(p.key) ? t("tc.invalidated") : label("passing.", p.state)) },
    { id: "act", label: "", cell: (p) => `${p.state}|${invalid.has(p.key)}`, render: (td, p) => {
      const btns = [];
      if (p.transponder != null && p.state !== "unknown" && !invalid.has(p.key)) {
        btns.push(el("button", { type: "button", class: "danger", "data-act": "invalidate",
          title: t("tc.invalid_title"),
          onclick: async () => {
            const res = await call("invalidate", { transponder: p.transponder, loop: p.loop, target_t: p.t },
              { ok: t("tc.invalid_done", { transponder: p.transponder, t: fmtT(p.t) }) });
            if (res) {
              invalid.add(p.key);
              feedTable.update(p, {});
              corrections.refresh();
            }
          } }, t("tc.invalid")));
      }
      if (p.state === "unknown") {
        btns.push(el("button", { type: "button", onclick: () => focusAssign(p.transponder) }, t("tc.assign_dots")));
      }
      td.replaceChildren(...btns);
    } },
  ], { key: (p) => p.key, rowClass: (p) => `p-${invalid.has(p.key) ? "invalid" : (p.state || "").split(" ")[0]}` });

  const addPassings = (list, reset) => {
    if (reset) feed = [];
    for (const p of list) feed.unshift({ ...p, key: `r${++feedSeq}` });
    if (feed.length > FEED_MAX) feed.length = FEED_MAX;
    for (const p of feed.slice(0, list.length)) feedTable.update(p, {});
    feedTable.order(feed.map((p) => p.key));
    $("feed-count").textContent = t("tc.newest", { n: feed.length });
    if (list.some((p) => p.state === "unknown")) refreshUnknown();
  };

  // -- decoders -----------------------------------------------------------------------------------
  const decTable = new KeyedTable($("decoders"), [
    { id: "url", label: t("tc.col_connection"), cell: (d) => ({ t: d.url, sub: serverText(d.last_error, d.last_error_said) }) },
    { id: "loop", label: t("tc.loop"), cell: (d) => label("loop.", d.loop) || Object.entries(d.loops || {}).map(([k, v]) => `${k}=${v}`).join(", ") || t("tc.by_decoder") },
    { id: "state", label: t("common.state"), cell: (d) => ({ t: d.state || "", c: d.state === "connected" ? "ok" : "st-dsq" }),
      render: (td, d) => td.replaceChildren(el("span", { class: `dot ${d.state === "connected" ? "on" : "off"}` }), label("decoder.", d.state)) },
    { id: "id", label: t("tc.col_decoder_id"), cell: (d) => ({ t: d.decoder_id || "", sub: d.firmware ? t("tc.firmware", { v: d.firmware }) : "" }) },
    { id: "last", label: t("tc.col_last_passing"), cls: "num", cell: (d) => d.last_passing_us == null ? "" : new Date(d.last_passing_us / 1000).toISOString().slice(11, 23) },
    // reads that reached the session (logged), and how many the link received
    { id: "passings", label: t("tc.col_reads"), cls: "num", cell: (d) => ({ t: String(d.passings ?? ""), sub: d.received != null ? t("tc.received", { n: d.received }) : "" }) },
    { id: "clock", label: t("tc.col_clock"), cell: (d) => clockCell(d) },
    // missed reads: asked for again (RESEND) and not back yet, came back, or given up
    { id: "missed", label: t("tc.col_missed"), cls: "num", cell: (d) => ({
      t: d.recovering ? t("tc.recovering", { n: d.recovering }) : t("tc.lost", { n: d.passings_lost ?? 0 }),
      c: d.passings_lost || d.unstored ? "st-dsq" : "",
      sub: [t("tc.recovered", { n: d.passings_recovered ?? 0 }), d.recovering ? t("tc.lost", { n: d.passings_lost ?? 0 }) : "",
        d.unstored ? t("tc.unstored", { n: d.unstored }) : "", d.reboots ? t("tc.reboots", { n: d.reboots }) : ""].filter(Boolean).join(", "),
    }) },
    // noise, and what Protime / Race Result / Wiclax decoders also report (docs/decoders.md)
    { id: "noise", label: t("tc.col_noise"), cell: (d) => {
      const per = (o) => Object.entries(o || {}).map(([k, v]) => `${k} ${v}`).join(" · ");
      const low = Object.keys(d.low_battery || {});
      const line = (...parts) => parts.filter(Boolean).join(" · ");
      return { t: per(d.channel_noise) || String(d.noise ?? ""), c: low.length ? "st-dsq" : "",
        sub: line(d.levels && Object.keys(d.levels).length ? t("tc.levels", { v: per(d.levels) }) : "",
          d.decoder_battery != null ? t("tc.decoder_battery", { n: d.decoder_battery }) : ""),
        sub2: line(d.markers ? t("tc.markers", { n: d.markers }) : "", d.triggers ? t("tc.triggers", { n: d.triggers }) : "",
          low.length ? t("tc.low_battery", { list: low.join(", ") }) : "") };
    } },
    { id: "kept", label: t("tc.col_kept"), cls: "num", cell: (d) => {
      const n = (d.refused || 0) + (d.late || 0) + (d.clock_held || 0);
      return { t: String(n), c: n ? "st-dsq" : "", sub: n ? t("tc.kept_counts", { refused: d.refused || 0, late: d.late || 0, clock: d.clock_held || 0 }) : "" };
    } },
    { id: "rec", label: t("tc.col_reconnects"), cls: "num", cell: (d) => String(d.reconnects ?? "") },
    { id: "rej", label: t("tc.col_rejected"), cls: "num", cell: (d) => {
      const r = d.rejected || {};
      const n = Object.values(r).reduce((a, b) => a + b, 0);
      return { t: String(n), sub: Object.entries(r).filter(([, v]) => v).map(([k, v]) => `${label("reject.", k)} ${v}`).join(", ") };
    } },
    { id: "act", label: "", cell: (d) => `${d.url}|${d.rtc_zero_us}`, render: (td, d) => td.replaceChildren(el("button", {
      type: "button", "data-act": "clock", title: t("tc.clock_ask"), onclick: () => setClock(d) }, t("tc.clock_set")), " ", el("button", {
      type: "button", class: "danger", "data-act": "remove",
      onclick: async () => {
        if (!confirm(t("tc.confirm_disconnect", { url: d.url }))) return;
        if (await call(`decoders/${d.index}`, undefined, { method: "DELETE", ok: t("tc.removed", { url: d.url }) })) refreshDecoders();
      } }, t("tc.remove"))) },
  ], { key: (d) => `${d.index}|${d.url}` });
  /** A decoder's clock as Boucle aligns it: where it comes from, how far from this computer, drift. */
  function clockCell(d) {
    const cs = d.clock || [];
    if (!cs.length) return { t: t("tc.clock_unknown"), sub: d.waiting_clock ? t("tc.waiting_clock", { n: d.waiting_clock }) : "" };
    const main = cs.map((c) => label("tc.clock_src.", c.source)).join(" · ");
    const sub = cs.map((c) => [c.decoder_id && cs.length > 1 ? c.decoder_id : "",
      t(c.offset_s >= 0 ? "tc.clock_offset" : "tc.clock_ahead", { offset: fmtOffset(Math.abs(c.offset_s)) }),
      c.drift_ppm || c.measured_ppm ? t("tc.clock_drift", { ppm: (c.drift_ppm || c.measured_ppm).toFixed(1) }) : "",
      c.epoch > 1 ? t("tc.clock_epoch", { n: c.epoch }) : ""].filter(Boolean).join(", ")).join(" · ");
    return { t: main, sub, sub2: d.waiting_clock ? t("tc.waiting_clock", { n: d.waiting_clock }) : "" };
  }
  const fmtOffset = (s) => (s >= 86400 ? `${t("tc.days", { n: Math.floor(s / 86400) })} ${fmtT(s % 86400)}` : fmtT(s));
  async function setClock(d) {
    const v = prompt(t("tc.clock_ask"), d.rtc_zero_us ?? "");
    if (v === null) return;
    const zero = v.trim() === "" ? null : Number(v.trim());
    if (zero !== null && !Number.isSafeInteger(zero)) return toast(t("tc.clock_ask"), true);
    const how = zero === null ? t("tc.clock_src.decoder") : t("tc.clock_src.manual");
    if (await call(`decoders/${d.index}`, { rtc_zero_us: zero }, { method: "PATCH", ok: t("tc.clock_saved", { url: d.url, how }) })) refreshDecoders();
  }

  const refreshAside = mountAside({ base, call, canAdmit: who.role === "timing" || who.role === "admin" });
  async function refreshDecoders() {
    refreshAside();
    let list;
    try {
      list = await api(`${base}/decoders`);
    } catch {
      return;
    }
    list.forEach((d, i) => { d.index = i; decTable.update(d, {}); });
    decTable.order(list.map((d) => `${d.index}|${d.url}`));
    $("no-decoders").hidden = list.length > 0;
    $("decoders").hidden = list.length === 0;
    $("dec-count").textContent = list.length ? t("tc.connected_count", { k: list.filter((d) => d.state === "connected").length, n: list.length }) : "";
  }
  $("decoder-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    const body = { url: f.url };
    if (f.loop) body.loop = f.loop;
    if (f.loops) {
      body.loops = {};
      for (const part of f.loops.split(",")) {
        const [k, v] = part.split("=").map((x) => x && x.trim());
        if (k && v) body.loops[k] = v;
      }
    }
    if (await call("decoders", body, { ok: t("tc.added", { url: f.url }) })) {
      ev.target.reset();
      refreshDecoders();
    }
  });

  // -- unknown transponders ---------------------------------------------------------------------
  // a few times a second at most however many unknown reads arrive
  const refreshUnknown = coalescedGet(`${base}/unknown`, 300, (list) => {
    for (const u of list) {
      unkState.set(u.transponder, u);
      unkTable.update(u, {});
    }
    unkTable.order(list.map((u) => u.transponder));
    $("no-unknown").hidden = list.length > 0;
    $("unknown").hidden = list.length === 0;
    $("unknown-count").textContent = list.length ? String(list.length) : "";
  });
  const unkTable = new KeyedTable($("unknown"), [
    { id: "tr", label: t("tc.col_transponder"), cls: "no", cell: (u) => u.transponder },
    { id: "n", label: t("tc.col_reads"), cls: "num", cell: (u) => String(u.count) },
    { id: "loops", label: t("tc.col_loops"), cell: (u) => Object.entries(u.loops || {}).map(([k, v]) => `${label("loop.", k)} ${v}`).join(", ") },
    { id: "sig", label: t("tc.col_strength"), cls: "num", cell: (u) => [u.max_strength, u.max_hits].map((x) => x ?? "–").join(" / ") },
    { id: "last", label: t("tc.col_last"), cls: "num", cell: (u) => fmtT(u.last_t) },
    { id: "noise", label: "", cell: (u) => ((u.noise || []).length ? { t: t("tc.noise"), sub: noiseText(u), c: "st-dsq" } : "") },
    { id: "assign", label: t("tc.col_assign"), cell: (u) => u.transponder, render: (td, u) => {
      const sel = el("select", { "aria-label": t("tc.entry_for", { transponder: u.transponder }), "data-transponder": u.transponder });
      carOptions(sel, store, { blank: t("tc.entry_blank") });
      const rep = el("input", { type: "checkbox", "data-replace": u.transponder });
      const btn = el("button", { type: "button", class: "primary", "data-act": "assign", onclick: async () => {
        if (!sel.value) return toast(t("tc.choose_entry"), true);
        const cur = unkState.get(u.transponder) || u;
        if ((cur.noise || []).length && !confirm(T.noiseAsk(cur, sel.value))) return;
        const body = { transponder: u.transponder, number: sel.value };
        if (rep.checked) {
          let trs = [];
          try {
            trs = (await api(`${base}/transponders`))[sel.value] || [];
          } catch { /* the server still answers with what stopped counting */ }
          if (!confirm(T.replaceAsk(sel.value, trs, u.transponder))) return;
          body.replace = true;
        }
        const ok = await call("assign", body, { ok: T.assigned(u.transponder, sel.value, body.replace) });
        if (ok) {
          unkTable.remove(u.transponder);
          refreshUnknown();
          corrections.refresh();
        }
      } }, t("tc.assign"));
      td.replaceChildren(sel, " ", el("label", { title: t("tc.replace_title") }, rep, ` ${t("tc.replaces")}`), " ", btn);
    } },
  ], { key: (u) => u.transponder, rowClass: (u) => ((u.noise || []).length ? "noise" : "") });
  const unkState = new Map();
  function focusAssign(tr) {
    const sel = document.querySelector(`select[data-transponder="${CSS.escape(String(tr))}"]`);
    if (sel) {
      sel.scrollIntoView({ block: "center" });
      sel.focus();
    }
  }

  // -- manual passing -----------------------------------------------------------------------------
  // The car by number (touch pad or keyboard), the time as a time of day or a race time (never
  // session seconds). "Passing now" (or Enter in the number) stamps the current instant; without
  // a time, "Add" asks Boucle where the crossing most likely was (the car's pace), shown in the
  // time field to check before saving (flagged "estimated"; edited first, it is a typed time).
  let estimate = null;
  const mode = () => (document.querySelector("#man-mode input:checked") || {}).value || "clock";
  const header = () => {
    const h = store.session || {};
    return { ...h, wall_ms: (h.wall_ms || Date.now()) + store.elapsed() * 1000 };
  };
  const resetManual = () => {
    estimate = null;
    $("man-t").value = "";
    $("man-estimate").textContent = "";
    $("man-t-check").textContent = "";
    $("man-submit").textContent = t("tc.add_passing");
  };
  const carName = () => {
    const n = $("man-car").value.trim();
    const r = n ? store.rows.get(n) : null;
    $("man-car-name").textContent = !n ? "" : r ? `#${r.number} ${r.name || ""}` : t("tc.no_such_car", { number: n });
    $("man-car-name").classList.toggle("error", !!n && !r);
  };
  $("man-car").addEventListener("input", () => { resetManual(); carName(); });
  for (const b of $("numpad").querySelectorAll("button[data-key]")) {
    b.addEventListener("click", () => {
      const input = $("man-car"), k = b.dataset.key;
      input.value = k === "back" ? input.value.slice(0, -1) : k === "clear" ? "" : input.value + k;
      input.dispatchEvent(new Event("input"));
    });
  }
  /** What the time field says, as a session time (null: empty; NaN: not a time). */
  const typed = () => {
    const text = $("man-t").value.trim();
    if (!text) return null;
    const v = typedT(text, mode(), header());
    return v === null ? NaN : v;
  };
  const checkTime = () => {
    const v = typed();
    $("man-t-check").textContent = v === null ? "" : Number.isNaN(v) ? t(mode() === "race" ? "tc.bad_race_time" : "tc.bad_clock_time")
      : t(mode() === "race" ? "tc.is_clock" : "tc.is_race", { time: shownT(v, mode() === "race" ? "clock" : "race", header()) });
    $("man-t-check").classList.toggle("error", Number.isNaN(v));
  };
  $("man-t").addEventListener("input", checkTime);
  for (const r of document.querySelectorAll("#man-mode input")) {
    r.addEventListener("change", () => {
      $("man-t").placeholder = mode() === "race" ? "1:02:05.1" : "14:32:05.120";
      if (estimate) $("man-t").value = shownT(estimate.t, mode(), header());
      checkTime();
    });
  }
  $("man-top").addEventListener("click", () => {
    const now = store.nowS();
    if (now == null) return;
    estimate = null;
    $("man-t").value = shownT(now, mode(), header());
    checkTime();
    $("man-car").focus();
  });
  $("man-car").addEventListener("change", () => { if (!$("man-car").value) resetManual(); });
  const showEstimate = (e) => {
    estimate = e;
    $("man-t").value = shownT(e.t, mode(), header());
    $("man-estimate").textContent = T.estimated(e);
    $("man-submit").textContent = t("tc.save_estimate");
    checkTime();
  };
  /** A lap far above the car's pace: propose the missed crossing inside it, for the crew to check. */
  async function fillMissed(number, lap) {
    let e;
    try {
      e = await api(`${base}/cars/${encodeURIComponent(number)}/estimate?lap=${lap}`);
    } catch (err) {
      return toast(err.detail || err.message, true);
    }
    $("man-car").value = number;
    carName();
    $("man-loop").value = "finish";
    showEstimate(e);
    $("man-t").scrollIntoView({ block: "center" });
  }
  async function addPassing(number, tt, flags = {}) {
    const loop = $("man-loop").value;
    const body = { number, loop, t: tt, ...flags };
    const ok = t(body.estimated ? "tc.passing_added_estimated" : "tc.passing_added", { number, loop: label("loop.", loop) });
    if (await call("manual_passing", body, { ok })) {
      resetManual();
      $("man-car").value = "";
      carName();
      $("man-car").focus();
      corrections.refresh();
    }
  }
  const passingNow = () => {
    const number = $("man-car").value.trim();
    const now = store.nowS();
    if (!number) return toast(t("tc.type_number"), true);
    if (now != null) addPassing(number, Math.round(now * 1000) / 1000);
  };
  $("man-now").addEventListener("click", passingNow);
  $("man-car").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !$("man-t").value.trim()) {
      ev.preventDefault();
      passingNow();
    }
  });
  $("manual-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const number = $("man-car").value.trim();
    const v = typed();
    if (v === null) {
      try {
        showEstimate(await api(`${base}/cars/${encodeURIComponent(number)}/estimate`));
      } catch (e) {
        toast(e.detail || e.message, true);
      }
      return;
    }
    if (Number.isNaN(v)) return toast($("man-t-check").textContent, true);
    const flags = {};
    if (estimate && Math.abs(v - estimate.t) < 0.0005) flags[estimate.basis === "interpolated" ? "interpolated" : "estimated"] = true;
    addPassing(number, flags.estimated || flags.interpolated ? estimate.t : v, flags);
  });

  // -- cars: reads and anomalies ---------------------------------------------------------------
  const carsTable = new KeyedTable($("cars"), [
    { id: "pos", label: t("col.pos"), cls: "num", cell: (r) => String(r.position) },
    { id: "no", label: t("col.no"), cls: "no", cell: (r) => r.number },
    { id: "name", label: t("common.name"), cls: "name", cell: (r) => r.name },
    { id: "laps", label: t("col.laps"), cls: "num", cell: (r) => String(r.laps + (r.penalty_laps || 0)) },
    { id: "last", label: t("col.last_lap"), cls: "num time", cell: (r) => ({ t: fmtLap(r.last_lap_s), sub: T.flag(r.last_lap_flag) }) },
    { id: "lw", label: t("tc.col_lap_warnings"), cls: "num", cell: (r) => {
      const w = r.lap_warnings || [];
      const last = w[w.length - 1];
      return w.length ? { t: String(w.length), sub: t("tc.lap_n_why", { lap: last[0], why: serverText(last[2], last[3]) }), c: "st-dsq" } : "";
    } },
    { id: "an", label: t("tc.col_anomalies"), cls: "num", cell: (r) => (r.anomalies ? { t: String(r.anomalies), c: "st-dsq" } : "") },
    { id: "st", label: "", cell: (r) => r.status === "dns" ? { t: t("tc.no_reads"), c: "st-dsq" } : r.in_pit ? t("state.pit_long") : "" },
  ], { rowClass: (r) => (r.anomalies || r.status === "dns" || (r.lap_warnings || []).length ? "alert" : "") });

  const corrections = mountCorrections($("corrections"), $("no-corrections"), { base, call,
    types: ["invalidate", "assign", "manual_passing"] });
  let warnKey = null;
  const renderLapWarnings = (rows) => {
    const items = [];
    for (const r of rows) for (const w of r.lap_warnings || []) items.push([r, w]);
    const key = items.map(([r, w]) => T.lapWarn(r, w)).join("\n");
    if (key === warnKey) return;
    warnKey = key;
    $("lap-warnings").replaceChildren(...items.map(([r, w]) => {
      const pct = Number((/(\d+) %/.exec(w[2]) || [])[1]);
      const flag = (r.lap_flags || {})[w[0]];
      const long = pct >= 150 && (!flag || flag === "warned"); // a decoder lap long enough to hide a missed read
      return el("li", { class: "alert-warn", "data-car": r.number, "data-lap": String(w[0]) }, T.lapWarn(r, w),
        long ? el("button", { type: "button", "data-act": "fill", onclick: () => fillMissed(r.number, w[0]) }, t("tc.fill_missed")) : "");
    }));
    $("no-lap-warnings").hidden = items.length > 0;
  };

  // -- entries: added, edited and removed one by one (entry lines of the session log) -----------------
  const entries = mountEntries($("entries-card"), {
    list: () => api(`${base}/entries`),
    save: (number, fields) => api(`${base}/entries/${encodeURIComponent(number)}`, { method: "PUT", body: fields }),
    remove: (number) => api(`${base}/entries/${encodeURIComponent(number)}`, { method: "DELETE" }),
    removable: (e) => !e.has_history,
    error: (e) => toast(e.detail || e.message, true),
  });
  window.boucle.entries = entries; // an import (web/js/import-wizard.js) calls entries.refresh()
  let entriesKey = null;
  /** The list is read again when cars come, go, change or start running (another device, an import). */
  const entriesSync = (rows) => {
    const key = rows.map((r) => `${r.number}:${r.name}:${r.category}:${r.status === "dns" ? 0 : 1}`).sort().join("|");
    if (key !== entriesKey) {
      entriesKey = key;
      entries.refresh();
    }
  };

  // -- setup, start / stop, export ----------------------------------------------------------
  for (const b of document.querySelectorAll("button[data-signal]")) {
    b.addEventListener("click", async () => {
      if (b.dataset.confirm && !confirm(t(b.dataset.confirm))) return;
      await call("signal", { signal: b.dataset.signal }, { ok: t("staff.signal_sent", { signal: b.textContent }) });
    });
  }
  $("entries-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("entries-file").files[0]; // sent as its bytes: the server detects the encoding
    const text = file ? "" : $("entries-csv").value;
    if (!file && !text.trim()) return toast(t("tc.paste_csv"), true);
    const res = await call("entries", file || text, { contentType: "text/csv" });
    if (res) {
      toast(t("tc.imported", { n: res.entries }));
      ev.target.reset();
    }
  });
  // the club-file wizard opens from the entries card (its slot); the list is read again after it
  const wizard = el("button", { type: "button", id: "import-wizard-open" }, t("imp.open"));
  document.getElementById("import-slot").append(wizard);
  mountImportWizard(wizard, { base, onImported: () => entries.refresh() });
  $("export-csv").href = `${base}/export.csv`;
  $("export-print").href = pageLink("print.html", sid);
  $("export-jsonl").addEventListener("click", async () => {
    // Needs the token, so not a plain link: fetch, then hand the browser a blob to save.
    try {
      const res = await api(`${base}/export.jsonl`, { raw: true });
      const url = URL.createObjectURL(await res.blob());
      const a = el("a", { href: url, download: `${sid}.jsonl` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (e) {
      toast(e.detail || e.message, true);
    }
  });
  if (who.role === "admin") {
    $("create-form").hidden = false;
    api("api/presets").then((list) => $("new-preset").replaceChildren(
      ...list.map((p) => el("option", { value: p.name, title: p.description || "" }, p.name)))).catch(() => {});
    $("create-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = formData(ev.target);
      const body = { name: f.name, preset: f.preset, kind: f.kind };
      if (f.duration_s) body.duration_s = Number(f.duration_s);
      if (f.laps) body.laps = Number(f.laps);
      try {
        const s = await api("api/sessions", { method: "POST", body });
        // The page now works on the new session: imports and starts must go there.
        $("created").textContent = t("tc.created", { id: s.id });
        location.assign(pageLink("timing.html", s.id, { created: "1" }));
      } catch (e) {
        toast(e.detail || e.message, true);
      }
    });
  }

  store.onExtra((m) => {
    if (m.type === "snapshot") addPassings(m.passings || [], true);
    else if (m.passings) addPassings(m.passings, false);
  });
  store.onChange(() => {
    const rows = store.sortedRows();
    for (const r of rows) carsTable.update(r, {});
    carsTable.order(rows.map((r) => r.number));
    renderLapWarnings(rows);
    corrections.refresh();
    carName();
    entriesSync(rows);
    for (const sel of document.querySelectorAll("select[data-transponder]")) carOptions(sel, store, { blank: t("tc.entry_blank") });
  });
  // -- log lines set aside at load (written by an older version, or by hand): shown, never hidden --
  const asideTable = new KeyedTable($("set-aside"), [
    { id: "seq", label: t("tc.col_log_line"), cls: "num", cell: (a) => String(a.seq) },
    { id: "error", label: t("tc.col_why"), cell: (a) => serverText(a.error, a.error_said) },
    { id: "line", label: t("tc.col_text"), cell: (a) => a.line },
  ], { key: (a) => String(a.seq) });
  api(base).then((info) => {
    const aside = info.set_aside || [];
    for (const a of aside) asideTable.update(a, {});
    asideTable.order(aside.map((a) => String(a.seq)));
    $("set-aside-count").textContent = aside.length ? String(aside.length) : "";
    // lines the log lost (a deleted -wal file, a bad page): said, never silent (docs/storage.md)
    const damage = info.damage || [];
    $("log-damage").replaceChildren(...damage.map((d) => el("li", { class: "alert-warn", "data-cause": d.cause },
      t("tc.log_damage", { n: d.lines_missing, found: d.found, why: t(`tc.damage_${d.cause}`),
        lines: (d.missing || []).map(([a, b]) => (a === b ? `${a}` : `${a}–${b}`)).join(", ") }),
      d.kept_as ? ` ${t("tc.damage_kept", { file: d.kept_as })}` : "")));
    $("set-aside-card").hidden = aside.length === 0 && damage.length === 0;
  }).catch(() => {});

  store.start();
  refreshDecoders();
  refreshUnknown();
  setInterval(refreshDecoders, 2000);
}

main().catch((e) => {
  console.error(e);
  toast(t("tc.cannot_load", { error: e.message }), true);
});
