// Meeting page for the race director and the timing crew: the stages in order with their plans
// (series, grids, laps), start and finish of each session, AX-RED decisions, sign-offs
// (AX-PUBLISH) and every printable document. Works with the admin token or the meeting's own
// timing / race-director / stewards token; the server checks each action's role.
import { api, whoBadge, whoami } from "./auth.js";
import { label, lang, stageLabel, t } from "./i18n.js";
import { mountPicker } from "./picker.js";
import { toast } from "./staff.js";
import { el, listSessions, pageLink, params } from "./util.js";

const $ = (id) => document.getElementById(id);
let mid = params.get("meeting");
let meeting = null;

const base = () => `api/meetings/${encodeURIComponent(mid)}`;
const doc = (path) => `${base()}/${path}?lang=${lang}`;

/** POST with a toast; refreshes the page's data after a success. */
async function act(path, body, okText) {
  try {
    const res = await api(`${base()}/${path}`, { method: "POST", body: body ?? {} });
    toast(okText);
    await refresh();
    return res;
  } catch (e) {
    toast(e.detail || e.message, true);
    return null;
  }
}

async function chooseMeeting() {
  if (mid) return mid;
  const sid = params.get("session");
  if (sid) {
    const s = (await listSessions()).find((x) => x.id === sid);
    if (s && s.meeting) return s.meeting.id;
  }
  const list = await api("api/meetings");
  if (list.length === 1) return list[0].id;
  $("m-list-card").hidden = false;
  $("m-none").hidden = list.length > 0;
  $("m-list").replaceChildren(...list.map((m) => el("li", {},
    el("a", { href: `meeting.html?meeting=${encodeURIComponent(m.id)}` }, m.name || m.division || m.id),
    ` · ${m.division || ""} · ${m.preset} · ${m.stage ? t("meeting.at_stage", { stage: label("stage.", m.stage) }) : t("meeting.over")}`)));
  return null;
}

function gridText(p) {
  const order = p.grid && p.grid.length ? p.grid : (p.series || []);
  return order.map((n, i) => `${i + 1}.${n ?? "–"}`).join(" ");
}

function planRow(p) {
  const bits = [el("b", { title: p.key }, stageLabel(p.key)), p.laps ? el("span", { class: "tag" }, t("meeting.laps", { n: p.laps })) : "",
    el("span", { class: "tag" }, t("meeting.cars", { n: (p.grid || []).filter(Boolean).length }))];
  if (p.recorded) bits.push(el("span", { class: "tag done" }, t("meeting.recorded")));
  else if (p.session_id) bits.push(el("span", { class: "tag now" }, t("meeting.started")));
  const links = [el("a", { href: doc(`startlist/${encodeURIComponent(p.key)}.html`), target: "_blank" }, t("meeting.startlist"))];
  if (p.session_id) {
    links.push(el("a", { href: pageLink("./", p.session_id) }, t("page.live")),
      el("a", { href: pageLink("race-control.html", p.session_id) }, t("page.race_control")),
      el("a", { href: pageLink("timing.html", p.session_id) }, t("page.timing")));
  }
  if (p.recorded) links.push(el("a", { href: doc(`results/${encodeURIComponent(p.key)}.html`), target: "_blank" }, t("meeting.results")));
  const btns = [];
  if (p.session_id && !p.recorded) {
    btns.push(el("button", { type: "button", class: "primary", "data-act": "finish", "data-key": p.key, onclick: () => {
      if (confirm(t("meeting.confirm_finish", { key: stageLabel(p.key) }))) act(`sessions/${encodeURIComponent(p.key)}/finish`, {}, t("meeting.finished", { key: stageLabel(p.key) }));
    } }, t("meeting.finish")));
    if (meeting.preset !== "ffsa-karting") {
      const causers = el("input", { size: "8", name: "causers", placeholder: t("meeting.causers"), "aria-label": t("meeting.causers") });
      btns.push(causers, el("button", { type: "button", class: "btn-flag-red", "data-act": "red", onclick: async () => {
        const res = await act(`sessions/${encodeURIComponent(p.key)}/red`,
          { causers: causers.value.split(/[ ,;]+/).filter(Boolean) }, t("meeting.red_done"));
        if (res) toast(t("meeting.red_decision", { action: label("redaction.", res.action), laps: res.laps_to_run ?? "–" }));
      } }, t("meeting.red")));
    }
  }
  if (p.recorded) {
    btns.push(el("button", { type: "button", "data-act": "sign", onclick: () => act("signoff", { document: p.key }, t("meeting.signed", { doc: stageLabel(p.key) })) }, t("meeting.sign")));
  }
  btns.push(el("button", { type: "button", class: "linkish", onclick: () => act("signoff", { document: `grid:${p.key}` }, t("meeting.signed", { doc: `grid:${p.key}` })) }, t("meeting.sign_grid")));
  return el("div", { class: "plan", "data-key": p.key }, ...bits, el("span", { class: "grid-mini" }, gridText(p)),
    el("span", { class: "links" }, ...links), el("span", { class: "btns" }, ...btns));
}

async function renderStages() {
  const out = [];
  for (const stage of meeting.stages || []) {
    const box = el("div", { class: `stage${stage === meeting.stage ? " current" : ""}`, "data-stage": stage });
    const head = el("h3", {}, label("stage.", stage));
    box.append(head);
    try {
      const plans = (await api(`${base()}/stages/${encodeURIComponent(stage)}`)).sessions;
      const started = plans.length && plans.every((p) => p.session_id);
      const done = plans.length && plans.every((p) => p.recorded);
      head.append(el("span", { class: `tag${done ? " done" : stage === meeting.stage ? " now" : ""}` },
        done ? t("meeting.done") : started ? t("meeting.running") : stage === meeting.stage ? t("meeting.next") : t("meeting.planned")));
      if (!started && !done) {
        head.append(el("button", { type: "button", class: "primary", "data-act": "start", "data-stage": stage,
          onclick: () => act(`stages/${encodeURIComponent(stage)}/start`, {}, t("meeting.stage_started", { stage: label("stage.", stage) })) },
        t("meeting.start_stage")));
      }
      for (const p of plans) box.append(planRow(p));
    } catch (e) {
      head.append(el("span", { class: "tag" }, t("meeting.waiting")));
      box.append(el("p", { class: "muted" }, e.detail || e.message));
    }
    out.push(box);
  }
  $("m-stages").replaceChildren(...out);
}

const DOCS = { autocross: ["practice", "heat1", "heat2", "heat3", "heats", "semis", "general", "points"],
  "ffsa-karting": ["qualifying", "heats", "finalists", "general"] };

async function renderDocs() {
  const rows = [];
  for (const d of DOCS[meeting.preset] || DOCS.autocross) {
    let st = null;
    try {
      st = await api(`${base()}/classifications/${d}`);
    } catch { /* not available yet */ }
    rows.push(el("tr", { "data-doc": d },
      el("td", {}, label("doc.", d)),
      el("td", {}, st ? el("span", { class: `tag${st.status === "final" ? " done" : ""}` }, label("docstatus.", st.status)) : t("meeting.not_yet")),
      el("td", {}, st && st.posted_at ? t("meeting.posted", { at: st.posted_at }) : "", st && st.final_at ? ` · ${t("meeting.final_at", { at: st.final_at })}` : ""),
      el("td", {}, st ? el("a", { href: doc(`results/${d}.html`), target: "_blank" }, t("meeting.print")) : ""),
      el("td", {}, st ? el("button", { type: "button", "data-act": "sign-doc", onclick: () => act("signoff", { document: d }, t("meeting.signed", { doc: label("doc.", d) })) }, t("meeting.sign")) : "")));
  }
  $("m-docs").replaceChildren(el("thead", {}, el("tr", {}, ...["meeting.doc", "common.state", "meeting.when", "meeting.print", "meeting.sign"].map((k) => el("th", {}, t(k))))),
    el("tbody", {}, ...rows));
}

async function refresh() {
  meeting = await api(base());
  const title = meeting.name || meeting.division || meeting.id;
  $("m-title").textContent = title;
  document.title = `${title} · ${t("page.meeting")}`;
  const parts = [meeting.division, meeting.preset, t("meeting.entries", { n: meeting.entries }),
    meeting.stage ? t("meeting.at_stage", { stage: label("stage.", meeting.stage) }) : t("meeting.over"),
    meeting.stopped_after ? t("meeting.stopped_after", { stage: label("stage.", meeting.stopped_after) }) : "",
    (meeting.cancelled || []).length ? t("meeting.cancelled", { list: meeting.cancelled.join(", ") }) : ""];
  $("m-summary").textContent = parts.filter(Boolean).join(" · ");
  $("m-links").replaceChildren(
    el("a", { href: `./?meeting=${encodeURIComponent(mid)}` }, t("meeting.spectator_link")),
    el("a", { href: `./?meeting=${encodeURIComponent(mid)}&tv=1` }, t("meeting.tv_link")));
  $("m-decisions-card").hidden = meeting.preset === "ffsa-karting";
  await renderStages();
  await renderDocs();
}

function decision(formId, path, field, okKey) {
  $(formId).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const v = new FormData(ev.target).get(field);
    act(path, { [field]: String(v).trim() }, t(okKey, { v }));
  });
}

async function main() {
  mid = await chooseMeeting();
  const who = await whoami(mid ? `?meeting=${encodeURIComponent(mid)}` : "").catch(() => ({ role: "spectator" }));
  $("who").replaceChildren(whoBadge(who, mid ? `meeting.html` : null));
  mountPicker($("picker"), params.get("session"));
  if (!mid) return;
  for (const id of ["m-summary-card", "m-stages-card", "m-docs-card"]) $(id).hidden = false;
  $("m-live").href = `./?meeting=${encodeURIComponent(mid)}`;
  decision("d-admit", "admit", "number", "meeting.admitted");
  decision("d-unable", "unable", "number", "meeting.replaced");
  decision("d-cancel", "cancel", "heat", "meeting.heat_cancelled");
  decision("d-stop", "stop", "after", "meeting.stopped");
  await refresh();
  window.boucle = { meeting: () => meeting, refresh };
  document.body.dataset.ready = "1";
}

main().catch((e) => {
  console.error(e);
  toast(t("meeting.cannot_load", { error: e.detail || e.message }), true);
});
