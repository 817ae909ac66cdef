// Admin page: every session grouped by meeting, with the staff tokens and QR codes of their
// links (the token rides in the link's #fragment, see web/js/auth.js).
import { api, requireRole, whoBadge } from "./auth.js";
import { formDialog } from "./dialog.js";
import { label, sessionName, t } from "./i18n.js";
import { meetingDialog, sessionDialog } from "./meeting-form.js";
import { groupSessions } from "./picker.js";
import { mountStandbyPanel } from "./standby-panel.js";
import { toast } from "./staff.js";
import { el, listSessions, pageLink } from "./util.js";

const $ = (id) => document.getElementById(id);

/** An <img> of an admin-only QR code (fetched with the token, shown from a blob URL). */
function qr(path, alt) {
  const img = el("img", { class: "qr", alt, width: "144", height: "144" });
  api(path, { raw: true }).then(async (res) => { img.src = URL.createObjectURL(await res.blob()); })
    .catch(() => { img.alt = `${alt} (${t("admin.qr_failed")})`; });
  return img;
}

function staffLink(page, params, token) {
  const u = new URL(page, location.href);
  for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
  u.hash = `token=${encodeURIComponent(token)}`;
  return u.href;
}

function linkCard(title, href, qrPath, token) {
  return el("figure", { class: "card" },
    qr(qrPath, title),
    el("figcaption", {}, el("b", {}, title), el("br"), el("a", { href }, t("admin.open")), " · ",
      el("span", { class: "token" }, token)));
}

async function sessionBlock(s) {
  const tokens = await api(`api/sessions/${encodeURIComponent(s.id)}/tokens`);
  const sid = encodeURIComponent(s.id);
  return el("section", { class: "card wide", "data-session": s.id },
    el("h2", {}, sessionName(s), el("span", { class: "count" }, `${label("kind.", s.kind)} · ${t(`picker.${s.state}`)} · ${s.id}`),
      s.meeting ? "" : el("button", { type: "button", class: "linkish", "data-act": "edit-session", onclick: () => editSession(s) }, t("sf.edit"))),
    el("div", { class: "links" },
      el("figure", { class: "card" }, qr(`api/sessions/${sid}/qr/spectator.svg`, t("page.live")),
        el("figcaption", {}, el("b", {}, t("page.live")), el("br"), el("a", { href: pageLink("./", s.id) }, t("admin.open")))),
      linkCard(t("page.race_control"), staffLink("race-control.html", { session: s.id }, tokens.race_control),
        `api/sessions/${sid}/qr/race_control.svg`, tokens.race_control),
      linkCard(t("page.timing"), staffLink("timing.html", { session: s.id }, tokens.timing),
        `api/sessions/${sid}/qr/timing.svg`, tokens.timing)));
}

async function meetingBlock(id, name) {
  const tokens = await api(`api/meetings/${encodeURIComponent(id)}/tokens`);
  const m = encodeURIComponent(id);
  return el("section", { class: "card wide", "data-meeting": id },
    el("h2", {}, t("admin.meeting", { name }), el("a", { href: `meeting.html?meeting=${m}` }, t("page.meeting"))),
    el("div", { class: "links" }, ...["timing", "race_director", "stewards"].map((r) =>
      linkCard(t(`meeting.${r}`), staffLink("meeting.html", { meeting: id }, tokens[r]), `api/meetings/${m}/qr/${r}.svg`, tokens[r]))));
}

/** A session outside a meeting: renamed, reconfigured before it runs, deleted if it never ran. */
async function editSession(s) {
  const path = `api/sessions/${encodeURIComponent(s.id)}`;
  const head = await api(path);
  const line = { name: s.name, preset: s.preset, kind: s.kind, has_run: s.state !== "upcoming",
    duration_s: head.clock.duration_s, laps: head.clock.laps_target };
  const done = await sessionDialog(line, (body) => api(path, { method: "PATCH", body }), {
    remove: async () => {
      await api(path, { method: "DELETE" });
      toast(t("sf.deleted", { name: s.name }));
    },
  });
  if (done) location.reload();
}

// -- the regional calendar: imported, browsed by region, a timed event becomes the club's meeting --
async function calendar() {
  $("calendar-card").hidden = false;
  const show = async () => {
    let events = [];
    try {
      events = await api(`api/meetings/calendar?timed=true${$("cal-region").value ? `&region=${encodeURIComponent($("cal-region").value)}` : ""}`);
    } catch (e) {
      toast(e.detail || e.message, true);
    }
    $("cal-count").textContent = events.length ? String(events.length) : "";
    $("cal-events").hidden = events.length === 0;
    const head = ["cal.date", "mf.place", "mf.organiser", "cal.disciplines", ""].map((k) => el("th", {}, k ? t(k) : ""));
    $("cal-events").replaceChildren(el("thead", {}, el("tr", {}, head)), el("tbody", {}, events.map((ev) => el("tr", { "data-key": String(ev.index) },
      el("td", { "data-label": t("cal.date") }, ev.start === ev.end ? ev.start : `${ev.start} – ${ev.end}`),
      el("td", { "data-label": t("mf.place") }, `${ev.venue}${ev.department ? ` (${ev.department})` : ""}`),
      el("td", { "data-label": t("mf.organiser") }, ev.club),
      el("td", { "data-label": t("cal.disciplines") }, ev.disciplines.join(", ")),
      el("td", { class: "actions" }, el("button", { type: "button", "data-act": "from-calendar", onclick: () => fromCalendar(ev) }, t("cal.create")))))));
  };
  const regions = async () => {
    const all = await api("api/meetings/calendar?timed=true").catch(() => []);
    const names = [...new Set(all.map((e) => e.region))].sort();
    const cur = $("cal-region").value;
    $("cal-region").replaceChildren(el("option", { value: "" }, t("cal.all_regions")), ...names.map((r) => el("option", { value: r }, r)));
    $("cal-region").value = names.includes(cur) ? cur : "";
  };
  $("cal-region").addEventListener("change", show);
  $("cal-import").addEventListener("click", async () => {
    const file = $("cal-file").files[0];
    if (!file) return toast(t("cal.choose_file"), true);
    try {
      const r = await api("api/meetings/calendar", { method: "POST", body: await file.text(), contentType: "text/plain" });
      $("cal-status").textContent = t("cal.imported", { n: r.events, timed: r.timed });
      await regions();
      await show();
    } catch (e) {
      toast(e.detail || e.message, true);
    }
  });
  await regions();
  await show();
}

async function fromCalendar(ev) {
  const formats = await api("api/meetings/formats").catch(() => []);
  const divisions = (formats.find((f) => f.preset === "autocross") || {}).divisions || [];
  const m = await formDialog({
    title: t("cal.create_title", { venue: ev.venue, date: ev.start }),
    fields: [{ name: "division", label: t("mf.division"), list: divisions }],
    submitLabel: t("mf.create"),
    submit: (v) => api(`api/meetings/calendar/${ev.index}`, { method: "POST", body: { division: v.division } }),
  });
  if (m && m.id) location.assign(`meeting.html?meeting=${encodeURIComponent(m.id)}`);
}

async function main() {
  const who = await requireRole(["admin"], $("main"));
  $("who").replaceChildren(whoBadge(who || { role: "spectator" }, "admin.html"));
  if (!who) return;
  $("setup-card").hidden = false;
  calendar();
  $("new-meeting").addEventListener("click", async () => {
    const m = await meetingDialog(null);
    if (m) location.assign(`meeting.html?meeting=${encodeURIComponent(m.id)}`);
  });
  $("new-session").addEventListener("click", async () => {
    const s = await sessionDialog(null, (body) => api("api/sessions", { method: "POST", body }));
    if (s) location.assign(`timing.html?session=${encodeURIComponent(s.id)}`);
  });
  mountStandbyPanel($("main"));
  const groups = groupSessions(await listSessions());
  const out = [];
  for (const [id, g] of groups) {
    out.push(el("h2", { class: "group" }, g.name));
    if (id) out.push(await meetingBlock(id, g.name));
    for (const s of g.sessions) out.push(await sessionBlock(s));
  }
  if (!groups.length) out.push(el("p", { class: "empty" }, t("admin.none")));
  $("groups").replaceChildren(...out);
  document.body.dataset.ready = "1";
}

main().catch((e) => toast(e.detail || e.message, true));
