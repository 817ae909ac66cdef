// Meeting page: the organiser's details, the entry list (before the first session opens), the
// stages in order with their plans (series, grids, laps), sessions added by hand, race-direction
// decisions (AX-RED, AX-PRACTICE, AX-FINAL, AX-POINTS), sign-offs (AX-PUBLISH) and every printable
// document. Everyone reads it; only the admin or the meeting's own tokens see a control, and only
// the controls of their job (the server checks each action's role too).
// Live: one request (`board`) every few seconds, answered 304 while nothing changed (ETag): a
// stage opened or a session started from another device shows here within seconds. A light
// poll rather than a WebSocket: a meeting changes a few times an hour, and a 304 costs a header.
import { ApiError, api, whoBadge, whoami } from "./auth.js";
import { fieldNode, formDialog } from "./dialog.js";
import { mountEntries } from "./entries.js";
import { label, lang, t } from "./i18n.js";
import { meetingDialog, sessionDialog } from "./meeting-form.js";
import { mountPicker } from "./picker.js";
import { parseRace } from "./timeinput.js";
import { toast } from "./staff.js";
import { el, pageLink, params } from "./util.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 3000;
let mid = params.get("meeting");
let board = null; // the meeting's summary and board (GET /api/meetings/ID/board)
let role = null; // "admin", or this meeting's timing / race_director / stewards; null for everyone else
let etag = null;
let entries = null;

const base = () => `api/meetings/${encodeURIComponent(mid)}`;
const doc = (path) => `${base()}/${path}?lang=${lang}`;
/** May the visitor do a job of one of these meeting roles? (the admin does everything) */
const can = (...roles) => role === "admin" || (role !== null && roles.includes(role));
const stageName = (p) => (p.series && board.stages.find((s) => s.stage === p.stage)?.sessions.length > 1
  ? t("meeting.stage_series", { stage: label("stage.", p.stage), n: p.series }) : label("stage.", p.stage));

/** POST with a toast; the page reads the board again after a success. */
async function act(path, body, okText, { method = "POST" } = {}) {
  try {
    const res = await api(`${base()}/${path}`, { method, body: body ?? {} });
    toast(okText);
    await poll(true);
    return res;
  } catch (e) {
    toast(e.detail || e.message, true);
    return null;
  }
}

// -- choosing a meeting ---------------------------------------------------------------------------
function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(`${iso}T12:00:00`);
  return isNaN(d) ? iso : d.toLocaleDateString(lang === "fr" ? "fr-FR" : "en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

async function chooseMeeting(isAdmin) {
  if (mid) return mid;
  const sid = params.get("session");
  const list = await api("api/meetings");
  if (sid) {
    const m = list.find((x) => Object.values(x.sessions || {}).includes(sid));
    if (m) return m.id;
  }
  if (list.length === 1 && !isAdmin) return list[0].id;
  $("m-list-card").hidden = false;
  $("m-none").hidden = list.length > 0;
  $("m-new").hidden = !isAdmin;
  $("m-list").replaceChildren(...list.map((m) => el("li", { "data-meeting": m.id },
    el("a", { href: `meeting.html?meeting=${encodeURIComponent(m.id)}` }, m.name || m.division || m.id),
    ` · ${[fmtDate(m.date), m.place, t(`mf.format_${m.preset.replace("-", "_")}`), m.division,
      m.stage ? t("meeting.at_stage", { stage: label("stage.", m.stage) }) : ""].filter(Boolean).join(" · ")}`)));
  return null;
}

// -- the board -------------------------------------------------------------------------------------
/** Read the board; `force` even when the tab is hidden. True when something changed. */
async function poll(force = false) {
  if (!force && document.hidden) return false;
  let res;
  try {
    res = await fetch(`${base()}/board`, { cache: "no-store",
      headers: { "Accept-Language": lang, ...(etag ? { "If-None-Match": etag } : {}) } });
  } catch {
    $("m-updated").textContent = t("meeting.live_lost");
    return false;
  }
  $("m-updated").textContent = res.ok || res.status === 304 ? t("meeting.live_ok", { time: new Date().toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB") }) : t("meeting.live_lost");
  if (res.status === 304) return false;
  if (res.status === 404) {
    location.replace("meeting.html");
    return false;
  }
  if (!res.ok) return false;
  etag = res.headers.get("ETag");
  board = await res.json();
  render();
  return true;
}

function render() {
  // what the visitor is typing survives a refresh of the board
  const kept = new Map([...document.querySelectorAll("[data-keep]")].map((n) => [n.dataset.keep, n.value]));
  renderSummary();
  renderStages();
  renderSessions();
  renderDocs();
  for (const n of document.querySelectorAll("[data-keep]")) if (kept.has(n.dataset.keep)) n.value = kept.get(n.dataset.keep);
  const showEntries = can("timing") && !board.started;
  $("m-entries-card").hidden = !showEntries;
  if (showEntries) entries.refresh();
  const decisions = board.preset === "autocross" && can("race_director", "stewards");
  $("m-decisions-card").hidden = !decisions;
  for (const f of document.querySelectorAll("#m-decisions-card form[data-roles]")) f.hidden = !can(...f.dataset.roles.split(" "));
  window.boucle.meeting = () => board;
}

function renderSummary() {
  const m = board;
  const title = m.name || m.division || m.id;
  $("m-title").textContent = title;
  document.title = `${title} · ${t("page.meeting")}`;
  const facts = [["mf.date", fmtDate(m.date)], ["mf.place", m.place], ["mf.organiser", m.organiser],
    ["mf.format", t(`mf.format_${m.preset.replace("-", "_")}`)], [m.preset === "ffsa-karting" ? "mf.category" : "mf.division", m.division]]
    .filter(([, v]) => v);
  $("m-facts").replaceChildren(...facts.map(([k, v]) => el("div", { "data-fact": k }, el("dt", {}, t(k)), el("dd", {}, v))));
  $("m-logo").hidden = !m.logo;
  if (m.logo && $("m-logo").getAttribute("src") !== m.logo) $("m-logo").src = m.logo;
  $("m-logo").alt = m.organiser || m.name || "";
  const parts = [t("meeting.entries", { n: m.entries }),
    m.stages.length ? (m.stage ? t("meeting.at_stage", { stage: label("stage.", m.stage) }) : t("meeting.over")) : "",
    m.stopped_after ? t("meeting.stopped_after", { stage: label("stage.", m.stopped_after) }) : "",
    (m.cancelled || []).length ? t("meeting.cancelled", { list: m.cancelled.map((h) => label("stage.", h)).join(", ") }) : ""];
  $("m-summary").textContent = parts.filter(Boolean).join(" · ");
  $("m-links").replaceChildren(
    el("a", { href: `./?meeting=${encodeURIComponent(mid)}` }, t("meeting.spectator_link")),
    el("a", { href: `./?meeting=${encodeURIComponent(mid)}&tv=1` }, t("meeting.tv_link")));
  $("m-admin").hidden = role !== "admin";
}

function planRow(p, stage) {
  const key = encodeURIComponent(p.key);
  const bits = [el("b", {}, stageName(p)), p.laps ? el("span", { class: "tag" }, t("meeting.laps", { n: p.laps })) : "",
    el("span", { class: "tag" }, t("meeting.cars", { n: (p.grid || []).filter(Boolean).length }))];
  if (p.recorded) bits.push(el("span", { class: "tag done" }, t("meeting.recorded")));
  else if (p.state === "live") bits.push(el("span", { class: "tag now" }, t("meeting.on_track")));
  else if (p.session_id) bits.push(el("span", { class: "tag now" }, t("meeting.started")));
  const links = [el("a", { href: doc(`startlist/${key}.html`), target: "_blank" }, t("meeting.startlist"))];
  if (p.session_id) {
    links.push(el("a", { href: pageLink("./", p.session_id) }, t("page.live")));
    if (can("race_director", "stewards")) links.push(el("a", { href: pageLink("race-control.html", p.session_id) }, t("page.race_control")));
    if (can("timing")) links.push(el("a", { href: pageLink("timing.html", p.session_id) }, t("page.timing")));
  }
  if (p.recorded) links.push(el("a", { href: doc(`results/${key}.html`), target: "_blank" }, t("meeting.results")));
  const btns = [];
  if (p.session_id && !p.recorded) {
    if (can("timing")) {
      btns.push(el("button", { type: "button", class: "primary", "data-act": "finish", onclick: () => {
        if (confirm(t("meeting.confirm_finish", { key: stageName(p) }))) act(`sessions/${key}/finish`, {}, t("meeting.finished", { key: stageName(p) }));
      } }, t("meeting.finish")));
    }
    if (board.preset === "autocross" && can("race_director", "timing")) {
      const causers = el("input", { size: "12", name: "causers", inputmode: "numeric", "data-keep": `causers:${p.key}`,
        placeholder: t("meeting.causers_short"), "aria-label": t("meeting.causers") });
      btns.push(causers, el("button", { type: "button", class: "btn-flag-red", "data-act": "red", onclick: async () => {
        const res = await act(`sessions/${key}/red`, { causers: causers.value.split(/[ ,;]+/).filter(Boolean) }, t("meeting.red_done"));
        if (res) toast(t("meeting.red_decision", { action: label("redaction.", res.action), laps: res.laps_to_run ?? "–" }));
      } }, t("meeting.red")));
    }
    if (can("timing") && !p.has_run) {
      btns.push(el("button", { type: "button", class: "linkish", "data-act": "unopen", onclick: () => {
        if (confirm(t("meeting.confirm_unopen", { key: stageName(p) }))) act(`sessions/${key}`, undefined, t("meeting.unopened", { key: stageName(p) }), { method: "DELETE" });
      } }, t("meeting.unopen")));
    }
  }
  if (!p.recorded && (p.grid || []).some(Boolean) && can("timing", "race_director")) {
    btns.push(el("button", { type: "button", class: "linkish", "data-act": "type-result", onclick: () => typeResult(p) }, t("meeting.type_result")));
  }
  if (p.recorded && can("timing", "race_director", "stewards")) {
    btns.push(el("button", { type: "button", "data-act": "sign", onclick: () => act("signoff", { document: p.key }, t("meeting.signed", { doc: stageName(p) })) }, t("meeting.sign")));
  }
  if (can("timing", "race_director", "stewards")) {
    btns.push(el("button", { type: "button", class: "linkish", "data-act": "sign-grid", onclick: () => act("signoff", { document: `grid:${p.key}` }, t("meeting.signed", { doc: t("meeting.grid_of", { key: stageName(p) }) })) }, t("meeting.sign_grid")));
  }
  return el("div", { class: "plan", "data-key": p.key, "data-stage": stage.stage }, ...bits, el("span", { class: "grid-mini" }, gridText(p)),
    el("span", { class: "links" }, ...links), btns.length ? el("span", { class: "btns" }, ...btns) : "");
}

/** A result typed in (a final run in two parts after AX-RED, a session without timing): one line per car. */
async function typeResult(p) {
  const cars = (p.grid || []).filter(Boolean);
  const statuses = ["classified", "dnf", "dns", "dsq", "not_classified"];
  const rows = el("div", { class: "result-rows" }, cars.map((n, i) => el("fieldset", { class: "result-row", "data-number": n },
    el("legend", {}, t("meeting.car_n", { number: n })),
    el("div", { class: "fields" },
      fieldNode({ name: "place", label: t("col.pos"), type: "number", value: i + 1, attrs: { min: "1", step: "1" } }),
      fieldNode({ name: "laps", label: t("col.laps"), type: "number", value: p.laps || 0, attrs: { min: "0", step: "1" } }),
      fieldNode({ name: "status", label: t("common.state"), type: "select", value: "classified",
        options: statuses.map((x) => [x, x === "classified" ? t("meeting.classified") : label("status_long.", x)]) }),
      fieldNode({ name: "time", label: t("meeting.total_time"), attrs: { inputmode: "decimal", placeholder: "5:12.345" } })))));
  const done = await formDialog({
    title: t("meeting.type_result_title", { key: stageName(p) }),
    body: [el("p", { class: "muted" }, t("meeting.type_result_help")), rows],
    submit: async () => {
      const body = { rows: [...rows.querySelectorAll(".result-row")].map((r) => {
        const v = (name) => r.querySelector(`[name=${name}]`).value.trim();
        const time = v("time");
        const s = time ? parseRace(time) : null;
        if (time && s === null) throw new Error(t("tc.bad_race_time"));
        return { number: r.dataset.number, place: Number(v("place")), laps: Number(v("laps")), status: v("status"),
          ...(s !== null ? { total_time_s: s } : {}) };
      }) };
      return api(`${base()}/sessions/${encodeURIComponent(p.key)}/result`, { method: "POST", body });
    },
  });
  if (done) {
    toast(t("meeting.result_recorded", { key: stageName(p) }));
    await poll(true);
  }
}

function gridText(p) {
  const order = p.grid || [];
  return order.map((n, i) => `${i + 1}.${n ?? "–"}`).join(" ");
}

function renderStages() {
  $("m-stages-card").hidden = board.stages.length === 0;
  $("m-stages").replaceChildren(...board.stages.map((s) => {
    const box = el("div", { class: `stage${s.stage === board.stage ? " current" : ""}`, "data-stage": s.stage });
    const head = el("h3", {}, label("stage.", s.stage));
    const plans = s.sessions;
    const started = plans.length && plans.every((p) => p.session_id);
    const done = plans.length && plans.every((p) => p.recorded);
    head.append(el("span", { class: `tag${done ? " done" : s.stage === board.stage ? " now" : ""}` },
      s.waiting ? t("meeting.waiting") : done ? t("meeting.done") : started ? t("meeting.running") : s.stage === board.stage ? t("meeting.next") : t("meeting.planned")));
    if (!s.waiting && !started && !done && plans.length && board.entries > 0 && can("timing")) {
      head.append(el("button", { type: "button", class: "primary", "data-act": "start", "data-stage": s.stage,
        onclick: () => act(`stages/${encodeURIComponent(s.stage)}/start`, {}, t("meeting.stage_started", { stage: label("stage.", s.stage) })) },
      t("meeting.start_stage")));
    }
    box.append(head);
    for (const p of plans) box.append(planRow(p, s));
    return box;
  }));
}

function renderSessions() {
  const list = board.extra_sessions || [];
  const staff = can("timing");
  $("m-sessions-card").hidden = !list.length && !staff;
  $("m-no-sessions").hidden = list.length > 0;
  $("m-add-session").hidden = !staff;
  $("m-sessions").replaceChildren(...list.map((s) => {
    const links = [el("a", { href: pageLink("./", s.session_id) }, t("page.live")),
      el("a", { href: pageLink("print.html", s.session_id), target: "_blank" }, t("meeting.print"))];
    if (can("race_director", "stewards")) links.push(el("a", { href: pageLink("race-control.html", s.session_id) }, t("page.race_control")));
    if (staff) links.push(el("a", { href: pageLink("timing.html", s.session_id) }, t("page.timing")));
    const btns = staff ? [el("button", { type: "button", "data-act": "edit-session", onclick: () => editSession(s) }, t("sf.edit"))] : [];
    return el("div", { class: "session-line", "data-key": s.key },
      el("b", {}, s.name), el("span", { class: "tag" }, label("kind.", s.kind)), el("span", { class: "muted" }, s.preset),
      el("span", { class: `tag${s.state === "live" ? " now" : s.state === "finished" ? " done" : ""}` }, t(`picker.${s.state}`)),
      el("span", { class: "links" }, ...links), ...btns);
  }));
}

async function editSession(s) {
  const path = `${base()}/sessions/${encodeURIComponent(s.key)}`;
  const done = await sessionDialog(s, (body) => api(path, { method: "PATCH", body }), {
    remove: async () => {
      await api(path, { method: "DELETE" });
      toast(t("sf.deleted", { name: s.name }));
    },
  });
  if (done) await poll(true);
}

function renderDocs() {
  const docs = board.documents || [];
  $("m-docs-card").hidden = docs.length === 0;
  const signer = can("timing", "race_director", "stewards");
  const rows = docs.map((d) => el("tr", { "data-doc": d.document },
    el("td", { "data-label": t("meeting.doc") }, label("doc.", d.document)),
    el("td", { "data-label": t("common.state") }, d.ready ? el("span", { class: `tag${d.status === "final" ? " done" : ""}` }, label("docstatus.", d.status)) : t("meeting.not_yet")),
    el("td", { "data-label": t("meeting.when") }, d.posted_at ? t("meeting.posted", { at: d.posted_at }) : "", d.final_at ? ` · ${t("meeting.final_at", { at: d.final_at })}` : ""),
    el("td", {}, d.ready ? el("a", { href: doc(`results/${d.document}.html`), target: "_blank" }, t("meeting.print")) : ""),
    el("td", { class: "actions" }, d.ready && signer ? el("button", { type: "button", "data-act": "sign-doc",
      onclick: () => act("signoff", { document: d.document }, t("meeting.signed", { doc: label("doc.", d.document) })) }, t("meeting.sign")) : "")));
  const heads = ["meeting.doc", "common.state", "meeting.when", "meeting.print", ...(signer ? ["meeting.sign"] : [])];
  $("m-docs").replaceChildren(el("thead", {}, el("tr", {}, ...heads.map((k) => el("th", {}, t(k))))), el("tbody", {}, rows));
}

function decision(formId, path, field, okKey) {
  $(formId).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = String(new FormData(ev.target).get(field)).trim();
    const shown = field === "number" ? v : label("stage.", v);
    act(path, { [field]: v }, t(okKey, { v: shown }));
  });
}

async function main() {
  const who = await whoami(mid ? `?meeting=${encodeURIComponent(mid)}` : "").catch(() => ({ role: "spectator" }));
  mid = await chooseMeeting(who.role === "admin");
  role = who.role === "admin" ? "admin" : mid && who.meeting === mid ? who.meeting_role : null;
  $("who").replaceChildren(whoBadge(who, mid ? "meeting.html" : null));
  for (const a of document.querySelectorAll(".staff-only")) a.hidden = role === null;
  mountPicker($("picker"), params.get("session"));
  window.boucle = { meeting: () => board, poll };
  $("m-new").addEventListener("click", async () => {
    const m = await meetingDialog(null);
    if (m) location.assign(`meeting.html?meeting=${encodeURIComponent(m.id)}`);
  });
  if (!mid) {
    document.body.dataset.ready = "1";
    return;
  }
  $("m-summary-card").hidden = false;
  $("m-live").href = `./?meeting=${encodeURIComponent(mid)}`;
  entries = mountEntries($("m-entries-card"), {
    list: () => api(`${base()}/entries`),
    save: (number, fields) => api(`${base()}/entries/${encodeURIComponent(number)}`, { method: "PUT", body: fields }),
    remove: (number) => api(`${base()}/entries/${encodeURIComponent(number)}`, { method: "DELETE" }),
    importFile: async (file) => {
      const res = await api(`${base()}/entries`, { method: "POST", body: file, contentType: "text/csv" });
      toast(t("tc.imported", { n: res.entries }));
    },
    note: () => t(board && board.preset === "free" ? "meeting.entries_note_free" : "meeting.entries_note"),
    error: (e) => toast(e.detail || e.message, true),
  });
  decision("d-admit", "admit", "number", "meeting.admitted");
  decision("d-unable", "unable", "number", "meeting.replaced");
  decision("d-cancel", "cancel", "heat", "meeting.heat_cancelled");
  decision("d-stop", "stop", "after", "meeting.stopped");
  $("d-advice").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = new FormData(ev.target);
    try {
      const d = await api(`${base()}/red_flag?kind=${encodeURIComponent(f.get("kind"))}&leader_laps=${Number(f.get("leader_laps"))}`);
      $("d-advice-out").textContent = t("meeting.red_decision", { action: label("redaction.", d.action), laps: d.laps_to_run ?? "–" });
    } catch (e) {
      toast(e.detail || e.message, true);
    }
  });
  $("m-edit").addEventListener("click", async () => {
    if (await meetingDialog(board, { locked: board.started })) await poll(true);
  });
  $("m-delete").addEventListener("click", async () => {
    if (!confirm(t("mf.confirm_delete", { name: board.name || board.id }))) return;
    try {
      await api(base(), { method: "DELETE" });
      location.assign("meeting.html");
    } catch (e) {
      toast(e.detail || e.message, true);
    }
  });
  $("m-add-session").addEventListener("click", async () => {
    const s = await sessionDialog(null, (body) => api(`${base()}/sessions`, { method: "POST", body }));
    if (s) {
      toast(t("sf.created", { name: s.name }));
      await poll(true);
    }
  });
  const first = await poll(true);
  if (!first && !board) throw new ApiError(404, t("meeting.not_found"));
  setInterval(poll, POLL_MS);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) poll(); });
  document.body.dataset.ready = "1";
}

main().catch((e) => {
  console.error(e);
  toast(t("meeting.cannot_load", { error: e.detail || e.message }), true);
});
