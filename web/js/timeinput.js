// Times the timing crew types: a time of day ("14:32:05.120", the track's clock) or a race time
// ("1:02:05.1", from the green flag), never raw session seconds. The session header gives the
// wall clock at t = 0 (`origin_ms`), the server's clock (`wall_ms`) and the clock rate, so the
// page converts both ways exactly (milliseconds; a comma is a decimal point too).

const CLOCK = /^(\d{1,2})[:h](\d{2})(?::(\d{2})(?:[.,](\d{1,3}))?)?$/;
const RACE = /^(?:(?:(\d+):)?(\d{1,2}):)?(\d{1,2}|\d+)(?:[.,](\d{1,3}))?$/;

const frac = (s) => (s ? Number(s.padEnd(3, "0")) : 0);

/** "14:32:05.120" -> milliseconds since midnight, or null. */
export function parseClock(text) {
  const m = CLOCK.exec(String(text).trim());
  if (!m) return null;
  const [h, min, s] = [Number(m[1]), Number(m[2]), Number(m[3] || 0)];
  if (h > 23 || min > 59 || s > 59) return null;
  return ((h * 60 + min) * 60 + s) * 1000 + frac(m[4]);
}

/** "1:02:05.1", "62:05.1", "5.3" -> seconds (to the millisecond), or null. */
export function parseRace(text) {
  const m = RACE.exec(String(text).trim());
  if (!m) return null;
  const [h, min, s] = [Number(m[1] || 0), Number(m[2] || 0), Number(m[3])];
  if ((m[2] !== undefined && s > 59) || (m[1] !== undefined && min > 59)) return null;
  return ((h * 60 + min) * 60 + s) + frac(m[4]) / 1000;
}

const rateOf = (h) => Number(h.clock && h.clock.rate) || 1;

/** Session time (s) of a time of day, on the day (yesterday, today, tomorrow) nearest the server's now. */
export function tFromClock(msOfDay, header) {
  const now = new Date(header.wall_ms);
  const hh = Math.floor(msOfDay / 3600000), mm = Math.floor(msOfDay / 60000) % 60;
  const ss = Math.floor(msOfDay / 1000) % 60, ms = msOfDay % 1000;
  let best = null;
  for (const d of [-1, 0, 1]) {
    const at = new Date(now.getFullYear(), now.getMonth(), now.getDate() + d, hh, mm, ss, ms).getTime();
    if (best === null || Math.abs(at - header.wall_ms) < Math.abs(best - header.wall_ms)) best = at;
  }
  return Math.round((best - header.origin_ms) * rateOf(header)) / 1000;
}

/** The time of day of a session time, "14:32:05.120". */
export function clockOf(t, header) {
  const d = new Date(header.origin_ms + (t * 1000) / rateOf(header));
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** Race time runs from the green flag (t = 0 when there is none yet). */
export const greenOf = (header) => (header.clock && header.clock.green_s) || 0;

/** "1:02:05.100" / "2:05.100" of a session time, as race time. */
export function raceOf(t, header) {
  const r = Math.max(0, t - greenOf(header));
  const h = Math.floor(r / 3600), m = Math.floor((r % 3600) / 60);
  const s = (r - h * 3600 - m * 60).toFixed(3).padStart(6, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** Session time of what the crew typed in `mode` ("clock" or "race"), or null when it is not a time. */
export function typedT(text, mode, header) {
  if (mode === "race") {
    const r = parseRace(text);
    return r === null ? null : Math.round((greenOf(header) + r) * 1000) / 1000;
  }
  const ms = parseClock(text);
  return ms === null ? null : tFromClock(ms, header);
}

/** A session time written the way the crew types it in `mode`. */
export const shownT = (t, mode, header) => (mode === "race" ? raceOf(t, header) : clockOf(t, header));
