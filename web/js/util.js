// Small helpers shared by every page: formatting, DOM building, query parameters, session choice.
import { t } from "./i18n.js";

export const params = new URLSearchParams(location.search);

/** Lap or sector time: 51.204 -> "51.204", 62.3 -> "1:02.300"; null -> "". */
export function fmtLap(s) {
  if (s === null || s === undefined || !isFinite(s)) return "";
  if (s < 60) return s.toFixed(3);
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(3).padStart(6, "0")}`;
}

/** Race clock: seconds -> "h:mm:ss" (or "mm:ss" under an hour). */
export function fmtClock(s) {
  if (s === null || s === undefined || !isFinite(s)) return "--:--";
  const neg = s < 0;
  s = Math.max(0, Math.floor(Math.abs(s)));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(2, "0"), ss = String(sec).padStart(2, "0");
  return (neg ? "-" : "") + (h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`);
}

/** Session time for feeds and evidence: 1234.5 -> "20:34.500", 5408.4 -> "1:30:08.400". */
export function fmtT(t) {
  if (t === null || t === undefined) return "";
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
  const s = (t - h * 3600 - m * 60).toFixed(3).padStart(6, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** el("td", {class: "x", onclick: f}, "text", child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** The flag banner's words: none, green, yellow, sc, red, chequered, closed. */
export const flagLabel = (f) => t(`flag.${f}`);

/** Header text for the clock: countdown for timed races, laps to go for lap races. */
export function clockText(session, elapsedSinceHeaderS) {
  const c = (session && session.clock) || {};
  if (session && session.format === "laps" && c.laps_target) {
    const togo = Math.max(0, c.laps_target - (c.leader_laps || 0));
    return togo ? t("clock.laps_to_go", { n: togo }) : t("clock.final_lap_done");
  }
  if (c.green_s == null && c.remaining_s == null && c.duration_s) return fmtClock(c.duration_s); // not started
  if (c.remaining_s !== null && c.remaining_s !== undefined) {
    const running = session.flag !== "none" && session.flag !== "chequered" && !session.closed;
    return fmtClock(c.remaining_s - (running ? elapsedSinceHeaderS : 0));
  }
  if (c.green_s !== null && c.green_s !== undefined && c.now_s !== null && c.now_s !== undefined) {
    return fmtClock(c.now_s + (session.closed ? 0 : elapsedSinceHeaderS));
  }
  return "--:--";
}

/** GET /api/sessions: newest first, each with its state (live / upcoming / finished) and meeting. */
export async function listSessions() {
  const res = await fetch("api/sessions");
  if (!res.ok) throw new Error(`GET /api/sessions: ${res.status}`);
  return res.json();
}

/** Order of session states in lists: live, then upcoming, then finished. */
export const STATE_RANK = { live: 0, upcoming: 1, finished: 2 };
const newest = (a, b) => String(b.created || b.id).localeCompare(String(a.created || a.id));

/**
 * The session a page shows when none is named: in `meeting` (when given) or on the whole track,
 * the live one, else the next upcoming, else the last finished. Newest first within each.
 */
export function chooseSession(list, meeting = null) {
  const pool = meeting ? list.filter((s) => s.meeting && s.meeting.id === meeting) : list;
  const sorted = [...pool].sort((a, b) => (STATE_RANK[a.state] ?? 3) - (STATE_RANK[b.state] ?? 3) || newest(a, b));
  return sorted.length ? sorted[0].id : null;
}

/** Pick the session from ?session=ID, else chooseSession() of `meeting` (default ?meeting=ID). */
export async function pickSession(meeting = params.get("meeting")) {
  const wanted = params.get("session");
  if (wanted) return wanted;
  return chooseSession(await listSessions(), meeting);
}

/** Keep ?session=ID (and ?tv) when linking between pages. */
export function pageLink(page, sessionId, extra = {}) {
  const q = new URLSearchParams(extra);
  if (sessionId) q.set("session", sessionId);
  const s = q.toString();
  return s ? `${page}?${s}` : page;
}
