// Printable classification: the results JSON of the session, laid out for paper, in the page language.
import { fmtDateTime, label, lang, serverText, stageLabel, t } from "./i18n.js";
import { mountPicker } from "./picker.js";
import { el, fmtLap, fmtT, pickSession } from "./util.js";

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

const gapText = (g) => {
  const m = /^\+(\d+) laps?$/.exec(g || "");
  return m ? t("gap.laps", { n: Number(m[1]) }) : g || "";
};

async function main() {
  $("print").addEventListener("click", () => window.print());
  const sid = await pickSession();
  mountPicker($("picker"), sid);
  const [head, res] = await Promise.all([get(`api/sessions/${sid}`), get(`api/sessions/${sid}/results`)]);
  // A meeting's session: its AX-PUBLISH status (provisional / official, when posted) and the meeting.
  const pub = head.publication;
  const what = pub ? (pub.status === "final" ? t("print.official") : pub.status === "provisional" ? t("print.provisional")
    : `${t("print.classification")} (${label("docstatus.", pub.status)})`)
    : res.session.finished ? t("print.official") : t("print.provisional");
  const name = pub ? [pub.meeting.name, pub.meeting.division, stageLabel(pub.meeting.key)].filter(Boolean).join(" ") : head.name;
  $("title").textContent = `${name} · ${what}`;
  const meeting = pub ? [pub.meeting.date ? new Date(`${pub.meeting.date}T12:00:00`).toLocaleDateString(lang === "fr" ? "fr-FR" : "en-GB") : "",
    pub.meeting.place, pub.meeting.organiser].filter(Boolean) : [];
  const posted = pub && pub.posted_at ? [t("print.posted", { at: fmtDateTime(pub.posted_at) })] : [];
  $("meta").textContent = [...meeting, t("print.meta", { preset: head.preset, kind: label("kind.", head.kind), at: fmtDateTime(Date.now()) }), ...posted].join(" · ");
  for (const [role, s] of Object.entries((pub && pub.signatures) || {})) {
    const box = document.querySelector(`.sign [data-role="${role}"]`);
    if (box) box.append(el("br"), `${s.by || ""} · ${fmtDateTime(s.at)}`);
  }
  const cols = [["col.pos", (r) => r.position], ["col.no", (r) => r.number], ["common.name", (r) => r.name],
    ["col.cat", (r) => `${r.category || ""} ${r.category_position ? `(${r.category_position})` : ""}`],
    ["col.laps", (r) => r.laps], ["print.time", (r) => fmtTotal(r.total_time_s)], ["col.gap", (r) => gapText(r.gap)],
    ["col.best", (r) => fmtLap(r.best_lap_s)],
    ["print.hand_timed", (r) => Object.entries(r.lap_flags || {}).map(([n, f]) => `${n} ${label("lapflag.", f)}`).join(", ")],
    ["col.pit", (r) => r.pit_stops],
    ["print.status", (r) => (r.status === "classified" ? "" : label("status_long.", r.status))],
    ["col.pen", (r) => [r.penalty_laps ? t("pen.laps", { n: r.penalty_laps }) : "", r.penalty_seconds ? t("pen.seconds", { n: r.penalty_seconds }) : ""].filter(Boolean).join(", ")]];
  $("results").replaceChildren(el("thead", {}, el("tr", {}, cols.map(([h]) => el("th", {}, t(h))))),
    el("tbody", {}, res.classification.map((r) => el("tr", {}, cols.map(([, f]) => el("td", {}, f(r) ?? ""))))));
  const pens = res.penalties || [];
  // Who decided and when (approve / waive), with the note: part of the signed sheet.
  const decision = (p) => (p.decision
    ? t("print.decided", { action: label("decision.", p.decision.action), by: label("role.", p.decision.by || "?"), t: fmtT(p.decision.t) })
      + (p.decision.note ? ` · ${p.decision.note}` : "")
    : p.note || "");
  const heads = ["ID", t("common.car"), t("rc.rule"), t("col.laps"), t("print.seconds"), t("common.state"), t("rc.evidence"), t("print.decision")];
  $("penalties").replaceChildren(el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))),
    el("tbody", {}, pens.length ? pens.map((p) => el("tr", {}, [p.id, `#${p.number}`, p.rule, p.laps || "", p.seconds || "",
      label("penstate.", p.state), serverText(p.evidence, p.evidence_said), decision(p)].map((v) => el("td", {}, v))))
      : el("tr", {}, el("td", { colspan: "8" }, t("pen.none_print")))));
  document.title = `${head.name} · ${what}`;
}
main().catch((e) => { $("meta").textContent = t("print.cannot_load", { error: e.message }); });
