// The spectator stream read straight from an MQTT broker's WebSocket listener (service/broadcast.py):
// the retained snapshot at PREFIX/sessions/<id>/snapshot, then deltas at .../delta, the same JSON and
// `seq` as the service's WebSocket. The same interface as LiveFeed (live.js), so the store does not
// care where messages come from. A gap (or a row patch that does not follow) waits for a snapshot:
// the retained one is asked again at once, and the service refreshes it every few seconds anyway.
// If the broker cannot be reached (or the client library not loaded), `onFallback` is called and the
// store goes back to the service's own WebSocket.
// The client library is MQTT.js, vendored as one file (web/vendor/mqtt.min.js, see its README).

const LIB = new URL("../vendor/mqtt.min.js", import.meta.url).href;
const FIRST_SNAPSHOT_MS = 5000; // no snapshot by then: the broker is not usable from here
const LOST_AFTER_MS = 2500; // as live.js: short blips do not flash the banner
const FALLBACK_AFTER_MS = 15000; // broker gone that long: back to the service's WebSocket

let loading = null;

function loadLibrary() {
  if (window.mqtt) return Promise.resolve(window.mqtt);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = LIB;
      s.onload = () => (window.mqtt ? resolve(window.mqtt) : reject(new Error("mqtt.min.js loaded no `mqtt`")));
      s.onerror = () => reject(new Error(`cannot load ${LIB}`));
      document.head.append(s);
    });
  }
  return loading;
}

export class MqttFeed {
  /**
   * @param {object} o  as LiveFeed, plus:
   * @param {{url: string, prefix: string}} o.broker
   * @param {() => void} o.onFallback
   */
  constructor(o) {
    Object.assign(this, o);
    this.kind = "mqtt";
    this.seq = null;
    this.awaiting = false;
    this.gaps = 0;
    this.client = null;
    this.stopped = false;
    this.state = "connecting";
    const base = `${o.broker.prefix ? `${o.broker.prefix}/` : ""}sessions/${o.sessionId}`;
    this.topics = { snapshot: `${base}/snapshot`, delta: `${base}/delta` };
  }

  start() {
    this.stopped = false;
    this.firstTimer = setTimeout(() => this.fallback("no snapshot from the broker"), FIRST_SNAPSHOT_MS);
    loadLibrary().then((mqtt) => this.connect(mqtt), (e) => this.fallback(e.message));
    return this;
  }

  connect(mqtt) {
    if (this.stopped) return;
    const c = mqtt.connect(this.broker.url, { reconnectPeriod: 1000, connectTimeout: 4000, clean: true });
    this.client = c;
    c.on("connect", () => {
      c.subscribe([this.topics.delta, this.topics.snapshot], { qos: 0 });
    });
    c.on("message", (topic, payload) => this.receive(topic, payload));
    c.on("offline", () => this.down());
    c.on("close", () => this.down());
    c.on("error", () => {}); // followed by close; reconnects by itself
  }

  down() {
    if (this.stopped || this.lostTimer) return;
    if (this.state === "open") this.setState("connecting");
    this.lostTimer = setTimeout(() => this.setState("lost"), LOST_AFTER_MS);
    this.fallbackTimer = setTimeout(() => this.fallback("broker lost"), FALLBACK_AFTER_MS);
  }

  fallback(why) {
    if (this.stopped) return;
    console.warn(`MQTT feed: ${why}; using the service's WebSocket`);
    this.stop();
    if (this.onFallback) this.onFallback(why);
  }

  stop() {
    this.stopped = true;
    for (const t of [this.firstTimer, this.lostTimer, this.fallbackTimer]) clearTimeout(t);
    if (this.client) this.client.end(true);
    this.client = null;
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    if (this.onState) this.onState(s);
  }

  /** Ask for the retained snapshot again: resubscribing makes the broker resend it. */
  resync() {
    if (this.awaiting) return;
    this.awaiting = true;
    this.gaps += 1;
    const c = this.client;
    if (c) c.unsubscribe(this.topics.snapshot, () => c.subscribe(this.topics.snapshot, { qos: 0 }));
  }

  send() {} // nothing to ask the broker: snapshots are retained

  receive(topic, payload) {
    let msg;
    try {
      msg = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    clearTimeout(this.lostTimer);
    clearTimeout(this.fallbackTimer);
    this.lostTimer = this.fallbackTimer = null;
    if (topic === this.topics.snapshot && msg.type === "snapshot") {
      if (this.seq !== null && !this.awaiting && msg.seq <= this.seq) return; // we are ahead of it
      clearTimeout(this.firstTimer);
      this.setState("open");
      // Older than what we had (retained, refreshed within seconds): show it, and take the next one.
      this.awaiting = this.seq !== null && msg.seq < this.seq;
      this.seq = msg.seq;
      this.onSnapshot(msg);
    } else if (topic === this.topics.delta && msg.type === "delta") {
      if (this.seq === null || this.awaiting || msg.seq <= this.seq) return; // a snapshot will cover it
      if (msg.seq !== this.seq + 1) return this.resync();
      this.seq = msg.seq;
      this.setState("open");
      this.onDelta(msg);
    }
  }
}
