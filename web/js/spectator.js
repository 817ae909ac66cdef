// Spectator live timing (public, read-only): classification, header, filter, TV mode, charts.
import { api, whoBadge, whoami } from "./auth.js";
import { drawLapChart, drawLapTimes } from "./charts.js";
import { mountHeader } from "./header.js";
import { connectionBanner } from "./live.js";
import { SessionStore } from "./store.js";
import { KeyedTable, lapClass, stateText } from "./table.js";
import { el, fmtLap, params, pickSession } from "./util.js";

const $ = (id) => document.getElementById(id);
let filter = params.get("cat") ? `cat:${params.get("cat")}` : "all";

const norm = (s) => String(s ?? "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();

function visible(r) {
  if (filter === "all") return true;
  const [kind, value] = [filter.slice(0, 3), norm(filter.slice(4))];
  return kind === "cat" ? norm(r.category) === value : norm(r.division) === value;
}

const COLUMNS = [
  // On a phone the change arrow and the state ride under the position and the number (the
  // chg and state columns are hidden there), so the name keeps room.
  { id: "pos", label: "Pos", cls: "num pos", title: "Position (in the category when filtered)",
    cell: (r) => ({ t: String(filter === "all" ? r.position : r.category_position || r.position),
      sub: moved(r), c: r._moved > 0 ? "mv-up" : r._moved < 0 ? "mv-down" : "", label: `position ${r.position}` }) },
  { id: "chg", label: "", cls: "chg wide", title: "Places gained or lost since the previous lap",
    cell: (r) => r._moved > 0 ? { t: moved(r), c: "up", label: `up ${r._moved}` }
      : r._moved < 0 ? { t: moved(r), c: "down", label: `down ${-r._moved}` } : "" },
  { id: "no", label: "No", cls: "no", cell: (r) => {
    const st = stateText(r);
    return st ? { t: r.number, sub: st.t, c: `n-${st.c}` } : r.number;
  } },
  { id: "name", label: "Name / team", cls: "name",
    cell: (r) => ({ t: r.name, c: r.penalties && r.penalties.length ? "has-pen" : "", sub: r.driver_name || "", sub2: penText(r).replace(/-/g, "\u2011") }) },
  { id: "cat", label: "Cat", cls: "cat opt", cell: (r) => r.category ? `${r.category}${filter === "all" && r.category_position ? ` P${r.category_position}` : ""}` : "" },
  { id: "laps", label: "Laps", cls: "num", cell: (r) => String(r.laps ?? "") },
  { id: "gap", label: "Gap", cls: "num gap", cell: (r) => r.gap || "" },
  { id: "int", label: "Int", cls: "num opt", cell: (r) => r.interval || "" },
  { id: "last", label: "Last", cls: "num time",
    cell: (r, ctx) => (r.last_lap_flag === "manual" || r.last_lap_flag === "estimated"
      ? { t: `${fmtLap(r.last_lap_s)} ≈`, c: "t-flagged" } // hand-timed: never coloured as a best lap
      : { t: fmtLap(r.last_lap_s), c: lapClass(r.last_lap_s, r.best_lap_s, ctx.best) }) },
  { id: "best", label: "Best", cls: "num time opt",
    cell: (r, ctx) => ({ t: fmtLap(r.best_lap_s), c: lapClass(r.best_lap_s, null, ctx.best) }) },
  { id: "pit", label: "Pit", cls: "num opt", title: "Pit stops", cell: (r) => String(r.pit_stops ?? 0) },
  { id: "state", label: "", cls: "state wide", cell: (r) => stateText(r) },
  { id: "pen", label: "Penalties", cls: "pen opt", cell: (r) => penText(r) },
];

let selected = params.get("car");

// A proposed penalty does not count until race control decides: say so, as timing screens do.
function penText(r) {
  return (r.penalties || []).map((p) => p.replace(/^\? (\S+) \(proposed\)$/, "$1 under investigation")).join(" · ");
}

function moved(r) {
  return r._moved > 0 ? `▲${r._moved}` : r._moved < 0 ? `▼${-r._moved}` : "";
}

function rowClass(r) {
  const c = [];
  if (r.in_pit) c.push("in-pit");
  if (r.status && r.status !== "classified") c.push(`s-${r.status}`);
  if (r.penalties && r.penalties.length) c.push("has-pen");
  if (r.number === selected) c.push("selected");
  return c.join(" ");
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

  const store = new SessionStore(sessionId, "spectator");
  store.onState(connectionBanner($("conn-banner")));
  mountHeader(store, $("session-header"), $("flag"));
  const table = new KeyedTable($("classification"), COLUMNS, { rowClass, onSelect: (n) => select(n), positioned: true });
  const ctx = { best: null };
  const filters = new Filters(store);
  const charts = new Charts(store, sessionId);
  window.boucle = { store, table }; // for the browser tests and for debugging from the console

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
  const render = (p) => {
    const range = visibleRange();
    const best = store.overallBest();
    const all = p.full || best !== ctx.best;
    ctx.best = best;
    let reorder = all || p.removed.size > 0;
    for (const n of p.removed) {
      table.remove(n);
      stale.delete(n);
    }
    if (all) {
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
      ordered = store.sortedRows().filter(visible).map((r) => r.number);
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
  filters.onChange = () => {
    stale.clear();
    for (const r of store.rows.values()) table.update(r, ctx);
    render({ full: true, rows: new Set(), removed: new Set() });
  };
  window.boucle.stale = stale;

  function select(n) {
    selected = selected === n ? null : n;
    stale.clear();
    for (const r of store.rows.values()) table.update(r, ctx);
    charts.show(selected);
  }
  $("charts-close").addEventListener("click", () => select(selected));
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
    const items = [btn("all", "All")];
    for (const c of [...cats].sort()) items.push(btn(`cat:${c}`, c));
    for (const d of [...divs].sort()) items.push(btn(`div:${d}`, d));
    // A filter with one category only is noise.
    nav.hidden = cats.size + divs.size < 2;
    nav.replaceChildren(el("span", { class: "filter-label" }, "Show:"), ...items);
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
    if (!r) return;
    const bits = [`P${r.position}`, r.category ? `${r.category} P${r.category_position}` : "", `${r.laps} laps`,
      r.best_lap_s != null ? `best ${fmtLap(r.best_lap_s)} (lap ${r.best_lap_no})` : "", `${r.pit_stops} pit stops`,
      r.driver_name ? `driver ${r.driver_name}` : "", r.in_pit ? "IN PIT" : ""];
    const pen = (r.penalties || []).length ? `Penalties: ${r.penalties.join(" · ")}` : "No penalty";
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

// TV mode pages through a field longer than the screen, as track-side screens do.
const TV_PAGE_MS = 10000;
setInterval(() => {
  if (!document.body.classList.contains("tv")) return;
  const atEnd = scrollY + innerHeight >= document.documentElement.scrollHeight - 4;
  if (atEnd) scrollTo({ top: 0 });
  else {
    const mast = document.querySelector(".masthead").getBoundingClientRect().height;
    scrollBy({ top: Math.round((innerHeight - mast) * 0.9) });
  }
}, TV_PAGE_MS);

function setupTv() {
  const btn = $("tv-toggle");
  const set = (on) => {
    document.body.classList.toggle("tv", on);
    btn.setAttribute("aria-pressed", String(on));
    btn.textContent = on ? "Exit TV mode" : "TV mode";
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
  $("empty").textContent = `Cannot load live timing: ${e.message}`;
});
