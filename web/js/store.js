// Client-side state of one session, fed by LiveFeed: rows by car number, penalties by id, the
// header. Listeners get what changed, batched to one call per animation frame so a burst of
// deltas costs one render.
import { LiveFeed } from "./live.js";

export class SessionStore {
  constructor(sessionId, stream) {
    this.sessionId = sessionId;
    this.rows = new Map();
    this.penalties = new Map();
    this.session = null;
    this.headerAt = performance.now(); // local receipt time of the header, to run the clock
    this.history = new Map(); // number -> [{lap, position, lap_s}] seen live (charts fallback)
    this.moves = new Map(); // number -> {refPos, lapPos, laps}: position change since previous lap
    this.listeners = [];
    this.pending = null;
    this.stats = { snapshots: 0, deltas: 0, rowsApplied: 0, flushes: 0, renderMs: 0, renderMaxMs: 0 };
    this.feed = new LiveFeed({
      sessionId, stream,
      onSnapshot: (m) => this.snapshot(m),
      onDelta: (m) => this.delta(m),
      onState: (s) => this.stateListeners.forEach((f) => f(s)),
    });
    this.stateListeners = [];
    this.extraListeners = []; // raw delta fields (passings, decoders) for staff pages
  }

  start() {
    this.feed.start();
    return this;
  }

  onChange(f) { this.listeners.push(f); }
  onState(f) { this.stateListeners.push(f); }
  onExtra(f) { this.extraListeners.push(f); }

  mark(kind, key) {
    if (!this.pending) {
      this.pending = { rows: new Set(), removed: new Set(), penalties: new Set(), session: false, full: false };
      requestAnimationFrame(() => this.flush());
    }
    if (kind === "full") this.pending.full = true;
    else if (kind === "session") this.pending.session = true;
    else this.pending[kind].add(key);
  }

  flush() {
    const p = this.pending;
    this.pending = null;
    const t0 = performance.now();
    for (const f of this.listeners) f(p);
    // Our own render cost, reported by the performance test.
    const ms = performance.now() - t0;
    this.stats.flushes++;
    this.stats.renderMs += ms;
    if (ms > this.stats.renderMaxMs) this.stats.renderMaxMs = ms;
  }

  setSession(h) {
    this.session = h;
    this.headerAt = performance.now();
    this.mark("session");
  }

  putRow(r) {
    const old = this.rows.get(r.number);
    const rawLaps = (r.laps || 0) + (r.penalty_laps || 0);
    let m = this.moves.get(r.number);
    if (!m) {
      m = { refPos: null, lapPos: r.position, laps: rawLaps };
      this.moves.set(r.number, m);
    } else if (rawLaps > m.laps) {
      m.refPos = m.lapPos;
      m.lapPos = r.position;
      m.laps = rawLaps;
    } else {
      m.lapPos = r.position;
    }
    r._moved = m.refPos == null ? 0 : m.refPos - r.position;
    if (old && rawLaps > (old.laps || 0) + (old.penalty_laps || 0) && r.last_lap_s != null) {
      let h = this.history.get(r.number);
      if (!h) this.history.set(r.number, (h = []));
      h.push({ lap: rawLaps, position: r.position, lap_s: r.last_lap_s });
      if (h.length > 2000) h.shift();
    }
    this.rows.set(r.number, r);
    this.stats.rowsApplied++;
    this.mark("rows", r.number);
  }

  snapshot(m) {
    this.stats.snapshots++;
    this.rows.clear();
    this.penalties.clear();
    if (m.session) this.setSession(m.session);
    for (const r of m.rows || []) this.putRow(r);
    for (const p of m.penalties || []) this.penalties.set(p.id, p);
    this.mark("full");
    if (m.passings || m.decoders) for (const f of this.extraListeners) f(m);
  }

  delta(m) {
    this.stats.deltas++;
    if (m.session) this.setSession(m.session);
    for (const r of m.rows || []) this.putRow(r);
    for (const n of m.removed || []) {
      this.rows.delete(n);
      this.mark("removed", n);
    }
    for (const p of m.penalties || []) {
      this.penalties.set(p.id, p);
      this.mark("penalties", p.id);
    }
    for (const id of m.penalties_removed || []) {
      this.penalties.delete(id);
      this.mark("full");
    }
    if (m.passings || m.decoders) for (const f of this.extraListeners) f(m);
  }

  sortedRows() {
    return [...this.rows.values()].sort((a, b) => a.position - b.position);
  }

  overallBest() {
    let best = null;
    for (const r of this.rows.values()) {
      if (r.best_lap_s != null && (best === null || r.best_lap_s < best)) best = r.best_lap_s;
    }
    return best;
  }

  elapsed() {
    return (performance.now() - this.headerAt) / 1000;
  }
}
