// Small helpers shared by every page: formatting, DOM building, query parameters.

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

export const FLAG_LABELS = {
  none: "Not started",
  green: "Green flag",
  yellow: "Yellow flag",
  sc: "Safety car",
  red: "Red flag",
  chequered: "Chequered flag",
};

/** Header text for the clock: countdown for timed races, laps to go for lap races. */
export function clockText(session, elapsedSinceHeaderS) {
  const c = (session && session.clock) || {};
  if (session && session.format === "laps" && c.laps_target) {
    const togo = Math.max(0, c.laps_target - (c.leader_laps || 0));
    return togo ? `${togo} lap${togo === 1 ? "" : "s"} to go` : "Final lap done";
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

/** Pick the session from ?session=ID, else the newest open one, else the newest. */
export async function pickSession() {
  const wanted = params.get("session");
  if (wanted) return wanted;
  const res = await fetch("api/sessions");
  if (!res.ok) throw new Error(`GET /api/sessions: ${res.status}`);
  const list = await res.json();
  if (!list.length) return null;
  const open = list.filter((s) => !s.closed);
  const pool = open.length ? open : list;
  pool.sort((a, b) => String(b.created).localeCompare(String(a.created)));
  return pool[0].id;
}

/** Keep ?session=ID (and ?tv) when linking between pages. */
export function pageLink(page, sessionId) {
  const q = new URLSearchParams();
  if (sessionId) q.set("session", sessionId);
  const s = q.toString();
  return s ? `${page}?${s}` : page;
}
