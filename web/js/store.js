// Client-side state of one session, fed by LiveFeed: rows by car number, penalties by id, the
// header. Listeners get what changed, batched to one call per animation frame so a burst of
// deltas costs one render.
// Deltas are lean (service/hub.py): a row comes as a patch {number, v, changed fields}; a patch
// whose `v` is not the next version of our copy means a change was missed, and a fresh snapshot
// repairs it. Times that move with the clock are not sent: the store derives `stint_s` from
// `stint_start_s` and countdown texts from `until_s` + `text_until`, and refreshes them each second.
import { LiveFeed } from "./live.js";
import { MqttFeed } from "./mqtt-feed.js";

const TICK_MS = 1000;

let config = null;
function brokerConfig() {
  if (!config) {
    config = fetch(new URL("api/config", location.href))
      .then((r) => (r.ok ? r.json() : { broker: null }))
      .then((j) => j.broker || null, () => null);
  }
  return config;
}

function fmtCountdown(s) {
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = h ? String(m).padStart(2, "0") : String(m);
  return `${h ? `${h}:` : ""}${mm}:${String(sec).padStart(2, "0")}`;
}

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
    this.handlers = {
      sessionId, stream,
      onSnapshot: (m) => this.snapshot(m),
      onDelta: (m) => this.delta(m),
      onState: (s, info) => this.stateListeners.forEach((f) => f(s, info)),
    };
    this.feed = new LiveFeed(this.handlers);
    this.stateListeners = [];
    this.extraListeners = []; // raw delta fields (passings, decoders) for staff pages
    this.stats.repairs = 0; // snapshots asked because a row patch did not follow our version
    this.ticker = null;
  }

  /**
   * Connect. Spectators read from the MQTT brokers when the service names them (/api/config,
   * `boucle serve --publish-ws`), else, or when none can be reached, from the service's WebSocket.
   * `?feed=ws` in the page URL forces the WebSocket.
   */
  start() {
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    const forced = new URLSearchParams(location.search).get("feed") === "ws";
    if (this.handlers.stream !== "spectator" || forced) {
      this.feed.start();
      return this;
    }
    brokerConfig().then((broker) => {
      if (!broker) return this.feed.start();
      const ws = this.feed;
      this.feed = new MqttFeed({
        ...this.handlers, broker,
        onFallback: () => {
          this.feed = ws;
          ws.start();
        },
      });
      this.feed.start();
    });
    return this;
  }

  stop() {
    this.feed.stop();
    clearInterval(this.ticker);
  }

  /** Session clock now (seconds), run locally from the last header. */
  nowS() {
    const c = this.session && this.session.clock;
    if (!c || c.now_s == null) return null;
    return c.now_s + (this.session.closed ? 0 : this.elapsed() * (c.rate || 1));
  }

  /** Fill in what the stream leaves out because it moves with the clock. True if the row counts. */
  derive(r, now) {
    let live = false;
    if (r.stint_start_s != null && now != null) {
      r.stint_s = Math.max(0, Math.round((now - r.stint_start_s) * 10) / 10);
      live = true;
    } else if (r.stint_start_s === null) r.stint_s = null;
    for (const st of Object.values(r.rules || {})) {
      if (!st || typeof st !== "object") continue;
      if (st.stint_start_s != null && now != null) st.stint_s = Math.max(0, now - st.stint_start_s);
      if (st.text_until != null && st.until_s != null && now != null) {
        st.text = st.text_until.replace("{}", fmtCountdown(st.until_s - now));
        if (st.text_until_said) st.text_said = { ...st.text_until_said, params: { ...st.text_until_said.params, left: fmtCountdown(st.until_s - now) } };
        live = true;
      }
    }
    return live;
  }

  tick() {
    const now = this.nowS();
    if (now == null || this.session.closed) return;
    for (const r of this.rows.values()) if (r._ticking && this.derive(r, now)) this.mark("rows", r.number);
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

  putRow(r, old = this.rows.get(r.number)) {
    r._ticking = this.derive(r, this.nowS());
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

  /** A row patch: merged onto our copy when it is the next version, else the copy is repaired. */
  patchRow(p) {
    const old = this.rows.get(p.number);
    if (p.v === 1) this.putRow(p, old); // a row new to the stream comes whole
    else if (!old || old.v !== p.v - 1) return false;
    else this.putRow(Object.assign({}, old, p), old);
    return true;
  }

  delta(m) {
    this.stats.deltas++;
    if (m.session) this.setSession(m.session);
    for (const r of m.rows || []) {
      if (this.patchRow(r) === false) {
        this.stats.repairs++;
        this.feed.resync();
        return;
      }
    }
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
