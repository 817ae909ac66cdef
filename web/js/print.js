// Printable classification: the results JSON of the session, laid out for paper.
import { el, fmtLap, pickSession } from "./util.js";

const $ = (id) => document.getElementById(id);
const get = async (path) => {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: ${r.status}`);
  return r.json();
};

function fmtTotal(s) {
  if (s == null) return "";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = (s % 60).toFixed(3).padStart(6, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

async function main() {
  $("print").addEventListener("click", () => window.print());
  const sid = await pickSession();
  const [head, res] = await Promise.all([get(`api/sessions/${sid}`), get(`api/sessions/${sid}/results`)]);
  $("title").textContent = `${head.name} · ${res.session.finished ? "classification" : "provisional classification"}`;
  $("meta").textContent = `${head.preset} · ${head.kind} · printed ${new Date().toLocaleString()}`;
  const cols = [["Pos", (r) => r.position], ["No", (r) => r.number], ["Name", (r) => r.name], ["Cat", (r) => `${r.category || ""} ${r.category_position ? `(${r.category_position})` : ""}`],
    ["Laps", (r) => r.laps], ["Time", (r) => fmtTotal(r.total_time_s)], ["Gap", (r) => r.gap], ["Best", (r) => fmtLap(r.best_lap_s)],
    ["Hand-timed laps", (r) => Object.entries(r.lap_flags || {}).map(([n, f]) => `${n} ${f}`).join(", ")],
    ["Pit", (r) => r.pit_stops], ["Status", (r) => (r.status === "classified" ? "" : r.status)],
    ["Penalties", (r) => [r.penalty_laps ? `-${r.penalty_laps} laps` : "", r.penalty_seconds ? `+${r.penalty_seconds} s` : ""].filter(Boolean).join(", ")]];
  $("results").replaceChildren(el("thead", {}, el("tr", {}, cols.map(([h]) => el("th", {}, h)))),
    el("tbody", {}, res.classification.map((r) => el("tr", {}, cols.map(([, f]) => el("td", {}, f(r) ?? ""))))));
  const pens = res.penalties || [];
  // Who decided and when (approve / waive), with the note: part of the signed sheet.
  const decision = (p) => (p.decision ? `${p.decision.action} by ${p.decision.by || "?"} at ${p.decision.t} s${p.decision.note ? ` · ${p.decision.note}` : ""}` : p.note || "");
  $("penalties").replaceChildren(el("thead", {}, el("tr", {}, ["ID", "Car", "Rule", "Laps", "Seconds", "State", "Evidence", "Decision"].map((h) => el("th", {}, h)))),
    el("tbody", {}, pens.length ? pens.map((p) => el("tr", {}, [p.id, `#${p.number}`, p.rule, p.laps || "", p.seconds || "", p.state, p.evidence, decision(p)].map((v) => el("td", {}, v))))
      : el("tr", {}, el("td", { colspan: "8" }, "No penalty."))));
  document.title = `${head.name} · classification`;
}
main().catch((e) => { $("meta").textContent = `Cannot load: ${e.message}`; });
