// Spectator live timing (public, read-only): classification, header, filter, favourites, TV
// mode (paged, auto-fitted), charts. Follows the live session of the track (or ?meeting=ID)
// unless ?session=ID pins one.
import { api, whoBadge, whoami } from "./auth.js";
import { drawLapChart, drawLapTimes } from "./charts.js";
import { connectionBanner, mountHeader } from "./header.js";
import { t } from "./i18n.js";
import { followSessions, mountPicker } from "./picker.js";
import { SessionStore } from "./store.js";
import { KeyedTable, lapClass, stateText } from "./table.js";
import { el, fmtLap, params, pickSession } from "./util.js";

const $ = (id) => document.getElementById(id);
// lap flags that are no record until race control confirms them (service/engine/car.py UNCONFIRMED)
const UNCONFIRMED = new Set(["manual", "estimated", "interpolated", "warned"]);
let filter = params.get("cat") ? `cat:${params.get("cat")}` : "all";

const norm = (s) => String(s ?? "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();

function visible(r) {
  if (filter === "all") return true;
  const [kind, value] = [filter.slice(0, 3), norm(filter.slice(4))];
  return kind === "cat" ? norm(r.category) === value : norm(r.division) === value;
}

// Favourite cars: pinned at the top of the board, remembered on this device.
const FAV_KEY = "boucle.favourites";
const favs = new Set(JSON.parse(localStorage.getItem(FAV_KEY) || "[]").map(String));
const saveFavs = () => localStorage.setItem(FAV_KEY, JSON.stringify([...favs]));

// A phone writes lap gaps short ("+11 T"): the gap column is narrow there.
const phone = matchMedia("(max-width: 700px)");
const lapsGap = (n) => t(phone.matches ? "gap.laps_short" : "gap.laps", { n });

/** "+1 lap" from the server, in the page language. */
function gapText(g) {
  const m = /^\+(\d+) laps?$/.exec(g || "");
  return m ? lapsGap(Number(m[1])) : g || "";
}

/** Gap and interval inside a filtered class, as classify.py computes them for the whole field. */
export function classGaps(rows, bestLapFormat) {
  const out = new Map();
  const diff = (ahead, r) => {
    if (bestLapFormat) {
      return ahead.best_lap_s == null || r.best_lap_s == null ? "" : `+${(r.best_lap_s - ahead.best_lap_s).toFixed(3)}`;
    }
    if (ahead.total_time_s == null || r.total_time_s == null) return "";
    const dl = ahead.laps - r.laps;
    return dl >= 1 ? lapsGap(dl) : `+${(r.total_time_s - ahead.total_time_s).toFixed(3)}`;
  };
  rows.forEach((r, i) => out.set(r.number, i ? { gap: diff(rows[0], r), interval: diff(rows[i - 1], r) } : { gap: "", interval: "" }));
  return out;
}
const gapOf = (r, ctx) => (ctx.classGaps ? (ctx.classGaps.get(r.number) || {}).gap || "" : gapText(r.gap));
const intOf = (r, ctx) => (ctx.classGaps ? (ctx.classGaps.get(r.number) || {}).interval || "" : gapText(r.interval));

/** One server penalty label ("-1 lap LM-STOPS", "? AX-JUMP (proposed)") in the page language. */
export function penLabel(x) {
  let m;
  if ((m = /^\? (\S+) \(proposed\)$/.exec(x))) return t("pen.investigation", { rule: m[1] });
  if ((m = /^-(\d+) laps? (\S+)$/.exec(x))) return t("pen.laps_rule", { n: Number(m[1]), rule: m[2] });
  if ((m = /^\+([\d.]+) s best lap (\S+)$/.exec(x))) return t("pen.best_rule", { n: m[1], rule: m[2] });
  if ((m = /^\+([\d.]+) s (\S+)$/.exec(x))) return t("pen.seconds_rule", { n: m[1], rule: m[2] });
  if ((m = /^DSQ (\S+)$/.exec(x))) return t("pen.dsq_rule", { rule: m[1] });
  return x;
}
const penText = (r) => (r.penalties || []).map(penLabel).join(" · ");
/** What the penalties add up to, for the phone's line under the name (the list is a tap away). */
export function penSummary(r) {
  const labels = r.penalties || [];
  const parts = [];
  if (labels.some((x) => x.startsWith("DSQ "))) parts.push(t("pen.dsq"));
  if (r.penalty_laps) parts.push(t("pen.laps", { n: r.penalty_laps }));
  if (r.penalty_seconds) parts.push(t("pen.seconds", { n: r.penalty_seconds }));
  for (const x of labels) if (x.startsWith("? ")) parts.push(penLabel(x));
  return parts.join(" · ");
}

const COLUMNS = [
  // On a phone the change arrow and the state ride under the position and the number, the
  // pit stops under the laps, the interval under the gap and the best lap under the last one
  // (the chg, int, best, pit and state columns are hidden there), so the name keeps room.
  { id: "pos", label: t("col.pos"), cls: "num pos", title: t("col.pos_title"),
    cell: (r) => ({ t: String(filter === "all" ? r.position : r.category_position || r.position),
      sub: moved(r), c: r._moved > 0 ? "mv-up" : r._moved < 0 ? "mv-down" : "", label: t("col.position_n", { n: r.position }) }) },
  { id: "chg", label: "", cls: "chg wide", title: t("col.chg_title"),
    cell: (r) => r._moved > 0 ? { t: moved(r), c: "up", label: t("col.up", { n: r._moved }) }
      : r._moved < 0 ? { t: moved(r), c: "down", label: t("col.down", { n: -r._moved }) } : "" },
  { id: "no", label: t("col.no"), cls: "no", cell: (r) => {
    const st = stateText(r);
    const short = st && st.c === "st-pit" ? t("state.pit_short") : st && st.t;
    return st ? { t: r.number, sub: short, c: `n-${st.c}`, label: `${r.number} ${st.label || st.t}` } : r.number;
  } },
  { id: "name", label: t("col.name"), cls: "name",
    cell: (r) => ({ t: r.name, c: r.penalties && r.penalties.length ? "has-pen" : "", sub: r.driver_name || "", sub2: penSummary(r).replace(/-/g, "\u2011") }) },
  { id: "cat", label: t("col.cat"), cls: "cat opt", cell: (r) => r.category ? `${r.category}${filter === "all" && r.category_position ? ` P${r.category_position}` : ""}` : "" },
  { id: "laps", label: t("col.laps"), cls: "num laps", title: t("col.laps_title"),
    cell: (r) => ({ t: String(r.laps ?? ""), sub: t("col.stops_short", { n: r.pit_stops ?? 0 }), label: t("col.stops_n", { n: r.pit_stops ?? 0 }) }) },
  { id: "gap", label: t("col.gap"), cls: "num gap", title: t("col.gap_title"), cell: (r, ctx) => ({ t: gapOf(r, ctx), sub: intOf(r, ctx) }) },
  { id: "int", label: t("col.int"), cls: "num opt", title: t("col.int_title"), cell: (r, ctx) => intOf(r, ctx) },
  { id: "last", label: t("col.last"), cls: "num time last", title: t("col.last_title"),
    cell: (r, ctx) => (UNCONFIRMED.has(r.last_lap_flag) // hand-timed or warned: never coloured as a best lap
      ? { t: `${fmtLap(r.last_lap_s)}${r.last_lap_flag === "warned" ? "" : " ≈"}`, c: "t-flagged", sub: fmtLap(r.best_lap_s) }
      : { t: fmtLap(r.last_lap_s), c: lapClass(r.last_lap_s, r.best_lap_s, ctx.best), sub: fmtLap(r.best_lap_s) }) },
  { id: "best", label: t("col.best"), cls: "num time opt",
    cell: (r, ctx) => ({ t: fmtLap(r.best_lap_s), c: lapClass(r.best_lap_s, null, ctx.best) }) },
  { id: "pit", label: t("col.pit"), cls: "num opt", title: t("col.pit_title"), cell: (r) => String(r.pit_stops ?? 0) },
  { id: "state", label: "", cls: "state wide", cell: (r) => stateText(r) },
  // a TV shows what the penalties add up to (the names keep their room); the list is on the phones
  { id: "pen", label: t("col.pen"), cls: "pen opt", cell: (r) => (document.body.classList.contains("tv") ? penSummary(r) : penText(r)) },
];

let selected = params.get("car");

function moved(r) {
  return r._moved > 0 ? `▲${r._moved}` : r._moved < 0 ? `▼${-r._moved}` : "";
}

function rowClass(r) {
  const c = [];
  if (r.in_pit) c.push("in-pit");
  if (r.status && r.status !== "classified") c.push(`s-${r.status}`);
  if (r.penalties && r.penalties.length) c.push("has-pen");
  if (r.number === selected) c.push("selected");
  if (favs.has(r.number)) c.push("fav");
  return c.join(" ");
}

// Column widths follow their longest text: every state label (so "AU STAND" is never cut and the
// column does not jump when a car pits), the penalties and categories on the board (an empty
// penalty column shrinks to its header and gives the names its room). Measured with a canvas in
// the cells' own font, once per new text; the table's --k-* are written only when they change.
const STATES = ["state.pit", "state.fin", "state.dnf", "state.dns", "state.dsq", "state.nc"];
const measureText = (() => {
  const ctx = document.createElement("canvas").getContext("2d");
  const cache = new Map();
  return (text, font) => {
    const k = `${font}\u0001${text}`;
    let w = cache.get(k);
    if (w === undefined) {
      ctx.font = font;
      w = ctx.measureText(text).width;
      if (cache.size > 2000) cache.clear();
      cache.set(k, w);
    }
    return w;
  };
})();
function fitColumns(tableEl, rows) {
  if (phone.matches) return;
  const u = parseFloat(getComputedStyle(tableEl).getPropertyValue("--u")) || 15;
  const width = (n, texts, [lo, hi]) => {
    const cell = tableEl.querySelector(`tbody td:nth-child(${n})`) || tableEl.querySelector(`thead th:nth-child(${n})`);
    const th = tableEl.querySelector(`thead th:nth-child(${n})`);
    if (!cell) return null;
    const cs = getComputedStyle(cell);
    const font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
    let w = th ? measureText(th.textContent, getComputedStyle(th).font) : 0;
    for (const x of texts) if (x) w = Math.max(w, measureText(x, font));
    const pad = parseFloat(cs.paddingLeft) + parseFloat(cs.paddingRight) + 3;
    return Math.min(hi, Math.max(lo, Math.ceil(((w + pad) / u) * 10) / 10));
  };
  const ks = {
    "--k-state": width(12, STATES.map((k) => t(k)), [2.5, 9]),
    "--k-pen": width(13, rows.map((r) => COLUMNS[12].cell(r)), [3, 14]),
    "--k-cat": width(5, rows.map((r) => COLUMNS[4].cell(r)), [3, 12]),
  };
  for (const [k, v] of Object.entries(ks)) {
    if (v !== null && tableEl.style.getPropertyValue(k) !== String(v)) tableEl.style.setProperty(k, String(v));
  }
}

// TV mode: the board shows as many rows as the screen holds and pages through the field, the
// header (name, clock, flag) kept; type size follows the screen (css: body.tv).
const TV_PAGE_MS = 8000;
const tv = { page: 0, pages: 1, perPage: 0 };
function tvRowsPerPage(table) {
  const row = table.tbody.firstElementChild;
  const rowH = row ? row.getBoundingClientRect().height : 0;
  if (!rowH) return 0;
  const top = table.tbody.getBoundingClientRect().top + scrollY;
  return Math.max(3, Math.floor((innerHeight - top - 4) / rowH));
}

async function main() {
  const who = await whoami().catch(() => ({ role: "spectator" }));
  $("who").replaceChildren(whoBadge(who, "race-control.html"));
  setupTv();

  let sessionId = await pickSession().catch(() => null);
  while (!sessionId) {
    $("empty").hidden = false;
    await new Promise((r) => setTimeout(r, 5000));
    sessionId = await pickSession().catch(() => null);
  }
  $("empty").hidden = true;
  mountPicker($("picker"), sessionId);
  const followCheck = followSessions(sessionId);

  const store = new SessionStore(sessionId, "spectator");
  store.onState(connectionBanner($("conn-banner")));
  mountHeader(store, $("session-header"), $("flag"));
  const table = new KeyedTable($("classification"), COLUMNS, { rowClass, onSelect: (n) => select(n), positioned: true });
  const ctx = { best: null, classGaps: null };
  const filters = new Filters(store);
  const charts = new Charts(store, sessionId);
  window.boucle = { store, table, tv, followCheck }; // for the browser tests and for debugging from the console

  let ordered = [];
  const indexOf = new Map(); // number -> row index on screen (from the last reorder)
  const shownPos = new Map(); // number -> position the table is ordered by
  // Rows far outside the viewport are not touched until they scroll into view: on a phone that
  // is most of a 100-car field, and the work per update drops accordingly.
  const stale = new Set();
  const MARGIN = 8; // rows kept fresh above and below the viewport
  const visibleRange = () => {
    if (!ordered.length) return [0, -1];
    const box = table.tbody.getBoundingClientRect(); // read before any write: layout is clean here
    const h = box.height / ordered.length || 1;
    return [Math.floor(-box.top / h) - MARGIN, Math.ceil((innerHeight - box.top) / h) + MARGIN];
  };
  const touch = (r, range) => {
    const i = indexOf.get(r.number);
    if (i !== undefined && (i < range[0] || i > range[1]) && table.trs.has(r.number)) {
      stale.add(r.number);
      return;
    }
    stale.delete(r.number);
    table.update(r, ctx);
  };
  const refreshStale = (range) => {
    for (const n of stale) {
      const i = indexOf.get(n);
      const r = store.rows.get(n);
      if (!r) stale.delete(n);
      else if (i === undefined || (i >= range[0] && i <= range[1])) touch(r, range);
    }
  };
  /** The board's order: favourites first, then the field; in TV mode one page of it. */
  const boardOrder = () => {
    const rows = store.sortedRows().filter(visible);
    ctx.classGaps = filter === "all" ? null : classGaps(rows, store.session && store.session.format === "best_lap");
    const all = [...rows.filter((r) => favs.has(r.number)), ...rows.filter((r) => !favs.has(r.number))].map((r) => r.number);
    if (!document.body.classList.contains("tv") || !tv.perPage) {
      tv.pages = 1;
      return all;
    }
    tv.pages = Math.max(1, Math.ceil(all.length / tv.perPage));
    tv.page %= tv.pages;
    $("tv-page").textContent = tv.pages > 1 ? t("tv.page", { k: tv.page + 1, n: tv.pages }) : "";
    return all.slice(tv.page * tv.perPage, (tv.page + 1) * tv.perPage);
  };
  const render = (p) => {
    const range = visibleRange();
    const best = store.overallBest();
    // With a class filter every gap is to the class leader: any change may move them all.
    const all = p.full || best !== ctx.best || (filter !== "all" && p.rows.size > 0);
    ctx.best = best;
    let reorder = all || p.removed.size > 0;
    for (const n of p.removed) {
      table.remove(n);
      stale.delete(n);
    }
    if (all) {
      if (filter !== "all") ctx.classGaps = classGaps(store.sortedRows().filter(visible), store.session && store.session.format === "best_lap");
      for (const r of store.rows.values()) touch(r, range);
      filters.refresh();
    } else {
      for (const n of p.rows) {
        const r = store.rows.get(n);
        if (!r) continue;
        touch(r, range);
        // A moved row or a row entering or leaving the filter changes the order.
        const e = table.trs.get(n);
        if (!reorder && (!e || (e.tr.parentNode === null) === visible(r))) reorder = true;
        if (!reorder && shownPos.get(n) !== r.position) reorder = true;
      }
    }
    if (reorder) {
      ordered = boardOrder();
      for (const r of store.rows.values()) if (!table.trs.has(r.number)) table.update(r, ctx);
      shownPos.clear();
      for (const r of store.rows.values()) shownPos.set(r.number, r.position);
      indexOf.clear();
      ordered.forEach((n, i) => indexOf.set(n, i));
      table.order(ordered);
      $("table-empty").hidden = ordered.length > 0;
      refreshStale(range); // rows that moved into view
    }
    if (selected && (all || p.rows.has(selected))) charts.refresh();
    fitSoon();
  };
  let fitTimer = null;
  const fitSoon = () => {
    if (fitTimer) return;
    fitTimer = setTimeout(() => {
      fitTimer = null;
      fitColumns($("classification"), [...store.rows.values()]);
    }, 300);
  };
  addEventListener("resize", fitSoon, { passive: true });
  const rerender = () => {
    stale.clear();
    for (const r of store.rows.values()) table.update(r, ctx);
    render({ full: true, rows: new Set(), removed: new Set() });
  };
  store.onChange(render);
  let scrollQueued = false;
  const onScroll = () => {
    if (scrollQueued || !stale.size) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      refreshStale(visibleRange());
    });
  };
  addEventListener("scroll", onScroll, { passive: true });
  addEventListener("resize", onScroll, { passive: true });
  filters.onChange = rerender;
  phone.addEventListener("change", rerender);
  window.boucle.stale = stale;

  // TV paging: measure how many rows fit (after the full field is laid out once), then turn pages.
  const tvFit = () => {
    if (!document.body.classList.contains("tv")) {
      if (tv.perPage) {
        tv.perPage = 0;
        $("tv-page").hidden = true;
        rerender();
      }
      return;
    }
    const n = tvRowsPerPage(table);
    if (n && n !== tv.perPage) {
      tv.perPage = n;
      $("tv-page").hidden = false;
      rerender();
    }
  };
  window.boucle.tvFit = tvFit;
  addEventListener("resize", () => requestAnimationFrame(tvFit));
  $("tv-toggle").addEventListener("click", () => requestAnimationFrame(() => { tv.page = 0; tvFit(); rerender(); fitSoon(); }));
  store.onChange(() => { if (!tv.perPage) tvFit(); });
  window.boucle.tvNext = () => {
    if (!tv.perPage || tv.pages < 2) return;
    tv.page = (tv.page + 1) % tv.pages;
    rerender();
  };
  setInterval(() => window.boucle.tvNext(), TV_PAGE_MS);

  function select(n) {
    selected = selected === n ? null : n;
    stale.clear();
    for (const r of store.rows.values()) table.update(r, ctx);
    charts.show(selected);
  }
  $("charts-close").addEventListener("click", () => select(selected));
  $("fav-toggle").addEventListener("click", () => {
    if (!selected) return;
    if (favs.has(selected)) favs.delete(selected);
    else favs.add(selected);
    saveFavs();
    charts.info();
    rerender();
  });
  store.start();
  if (selected) charts.show(selected);
}

class Filters {
  constructor(store) {
    this.store = store;
    this.key = "";
    this.onChange = () => {};
  }

  refresh() {
    const cats = new Set(), divs = new Set();
    for (const r of this.store.rows.values()) {
      if (r.category) cats.add(r.category);
      if (r.division) divs.add(r.division);
    }
    const key = [...cats].sort().join("|") + "#" + [...divs].sort().join("|");
    if (key === this.key) return;
    this.key = key;
    const nav = $("filters");
    const btn = (value, label) => el("button", {
      type: "button", "aria-pressed": String(filter === value), "data-filter": value,
      onclick: () => {
        filter = value;
        for (const b of nav.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.filter === filter));
        this.onChange();
      },
    }, label);
    const items = [btn("all", t("filter.all"))];
    for (const c of [...cats].sort()) items.push(btn(`cat:${c}`, c));
    for (const d of [...divs].sort()) items.push(btn(`div:${d}`, d));
    // A filter with one category only is noise.
    nav.hidden = cats.size + divs.size < 2;
    nav.replaceChildren(el("span", { class: "filter-label" }, t("filter.show")), ...items);
  }
}

class Charts {
  constructor(store, sessionId) {
    this.store = store;
    this.sessionId = sessionId;
    this.fetched = new Map(); // number -> {laps, at}: lap times from the per-car endpoint
    this.chart = null; // {positions: Map(number -> [{lap, position}]), maxLap, at} from /lapchart
    this.timer = null;
  }

  base(path) {
    return `api/sessions/${encodeURIComponent(this.sessionId)}/${path}`;
  }

  async lapTimes(number) {
    const have = this.fetched.get(number);
    if (!have || performance.now() - have.at > 15000) {
      try {
        const j = await api(this.base(`cars/${encodeURIComponent(number)}/laps`));
        this.fetched.set(number, { laps: j.laps || [], at: performance.now() });
      } catch { /* keep what we have; live history fills in */ }
    }
    const base = (this.fetched.get(number) || { laps: [] }).laps;
    const maxLap = base.length ? base[base.length - 1].lap : 0;
    const live = this.store.history.get(number) || [];
    return [...base, ...live.filter((l) => l.lap > maxLap)];
  }

  async positions() {
    // The whole lap chart is one request; refreshed at most every 15 s, live history in between.
    if (!this.chart || performance.now() - this.chart.at > 15000) {
      try {
        const j = await api(this.base("lapchart"));
        const positions = new Map();
        let maxLap = 0;
        for (const [lap, order] of Object.entries(j.laps || {})) {
          const n = Number(lap);
          maxLap = Math.max(maxLap, n);
          order.forEach((num, i) => {
            if (!positions.has(num)) positions.set(num, []);
            positions.get(num).push({ lap: n, position: i + 1 });
          });
        }
        for (const pts of positions.values()) pts.sort((a, b) => a.lap - b.lap);
        this.chart = { positions, maxLap, at: performance.now() };
      } catch {
        this.chart = this.chart || { positions: new Map(), maxLap: 0, at: performance.now() };
      }
    }
    return (number) => {
      const base = this.chart.positions.get(number) || [];
      const last = base.length ? base[base.length - 1].lap : 0;
      const live = (this.store.history.get(number) || []).filter((l) => l.lap > last);
      return [...base, ...live];
    };
  }

  show(number) {
    $("charts").hidden = !number;
    if (!number) return;
    this.info();
    this.refresh(true);
    $("charts").scrollIntoView({ behavior: "smooth", block: "nearest" });
  }

  info() {
    // The whole story of the car, penalties in full: the phone table only has room for a line.
    const r = this.store.rows.get(selected);
    $("charts-title").textContent = r ? `#${r.number} ${r.name}` : `#${selected}`;
    $("fav-toggle").setAttribute("aria-pressed", String(favs.has(selected)));
    $("fav-toggle").textContent = favs.has(selected) ? t("spectator.unfav") : t("spectator.fav");
    if (!r) return;
    const st = stateText(r);
    const bits = [t("info.pos", { n: r.position }), r.category ? `${r.category} P${r.category_position}` : "",
      t("info.laps", { n: r.laps }), r.gap ? t("info.gap", { gap: gapText(r.gap) }) : "", r.interval ? t("info.int", { gap: gapText(r.interval) }) : "",
      r.last_lap_s != null ? t("info.last", { t: fmtLap(r.last_lap_s) }) : "",
      r.best_lap_s != null ? t("info.best", { t: fmtLap(r.best_lap_s), n: r.best_lap_no }) : "", t("info.stops", { n: r.pit_stops }),
      r.driver_name ? t("info.driver", { name: r.driver_name }) : "", st ? st.label || st.t : ""];
    const pen = (r.penalties || []).length ? t("info.penalties", { list: r.penalties.map(penLabel).join(" · ") }) : t("info.no_penalty");
    $("charts-info").textContent = `${bits.filter(Boolean).join(" · ")}. ${pen}.`;
  }

  refresh(now = false) {
    if (selected) this.info();
    // At most one redraw a second: charts are secondary to the table.
    if (this.timer && !now) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = null; }, 1000);
    this.draw();
  }

  async draw() {
    const number = selected;
    if (!number) return;
    const leaders = this.store.sortedRows().filter(visible).slice(0, 6).map((r) => r.number);
    const cars = [...new Set([number, ...leaders])];
    const [posOf, mine] = await Promise.all([this.positions(), this.lapTimes(number)]);
    if (selected !== number) return;
    const series = cars.map((n) => ({ number: n, points: posOf(n) }));
    drawLapChart($("lap-chart"), series, number);
    drawLapTimes($("lap-times"), mine, { overallBest: this.store.overallBest() });
    $("lap-chart").dataset.points = String(series.reduce((a, s) => a + s.points.length, 0));
    $("lap-times").dataset.points = String(mine.length);
  }
}

function setupTv() {
  const btn = $("tv-toggle");
  const set = (on) => {
    document.body.classList.toggle("tv", on);
    btn.setAttribute("aria-pressed", String(on));
    btn.textContent = on ? t("spectator.tv_exit") : t("spectator.tv");
  };
  set(params.get("tv") === "1");
  btn.addEventListener("click", () => {
    const on = !document.body.classList.contains("tv");
    set(on);
    if (on && document.documentElement.requestFullscreen) document.documentElement.requestFullscreen().catch(() => {});
    if (!on && document.fullscreenElement) document.exitFullscreen().catch(() => {});
  });
}

main().catch((e) => {
  console.error(e);
  $("empty").hidden = false;
  $("empty").textContent = t("spectator.cannot_load", { error: e.message });
});
