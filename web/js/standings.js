// Season standings for spectators: pick a championship, one table per category (or scratch),
// per-event points, bursary for LM-POINTS. Reads /api/championships; refreshes every 15 s so a
// penalty decided after a race shows up without reloading. Strings: the local fr/en table below.
import { el, params } from "./util.js";
import "./header.js"; // the hot-standby badge (which machine this is)

const T = {
  fr: { title: "Classement du championnat", season: "Saison", empty: "Aucun championnat pour l'instant.",
    legend: "P pole, F meilleur tour en course, S sprint test ; ½ course arrêtée à mi-distance ou moins.",
    sheet: "Feuille imprimable", live: "Chronométrage en direct", pos: "Pos", no: "N°", team: "Équipe / pilote",
    points: "Points", events: "Épreuves", eligible: "Minimum", bursary: "Bourse", yes: "oui", no_: "non",
    after: "après", updated: "mis à jour", error: "Impossible de charger" },
  en: { title: "Championship standings", season: "Season", empty: "No championship yet.",
    legend: "P pole, F fastest race lap, S sprint test; ½ race stopped at half distance or less.",
    sheet: "Printable sheet", live: "Live timing", pos: "Pos", no: "No", team: "Team / rider",
    points: "Points", events: "Events", eligible: "Minimum", bursary: "Bursary", yes: "yes", no_: "no",
    after: "after", updated: "updated", error: "Cannot load" },
};
let lang = params.get("lang") === "en" ? "en" : "fr";
const t = (k) => T[lang][k] ?? T.fr[k] ?? k;
const $ = (id) => document.getElementById(id);
const state = { id: params.get("id"), data: null, cat: params.get("cat") };

async function get(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
}

const pts = (p) => (Number.isInteger(p) ? String(p) : String(p).replace(".", lang === "fr" ? "," : "."));

function cell(e) {
  if (!e) return el("td", { class: "n absent" }, "–");
  let txt = (e.status === "dsq" || e.status === "dns") && !e.points ? e.status.toUpperCase() : pts(e.points);
  const marks = [e.pole && "P", e.fastest_lap && "F", e.sprint && "S", e.half_points && "½"].filter(Boolean).join("");
  if (marks) txt += ` ${marks}`;
  return el("td", { class: "n", title: e.place ? `${e.place}e` : e.status }, txt);
}

function render() {
  document.documentElement.lang = lang;
  document.querySelectorAll("[data-i18n]").forEach((n) => { n.textContent = t(n.dataset.i18n); });
  $("lang").textContent = lang === "fr" ? "EN" : "FR";
  const d = state.data;
  $("empty").hidden = !!d;
  if (!d) { $("standings").replaceChildren(); $("cats").replaceChildren(); return; }
  const cats = Object.keys(d.categories);
  if (!cats.includes(state.cat)) state.cat = cats[0];
  $("title").textContent = `${t("title")} · ${d.name}`;
  $("meta").textContent = `${d.championship} (${d.rule})${d.events.length ? ` · ${t("after")} ${d.events[d.events.length - 1]}` : ""} · ${t("updated")} ${new Date().toLocaleTimeString(lang)}`;
  $("cats").replaceChildren(...cats.map((c) => el("button", { type: "button", "aria-pressed": String(c === state.cat),
    onclick: () => { state.cat = c; render(); } }, c)));
  const lm = d.rule === "LM-POINTS";
  const head = [el("th", { class: "n" }, t("pos")), el("th", {}, t("no")), el("th", {}, t("team")), el("th", { class: "n" }, t("points")),
    ...d.events.map((n) => el("th", { class: "n" }, n)), el("th", { class: "n" }, t("events")),
    ...(lm ? [el("th", {}, t("eligible")), el("th", { class: "n" }, t("bursary"))] : [])];
  const rows = (d.categories[state.cat] || []).map((r) => el("tr", { dataset: { key: r.team }, class: r.bursary_eur ? "bursary" : "" },
    el("td", { class: "n" }, r.position), el("td", {}, r.number), el("td", {}, r.team), el("td", { class: "n" }, pts(r.points)),
    ...r.per_event.map(cell), el("td", { class: "n" }, r.events),
    ...(lm ? [el("td", {}, r.eligible ? t("yes") : t("no_")), el("td", { class: "n" }, r.bursary_eur ? `${r.bursary_eur.toFixed(2)} €` : "")] : [])));
  $("standings").replaceChildren(el("thead", {}, el("tr", {}, head)), el("tbody", {}, rows));
  $("sheet").href = `api/championships/${d.id}/standings.html?lang=${lang}`;
  $("csv").href = `api/championships/${d.id}/standings.csv`;
}

async function load() {
  try {
    const list = await get("api/championships");
    if (!state.id || !list.some((c) => c.id === state.id)) state.id = list.length ? list[0].id : null;
    $("season").replaceChildren(...list.map((c) => el("option", { value: c.id, selected: c.id === state.id }, c.name)));
    state.data = state.id ? await get(`api/championships/${state.id}/standings`) : null;
    render();
  } catch (e) {
    $("meta").textContent = `${t("error")}: ${e.message}`;
  }
}

$("season").addEventListener("change", (ev) => { state.id = ev.target.value; state.cat = null; load(); });
$("lang").addEventListener("click", () => { lang = lang === "fr" ? "en" : "fr"; render(); });
window.boucleStandings = { reload: load, state };
load();
setInterval(load, 15000);
