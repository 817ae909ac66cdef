// Season standings: pick a championship, one table per category (or scratch), per-event points,
// bursary for LM-POINTS. Reads /api/championships and refreshes every 15 s, so a penalty decided
// after a race shows up without reloading. The admin also creates, edits and deletes seasons here:
// which sessions (or auto-cross meetings) count as each event's documents.
import { api, whoBadge, whoami } from "./auth.js";
import { fieldNode, formDialog } from "./dialog.js";
import { label, lang, t } from "./i18n.js";
import { el, params } from "./util.js";
import "./header.js"; // the hot-standby badge (which machine this is)

const $ = (id) => document.getElementById(id);
const state = { id: params.get("id"), data: null, cat: params.get("cat"), list: [] };

async function get(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

const pts = (p) => (Number.isInteger(p) ? String(p) : String(p).replace(".", lang === "fr" ? "," : "."));

function cell(e) {
  if (!e) return el("td", { class: "n ev absent" }, "–");
  let txt = (e.status === "dsq" || e.status === "dns") && !e.points ? label("state.", e.status) : pts(e.points);
  const marks = [e.pole && "P", e.fastest_lap && "F", e.sprint && "S", e.half_points && "½"].filter(Boolean).join("");
  if (marks) txt += ` ${marks}`;
  return el("td", { class: "n ev", title: e.place ? t("st.place", { n: e.place }) : label("status_long.", e.status) }, txt);
}

function render() {
  const d = state.data;
  $("empty").hidden = !!d;
  $("standings").closest(".table-wrap").hidden = !d;
  document.querySelector(".legend").hidden = !d;
  $("season-edit").hidden = $("season-delete").hidden = !d;
  if (!d) {
    $("standings").replaceChildren();
    $("cats").replaceChildren();
    $("meta").textContent = "";
    return;
  }
  const cats = Object.keys(d.categories);
  if (!cats.includes(state.cat)) state.cat = cats[0];
  $("title").textContent = `${t("st.title")} · ${d.name}`;
  const last = d.events.length ? ` · ${t("st.after", { event: d.events[d.events.length - 1] })}` : "";
  $("meta").textContent = `${d.championship} (${d.rule})${last} · ${t("st.updated", { time: new Date().toLocaleTimeString(lang === "fr" ? "fr-FR" : "en-GB") })}`;
  $("cats").replaceChildren(...cats.map((c) => el("button", { type: "button", "aria-pressed": String(c === state.cat),
    onclick: () => { state.cat = c; render(); } }, c)));
  const lm = d.rule === "LM-POINTS";
  const head = [el("th", { class: "n" }, t("col.pos")), el("th", {}, t("col.no")), el("th", {}, t("st.team")), el("th", { class: "n" }, t("st.points")),
    ...d.events.map((n) => el("th", { class: "n ev" }, n)), el("th", { class: "n" }, t("st.events")),
    ...(lm ? [el("th", { class: "opt" }, t("st.eligible")), el("th", { class: "n" }, t("st.bursary"))] : [])];
  const rows = (d.categories[state.cat] || []).map((r) => el("tr", { dataset: { key: r.team }, class: r.bursary_eur ? "bursary" : "" },
    el("td", { class: "n" }, r.position), el("td", {}, r.number), el("td", {}, r.team), el("td", { class: "n" }, pts(r.points)),
    ...r.per_event.map(cell), el("td", { class: "n" }, r.events),
    ...(lm ? [el("td", { class: "opt" }, r.eligible ? t("common.yes") : t("st.no")), el("td", { class: "n" }, r.bursary_eur ? t("st.euros", { n: r.bursary_eur.toFixed(2).replace(".", lang === "fr" ? "," : ".") }) : "")] : [])));
  $("standings").replaceChildren(el("thead", {}, el("tr", {}, head)), el("tbody", {}, rows));
  $("sheet").href = `api/championships/${d.id}/standings.html?lang=${lang}`;
  $("csv").href = `api/championships/${d.id}/standings.csv?lang=${lang}`;
}

async function load() {
  try {
    const list = await get("api/championships");
    state.list = list;
    if (!state.id || !list.some((c) => c.id === state.id)) state.id = list.length ? list[0].id : null;
    $("season").replaceChildren(...list.map((c) => el("option", { value: c.id, selected: c.id === state.id }, c.name)));
    state.data = state.id ? await get(`api/championships/${state.id}/standings`) : null;
    render();
  } catch (e) {
    $("meta").textContent = t("st.cannot_load", { error: e.message });
  }
}

// -- the admin's season form ------------------------------------------------------------------------
/** The documents an event may name: live sessions (race, qualifying...) or auto-cross meetings (points). */
async function documents() {
  const [sessions, meetings] = await Promise.all([get("api/sessions").catch(() => []), get("api/meetings").catch(() => [])]);
  const rank = { finished: 0, live: 1, upcoming: 2 };
  const ses = sessions.filter((s) => !s.error).sort((a, b) => (rank[a.state] ?? 3) - (rank[b.state] ?? 3) || String(b.id).localeCompare(String(a.id)));
  return {
    sessions: ses.map((s) => [s.id, `${s.name || s.id} · ${label("kind.", s.kind)} · ${t(`picker.${s.state}`)}${s.meeting ? ` · ${s.meeting.name}` : ""}`]),
    meetings: meetings.filter((m) => m.preset === "autocross").map((m) => [m.id, `${m.name || m.id}${m.date ? ` · ${m.date}` : ""}${m.division ? ` · ${m.division}` : ""}`]),
  };
}

async function seasonDialog(existing) {
  const [presets, docs] = await Promise.all([get("api/championships/presets"), documents()]);
  const season = existing ? existing.season : { championship: presets[0] && presets[0].name, events: [] };
  const rolesOf = (name) => {
    const p = presets.find((x) => x.name === name) || { required: [], optional: [] };
    return [...p.required.map((r) => [r, true]), ...p.optional.map((r) => [r, false])];
  };
  const inline = new Map(); // documents given inline (results objects), kept as they are
  const list = el("div", { class: "events-list" });
  const eventRow = (ev = {}) => {
    const roleFields = rolesOf(champ()).map(([role, required]) => {
      const opts = role === "points" ? docs.meetings : docs.sessions;
      const v = ev[role];
      const options = [["", required ? t("st.choose") : t("st.none")], ...opts];
      let value = typeof v === "string" ? v : "";
      if (v && typeof v === "object") {
        value = `inline:${inline.size}`;
        inline.set(value, v);
        options.push([value, t("st.inline_doc")]);
      } else if (value && !opts.some(([id]) => id === value)) options.push([value, value]);
      return fieldNode({ name: `doc_${role}`, label: label("st.role_", role), type: "select", value, options, required });
    });
    const row = el("fieldset", { class: "event-row" },
      el("legend", {}, t("st.event")),
      el("div", { class: "fields" },
        fieldNode({ name: "ev_name", label: t("common.name"), value: ev.name || "", required: true }),
        fieldNode({ name: "ev_date", label: t("mf.date"), type: "date", value: ev.date || "" }),
        ...roleFields),
      el("button", { type: "button", class: "linkish", "data-act": "drop-event", onclick: () => row.remove() }, t("st.drop_event")));
    row.extra = Object.fromEntries(Object.entries(ev).filter(([k]) => !["name", "date"].includes(k) && !rolesOf(champ()).some(([r]) => r === k)));
    list.append(row);
  };
  let champSelect = null;
  const champ = () => (champSelect ? champSelect.value : season.championship);
  const readEvents = () => [...list.querySelectorAll(".event-row")].map((row) => {
    const ev = { ...row.extra, name: row.querySelector("[name=ev_name]").value.trim() };
    const date = row.querySelector("[name=ev_date]").value;
    if (date) ev.date = date;
    for (const sel of row.querySelectorAll("select[name^=doc_]")) {
      if (sel.value) ev[sel.name.slice(4)] = inline.has(sel.value) ? inline.get(sel.value) : sel.value;
    }
    return ev;
  });
  const add = el("button", { type: "button", "data-act": "add-event", onclick: () => eventRow() }, t("st.add_event"));
  return formDialog({
    title: existing ? t("st.edit_title", { name: existing.name }) : t("st.new_title"),
    fields: [
      { name: "name", label: t("common.name"), value: season.name || "", required: true },
      { name: "championship", label: t("st.championship"), type: "select", value: season.championship,
        options: presets.map((p) => [p.name, `${p.name} · ${p.rule}`]) },
    ],
    body: [el("h3", {}, t("st.events_title")), list, add],
    submitLabel: existing ? t("common.save") : t("st.create"),
    danger: existing ? { label: t("st.delete"), confirm: t("st.confirm_delete", { name: existing.name }),
      run: () => api(`api/championships/${encodeURIComponent(existing.id)}`, { method: "DELETE" }) } : null,
    onOpen: (form) => {
      champSelect = form.elements.championship;
      for (const ev of season.events || []) eventRow(ev);
      if (!(season.events || []).length) eventRow();
      champSelect.addEventListener("change", () => {
        const kept = readEvents();
        list.replaceChildren();
        for (const ev of kept) eventRow(ev);
      });
    },
    submit: (v) => {
      const body = { championship: v.championship, name: v.name, events: readEvents() };
      return existing ? api(`api/championships/${encodeURIComponent(existing.id)}`, { method: "PUT", body })
        : api("api/championships", { method: "POST", body });
    },
  });
}

async function main() {
  const who = await whoami().catch(() => ({ role: "spectator" }));
  $("who").replaceChildren(whoBadge(who, "standings.html"));
  if (who.role === "admin") {
    $("season-admin").hidden = false;
    $("season-new").addEventListener("click", async () => {
      const s = await seasonDialog(null);
      if (s && s.id) {
        state.id = s.id;
        await load();
      }
    });
    $("season-edit").addEventListener("click", async () => {
      const done = await seasonDialog({ ...(await get(`api/championships/${state.id}`)) });
      if (done) await load();
    });
    $("season-delete").addEventListener("click", async () => {
      const name = (state.list.find((c) => c.id === state.id) || {}).name || state.id;
      if (!confirm(t("st.confirm_delete", { name }))) return;
      try {
        await api(`api/championships/${encodeURIComponent(state.id)}`, { method: "DELETE" });
        state.id = null;
        await load();
      } catch (e) {
        $("meta").textContent = e.detail || e.message;
      }
    });
  }
  $("season").addEventListener("change", (ev) => { state.id = ev.target.value; state.cat = null; load(); });
  window.boucleStandings = { reload: load, state };
  await load();
  document.body.dataset.ready = "1";
  setInterval(load, 15000);
}

main();
