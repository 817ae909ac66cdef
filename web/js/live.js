// WebSocket client: snapshot then deltas with a sequence number (docs/api.md).
// - a gap in seq -> ask for a fresh snapshot;
// - a dropped socket -> reconnect with backoff and `since=<last seq>` so only missed deltas come;
// - down for more than a moment -> the "connection lost" banner, until a message arrives again.
import { wsProtocols } from "./auth.js";

const BACKOFF_MS = [250, 500, 1000, 2000, 4000, 8000];
const LOST_AFTER_MS = 2500; // short blips (a reconnect) do not flash the banner

export class LiveFeed {
  /**
   * @param {object} o
   * @param {string} o.sessionId
   * @param {"spectator"|"live"} o.stream
   * @param {(msg) => void} o.onSnapshot
   * @param {(msg) => void} o.onDelta
   * @param {(state: "open"|"connecting"|"lost") => void} [o.onState]
   */
  constructor(o) {
    Object.assign(this, o);
    this.seq = null;
    this.ws = null;
    this.attempt = 0;
    this.lostTimer = null;
    this.stopped = false;
    this.connects = 0;
    this.lastUrl = "";
    this.state = "connecting";
    this.freshAt = null; // Date.now() of the last message: the board was current then
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    // Relative to the page so the app can be mounted under a prefix.
    const base = new URL(`ws/sessions/${encodeURIComponent(this.sessionId)}`, location.href);
    const q = new URLSearchParams({ stream: this.stream });
    if (this.seq !== null) q.set("since", String(this.seq));
    return `${proto}//${base.host}${base.pathname}?${q}`;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.lostTimer);
    if (this.ws) this.ws.close();
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    if (this.onState) this.onState(s, { freshAt: this.freshAt }); // freshAt: the "delayed since" banner
  }

  connect() {
    this.lastUrl = this.url();
    this.connects += 1;
    // staff streams: the token as a subprotocol (web/js/auth.js), never in the URL
    const ws = new WebSocket(this.lastUrl, this.stream === "live" ? wsProtocols() : []);
    this.ws = ws;
    this.awaiting = false;
    if (!this.lostTimer && this.state !== "open") this.armLost();
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (this.state === "open") this.setState("connecting");
      if (!this.lostTimer) this.armLost(); // once per loss: re-armed by each failed retry, it waited for a backoff over LOST_AFTER_MS (~6 s)
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt += 1;
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
    // onerror is always followed by onclose; nothing to do there.
  }

  armLost() {
    clearTimeout(this.lostTimer);
    this.lostTimer = setTimeout(() => {
      this.lostTimer = null;
      if (this.state !== "open") this.setState("lost");
    }, LOST_AFTER_MS);
  }

  send(obj) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
  }

  /** Ask for a fresh snapshot (a gap, or a row patch that does not follow our copy). */
  resync() {
    if (this.awaiting) return;
    this.awaiting = true;
    this.gaps = (this.gaps || 0) + 1;
    this.send({ type: "snapshot" });
  }

  receive(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    this.attempt = 0;
    this.freshAt = Date.now();
    clearTimeout(this.lostTimer);
    this.lostTimer = null;
    this.setState("open");
    if (msg.type === "snapshot") {
      this.seq = msg.seq;
      this.awaiting = false;
      this.onSnapshot(msg);
    } else if (msg.type === "delta") {
      if (this.awaiting) return; // a snapshot is on its way and will include this
      if (this.seq !== null && msg.seq <= this.seq) return; // replayed after a resume: already have it
      if (this.seq === null || msg.seq !== this.seq + 1) {
        this.resync();
        return;
      }
      this.seq = msg.seq;
      this.onDelta(msg);
    } else if (msg.type === "error" && this.onError) {
      this.onError(msg);
    }
  }
}

/** The banner every live page shows when the feed cannot reconnect. */
export function connectionBanner(node) {
  return (state) => {
    node.hidden = state !== "lost";
    node.textContent = state === "lost" ? "Connection lost - reconnecting..." : "";
    document.body.dataset.conn = state;
  };
}
