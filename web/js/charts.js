// Lap chart (positions over laps) and lap-time plot, drawn on <canvas>: one paint per change,
// no library, no DOM node per point.
import { t } from "./i18n.js";

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
  "#9a6324", "#469990", "#800000", "#808000", "#000075"];

function setup(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 600, h = canvas.clientHeight || 260;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, h);
  const css = getComputedStyle(canvas);
  return { ctx, w, h, fg: css.color || "#222", grid: css.getPropertyValue("--grid").trim() || "#ccc" };
}

function niceStep(range, target, integer = false) {
  const raw = range / Math.max(1, target);
  if (integer && raw <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/**
 * series: [{number, label, points: [{lap, position}]}]; highlight: number drawn thick.
 * Y axis is position, 1 at the top.
 */
export function drawLapChart(canvas, series, highlight) {
  const { ctx, w, h, fg, grid } = setup(canvas);
  const pad = { l: 34, r: 56, t: 10, b: 24 };
  let maxLap = 1, maxPos = 1;
  for (const s of series) for (const p of s.points) {
    if (p.position == null) continue;
    maxLap = Math.max(maxLap, p.lap);
    maxPos = Math.max(maxPos, p.position);
  }
  const x = (lap) => pad.l + ((lap - 0) / Math.max(1, maxLap)) * (w - pad.l - pad.r);
  const y = (pos) => pad.t + ((pos - 1) / Math.max(1, maxPos - 1 || 1)) * (h - pad.t - pad.b);
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = grid;
  ctx.fillStyle = fg;
  ctx.lineWidth = 1;
  const ps = niceStep(maxPos, 8, true);
  for (let p = 1; p <= maxPos; p += p === 1 && ps > 1 ? ps - 1 : ps) {
    ctx.beginPath();
    ctx.moveTo(pad.l, y(p));
    ctx.lineTo(w - pad.r, y(p));
    ctx.stroke();
    ctx.fillText(`P${p}`, 4, y(p) + 4);
  }
  const ls = niceStep(maxLap, 10, true);
  for (let l = 0; l <= maxLap; l += ls) ctx.fillText(String(l), x(l) - 4, h - 6);
  if (!series.some((s) => s.points.length)) {
    ctx.fillText(t("charts.no_laps"), w / 2 - 30, h / 2);
    return;
  }
  // Others first, the selected car last so it is drawn on top.
  const ordered = [...series].sort((a, b) => (a.number === highlight) - (b.number === highlight));
  ordered.forEach((s) => {
    const color = s.number === highlight ? fg : PALETTE[series.indexOf(s) % PALETTE.length];
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = s.number === highlight ? 3 : 1.25;
    ctx.beginPath();
    let started = false, last = null;
    for (const p of s.points) {
      if (p.position == null) continue;
      if (!started) ctx.moveTo(x(p.lap), y(p.position));
      else ctx.lineTo(x(p.lap), y(p.position));
      started = true;
      last = p;
    }
    ctx.stroke();
    if (last) ctx.fillText(`#${s.number}`, x(last.lap) + 4, y(last.position) + 4);
  });
}

/** laps: [{lap, lap_s, pit?}] of one car; best marked; pit laps (far off the pace) drawn hollow. */
export function drawLapTimes(canvas, laps, { overallBest = null } = {}) {
  const { ctx, w, h, fg, grid } = setup(canvas);
  const pad = { l: 56, r: 18, t: 10, b: 24 };
  const valid = laps.filter((l) => l.lap_s != null && l.lap_s > 0);
  ctx.font = "11px system-ui, sans-serif";
  ctx.fillStyle = fg;
  if (!valid.length) {
    ctx.fillText(t("charts.no_laps"), w / 2 - 30, h / 2);
    return;
  }
  const sorted = valid.map((l) => l.lap_s).sort((a, b) => a - b);
  const best = sorted[0];
  const median = sorted[Math.floor(sorted.length / 2)];
  // Pit laps and slow laps would squash the racing laps: clip the scale at 1.5 x median.
  const top = Math.max(best * 1.02, Math.min(sorted[sorted.length - 1], median * 1.5));
  const bottom = best * 0.98;
  const maxLap = Math.max(...valid.map((l) => l.lap));
  const x = (lap) => pad.l + (lap / Math.max(1, maxLap)) * (w - pad.l - pad.r);
  const y = (s) => pad.t + (1 - (Math.min(s, top) - bottom) / (top - bottom)) * (h - pad.t - pad.b);
  ctx.strokeStyle = grid;
  const ts = niceStep(top - bottom, 5);
  for (let v = Math.ceil(bottom / ts) * ts; v <= top; v += ts) {
    ctx.beginPath();
    ctx.moveTo(pad.l, y(v));
    ctx.lineTo(w - pad.r, y(v));
    ctx.stroke();
    ctx.fillText(v >= 60 ? `${Math.floor(v / 60)}:${(v % 60).toFixed(1).padStart(4, "0")}` : v.toFixed(1), 4, y(v) + 4);
  }
  const ls = niceStep(maxLap, 10, true);
  for (let l = 0; l <= maxLap; l += ls) ctx.fillText(String(l), x(l) - 4, h - 6);
  ctx.strokeStyle = fg;
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  valid.forEach((l, i) => (i ? ctx.lineTo(x(l.lap), y(l.lap_s)) : ctx.moveTo(x(l.lap), y(l.lap_s))));
  ctx.stroke();
  for (const l of valid) {
    const clipped = l.lap_s > top;
    const isBest = l.lap_s <= best + 1e-9;
    const isOverall = overallBest != null && l.lap_s <= overallBest + 1e-9;
    ctx.beginPath();
    ctx.arc(x(l.lap), y(l.lap_s), isBest ? 5 : 3, 0, 2 * Math.PI);
    ctx.fillStyle = isOverall ? "#8e24aa" : isBest ? "#2e7d32" : fg;
    if (clipped || l.pit) {
      ctx.strokeStyle = fg;
      ctx.stroke();
    } else ctx.fill();
  }
}
