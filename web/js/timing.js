// Timing crew: decoders, live passings, unknown transponders, manual corrections, setup, export.
import { api } from "./auth.js";
import { mountCorrections } from "./corrections.js";
import { carOptions, formData, startStaffPage, toast } from "./staff.js";
import { KeyedTable } from "./table.js";
import { el, fmtLap, fmtT, pageLink } from "./util.js";

const $ = (id) => document.getElementById(id);

// User-visible strings of the correction features, kept together for the i18n catalogue.
const T = {
  noiseAsk: (u, n) => `Transponder ${u.transponder} looks like noise (${u.noise.join(", ")}). Assign it to #${n} anyway?`,
  replaceAsk: (n, trs, tr) => `Replace: ${trs.length ? trs.join(", ") : "no transponder"} of #${n} will stop counting; only ${tr} will count. Continue?`,
  assigned: (tr, n, replace) => `Transponder ${tr} ${replace ? "now replaces the transponders of" : "now also counts for"} #${n}`,
  replace: "replaces",
  noise: "looks like noise",
  estimated: (e) => e.basis === "interpolated"
    ? `Lap ${e.lap} looks like ${e.missing + 1} laps: interpolated at ${fmtT(e.t)}. Check it, then save.`
    : e.basis === "pace"
    ? `Estimated from the car's pace: last crossing ${fmtT(e.last_crossing_t)} + its median lap (at least ${e.min_lap_s} s). Check it, then save.`
    : "No lap yet: estimated from the session clock. Check it, then save.",
  saveEstimate: "Save estimated passing",
  addPassing: "Add passing",
  added: (n, loop, est) => `Passing added for #${n} (${loop})${est ? ", estimated" : ""}`,
  flag: { manual: "✍ manual", estimated: "≈ estimated", interpolated: "≈ interpolated", confirmed: "✓ confirmed" },
  fill: "Fill missed read",
  lapWarn: (r, w) => `#${r.number} lap ${w[0]}: ${fmtLap(w[1])} · ${w[2]}`,
};
const FEED_MAX = 200; // rows kept in the live feed: enough to spot a problem, cheap to keep

async function main() {
  const page = await startStaffPage(["timing", "admin"], "timing.html");
  if (!page) return;
  const { store, call, sid, who, base } = page;

  // -- live passings ----------------------------------------------------------------------------
  let feed = []; // newest first: {key, ...passing}
  let feedSeq = 0;
  const invalid = new Set();
  const feedTable = new KeyedTable($("feed"), [
    { id: "t", label: "Time", cls: "num", cell: (p) => fmtT(p.t) },
    { id: "tr", label: "Transponder", cell: (p) => p.transponder ?? (p.manual ? "(by hand)" : "") },
    { id: "loop", label: "Loop", cell: (p) => p.loop || "" },
    { id: "car", label: "Car", cls: "no", cell: (p) => (p.number ? `#${p.number}` : "?") },
    { id: "dec", label: "Decoder", cell: (p) => p.decoder ?? "" },
    { id: "sig", label: "Strength / hits", cls: "num", cell: (p) => [p.strength, p.hits].filter((x) => x != null).join(" / ") },
    { id: "state", label: "State", cell: (p) => (invalid.has(p.key) ? "invalidated" : p.state || "") },
    { id: "act", label: "", cell: (p) => `${p.state}|${invalid.has(p.key)}`, render: (td, p) => {
      const btns = [];
      if (p.transponder != null && p.state !== "unknown" && !invalid.has(p.key)) {
        btns.push(el("button", { type: "button", class: "danger", "data-act": "invalidate",
          title: "Mark this read invalid (a ghost read, a car on the wrong loop)",
          onclick: async () => {
            const res = await call("invalidate", { transponder: p.transponder, loop: p.loop, target_t: p.t },
              { ok: `Read of ${p.transponder} at ${fmtT(p.t)} marked invalid` });
            if (res) {
              invalid.add(p.key);
              feedTable.update(p, {});
              corrections.refresh();
            }
          } }, "Invalid"));
      }
      if (p.state === "unknown") {
        btns.push(el("button", { type: "button", onclick: () => focusAssign(p.transponder) }, "Assign…"));
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
    $("feed-count").textContent = `newest ${feed.length}`;
    if (list.some((p) => p.state === "unknown")) refreshUnknown();
  };

  // -- decoders -----------------------------------------------------------------------------------
  const decTable = new KeyedTable($("decoders"), [
    { id: "url", label: "Connection", cell: (d) => ({ t: d.url, sub: d.last_error || "" }) },
    { id: "loop", label: "Loop", cell: (d) => d.loop || Object.entries(d.loops || {}).map(([k, v]) => `${k}=${v}`).join(", ") || "by decoder" },
    { id: "state", label: "State", cell: (d) => ({ t: d.state || "", c: d.state === "connected" ? "ok" : "st-dsq" }),
      render: (td, d) => td.replaceChildren(el("span", { class: `dot ${d.state === "connected" ? "on" : "off"}` }), d.state || "") },
    { id: "id", label: "Decoder id", cell: (d) => d.decoder_id || "" },
    { id: "last", label: "Last passing (decoder clock)", cls: "num", cell: (d) => d.last_passing_us == null ? "" : new Date(d.last_passing_us / 1000).toISOString().slice(11, 23) },
    { id: "passings", label: "Reads", cls: "num", cell: (d) => String(d.passings ?? "") },
    { id: "noise", label: "Noise", cls: "num", cell: (d) => String(d.noise ?? "") },
    { id: "rec", label: "Reconnects", cls: "num", cell: (d) => String(d.reconnects ?? "") },
    { id: "rej", label: "Rejected frames", cls: "num", cell: (d) => {
      const r = d.rejected || {};
      const n = Object.values(r).reduce((a, b) => a + b, 0);
      return { t: String(n), sub: Object.entries(r).filter(([, v]) => v).map(([k, v]) => `${k} ${v}`).join(", ") };
    } },
    { id: "act", label: "", cell: (d) => d.url, render: (td, d) => td.replaceChildren(el("button", {
      type: "button", class: "danger", "data-act": "remove",
      onclick: async () => {
        if (!confirm(`Disconnect ${d.url}?`)) return;
        if (await call(`decoders/${d.index}`, undefined, { method: "DELETE", ok: `Removed ${d.url}` })) refreshDecoders();
      } }, "Remove")) },
  ], { key: (d) => `${d.index}|${d.url}` });

  async function refreshDecoders() {
    let list;
    try {
      list = await api(`${base}/decoders`);
    } catch {
      return;
    }
    list.forEach((d, i) => { d.index = i; decTable.update(d, {}); });
    decTable.order(list.map((d) => `${d.index}|${d.url}`));
    $("no-decoders").hidden = list.length > 0;
    $("dec-count").textContent = list.length ? `${list.filter((d) => d.state === "connected").length} of ${list.length} connected` : "";
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
    if (await call("decoders", body, { ok: `Added ${f.url}` })) {
      ev.target.reset();
      refreshDecoders();
    }
  });

  // -- unknown transponders ---------------------------------------------------------------------
  let unknownTimer = null;
  function refreshUnknown() {
    if (unknownTimer) return; // at most once a second however many unknown reads arrive
    unknownTimer = setTimeout(async () => {
      unknownTimer = null;
      let list;
      try {
        list = await api(`${base}/unknown`);
      } catch {
        return;
      }
      for (const u of list) {
        unkState.set(u.transponder, u);
        unkTable.update(u, {});
      }
      unkTable.order(list.map((u) => u.transponder));
      $("no-unknown").hidden = list.length > 0;
      $("unknown").hidden = list.length === 0;
      $("unknown-count").textContent = list.length ? String(list.length) : "";
    }, 300);
  }
  const unkTable = new KeyedTable($("unknown"), [
    { id: "tr", label: "Transponder", cls: "no", cell: (u) => u.transponder },
    { id: "n", label: "Reads", cls: "num", cell: (u) => String(u.count) },
    { id: "loops", label: "Loops", cell: (u) => Object.entries(u.loops || {}).map(([k, v]) => `${k} ${v}`).join(", ") },
    { id: "sig", label: "Strength / hits", cls: "num", cell: (u) => [u.max_strength, u.max_hits].map((x) => x ?? "–").join(" / ") },
    { id: "last", label: "Last", cls: "num", cell: (u) => fmtT(u.last_t) },
    { id: "noise", label: "", cell: (u) => ((u.noise || []).length ? { t: T.noise, sub: u.noise.join(", "), c: "st-dsq" } : "") },
    { id: "assign", label: "Assign to entry", cell: (u) => u.transponder, render: (td, u) => {
      const sel = el("select", { "aria-label": `Entry for transponder ${u.transponder}`, "data-transponder": u.transponder });
      carOptions(sel, store, { blank: "entry…" });
      const rep = el("input", { type: "checkbox", "data-replace": u.transponder });
      const btn = el("button", { type: "button", class: "primary", "data-act": "assign", onclick: async () => {
        if (!sel.value) return toast("Choose the entry first", true);
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
      } }, "Assign");
      td.replaceChildren(sel, " ", el("label", { title: "The car's other transponders stop counting" }, rep, ` ${T.replace}`), " ", btn);
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
  // Without a time the passing is estimated from the car's pace; the crew sees the estimate in the
  // time field and saves it (flagged "estimated"), or edits it first (then it is a typed time).
  let estimate = null;
  const resetManual = () => {
    estimate = null;
    $("man-t").value = "";
    $("man-estimate").textContent = "";
    $("man-submit").textContent = T.addPassing;
  };
  $("man-car").addEventListener("change", resetManual);
  /** A lap far above the car's pace: propose the missed crossing inside it, for the crew to check. */
  async function fillMissed(number, lap) {
    let e;
    try {
      e = await api(`${base}/cars/${encodeURIComponent(number)}/estimate?lap=${lap}`);
    } catch (err) {
      return toast(err.detail || err.message, true);
    }
    $("man-car").value = number;
    $("man-loop").value = "finish";
    estimate = e;
    $("man-t").value = String(e.t);
    $("man-estimate").textContent = T.estimated(e);
    $("man-submit").textContent = T.saveEstimate;
    $("man-t").scrollIntoView({ block: "center" });
  }
  $("manual-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = formData(ev.target);
    if (f.t === "") {
      try {
        estimate = await api(`${base}/cars/${encodeURIComponent(f.number)}/estimate`);
      } catch (e) {
        return toast(e.detail || e.message, true);
      }
      $("man-t").value = String(estimate.t);
      $("man-estimate").textContent = T.estimated(estimate);
      $("man-submit").textContent = T.saveEstimate;
      return;
    }
    const body = { number: f.number, loop: f.loop, t: Number(f.t) };
    if (estimate && Number(f.t) === estimate.t) body[estimate.basis === "interpolated" ? "interpolated" : "estimated"] = true;
    if (await call("manual_passing", body, { ok: T.added(f.number, f.loop, body.estimated) })) {
      resetManual();
      corrections.refresh();
    }
  });

  // -- cars: reads and anomalies ---------------------------------------------------------------
  const carsTable = new KeyedTable($("cars"), [
    { id: "pos", label: "Pos", cls: "num", cell: (r) => String(r.position) },
    { id: "no", label: "No", cls: "no", cell: (r) => r.number },
    { id: "name", label: "Name", cls: "name", cell: (r) => r.name },
    { id: "laps", label: "Laps", cls: "num", cell: (r) => String(r.laps + (r.penalty_laps || 0)) },
    { id: "last", label: "Last lap", cls: "num time", cell: (r) => ({ t: fmtLap(r.last_lap_s), sub: T.flag[r.last_lap_flag] || "" }) },
    { id: "lw", label: "Lap warnings", cls: "num", cell: (r) => {
      const w = r.lap_warnings || [];
      return w.length ? { t: String(w.length), sub: `lap ${w[w.length - 1][0]}: ${w[w.length - 1][2]}`, c: "st-dsq" } : "";
    } },
    { id: "an", label: "Anomalies", cls: "num", cell: (r) => (r.anomalies ? { t: String(r.anomalies), c: "st-dsq" } : "") },
    { id: "st", label: "", cell: (r) => r.status === "dns" ? { t: "no reads", c: "st-dsq" } : r.in_pit ? "in pit" : "" },
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
      const long = pct >= 150 && !(r.lap_flags || {})[w[0]]; // a decoder lap long enough to hide a missed read
      return el("li", { class: "alert-warn", "data-car": r.number, "data-lap": String(w[0]) }, T.lapWarn(r, w),
        long ? el("button", { type: "button", "data-act": "fill", onclick: () => fillMissed(r.number, w[0]) }, T.fill) : "");
    }));
    $("no-lap-warnings").hidden = items.length > 0;
  };

  // -- setup, start / stop, export ----------------------------------------------------------
  for (const b of document.querySelectorAll("button[data-signal]")) {
    b.addEventListener("click", async () => {
      if (b.dataset.confirm && !confirm(b.dataset.confirm)) return;
      await call("signal", { signal: b.dataset.signal }, { ok: `Signal sent: ${b.textContent}` });
    });
  }
  $("entries-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const file = $("entries-file").files[0];
    const text = file ? await file.text() : $("entries-csv").value;
    if (!text.trim()) return toast("Paste the CSV or choose a file", true);
    const res = await call("entries", text, { contentType: "text/csv" });
    if (res) {
      toast(`${res.entries} entries imported`);
      ev.target.reset();
    }
  });
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
        $("created").replaceChildren(`Created ${s.id}. Race-control token: `, el("code", {}, s.tokens.race_control),
          " · timing token: ", el("code", {}, s.tokens.timing), " · ",
          el("a", { href: pageLink("timing.html", s.id) }, "open it"));
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
    carOptions($("man-car"), store);
    for (const sel of document.querySelectorAll("select[data-transponder]")) carOptions(sel, store, { blank: "entry…" });
  });
  store.start();
  refreshDecoders();
  refreshUnknown();
  setInterval(refreshDecoders, 2000);
}

main().catch((e) => {
  console.error(e);
  toast(`Cannot load the timing page: ${e.message}`, true);
});
