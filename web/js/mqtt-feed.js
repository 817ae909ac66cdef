// The spectator stream read straight from MQTT brokers' WebSocket listeners (service/broadcast.py):
// deltas at PREFIX/sessions/<id>/delta, the retained snapshot at .../snapshot, a heartbeat at
// PREFIX/heartbeat; the same JSON and `seq` as the service's WebSocket. The same interface as
// LiveFeed (live.js), so the store does not care where messages come from.
// - Several brokers (the nodes of a cluster, /api/config `urls`): one is picked at random (spreading
//   the audience), and when it drops the next one is tried at once, round the list.
// - The snapshot topic is subscribed only while a snapshot is needed (start, a gap, a row patch that
//   does not follow): the broker sends the retained one; deltas that arrive meanwhile are kept and
//   applied after it. Once the board is whole again the subscription is dropped, so the broker does
//   not send every periodic snapshot refresh to every page.
// - The heartbeat says the feed is alive, the seq the broker has and the publisher's epoch. A page
//   that is behind resyncs; a new epoch (a restarted service counts seq from 0 again) means "take
//   the new snapshot, whatever its seq"; a page that hears nothing for STALE_AFTER_MS says so
//   ("delayed since 14:32:05") instead of silently freezing: onState gets "stale" (or "lost") with
//   `freshAt`, the last time the board was known current.
// - No broker usable (none answers with a snapshot, or all lost for FALLBACK_AFTER_MS): `onFallback`
//   and the store goes back to the service's own WebSocket.
// The client library is MQTT.js, vendored as one file (web/vendor/mqtt.min.js, see its README).

const LIB = new URL("../vendor/mqtt.min.js", import.meta.url).href;
const FIRST_SNAPSHOT_MS = 5000; // a node that gives no snapshot by then: the next one
const CONNECT_TIMEOUT_MS = 4000;
const LOST_AFTER_MS = 2500; // as live.js: short blips (a failover) do not flash the banner
const STALE_AFTER_MS = 6500; // heartbeats come every 2 s: three missed and the board is delayed
// No broker that long, after they served this page: back to the service's WebSocket. Long: when a
// NATS node dies, new MQTT connections wait until JetStream has new stream leaders (seconds, 10 or
// more under load), and a whole audience falling back at once would land on the service.
const FALLBACK_AFTER_MS = 60000;
const RETRY_ROUND_MS = 1000; // pause after every node of the list failed once
const BUFFER_MAX = 500; // deltas kept while a snapshot is awaited

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
   * @param {{urls: string[], prefix: string}} o.broker
   * @param {() => void} o.onFallback
   */
  constructor(o) {
    Object.assign(this, o);
    this.kind = "mqtt";
    this.urls = o.broker.urls || (o.broker.url ? [o.broker.url] : []);
    this.node = Math.floor(Math.random() * this.urls.length); // spread the audience over the nodes
    this.url = null; // the node we read from now
    this.seq = null;
    this.awaiting = true; // a snapshot is needed (and its topic subscribed)
    this.buffer = [];
    this.gaps = 0;
    this.failovers = 0;
    this.client = null;
    this.stopped = false;
    this.state = "connecting";
    this.freshAt = null; // Date.now() when the board was last known current
    this.everOpen = false;
    const p = o.broker.prefix ? `${o.broker.prefix}/` : "";
    const base = `${p}sessions/${o.sessionId}`;
    this.topics = { snapshot: `${base}/snapshot`, delta: `${base}/delta`, heartbeat: `${p}heartbeat` };
  }

  start() {
    this.stopped = false;
    loadLibrary().then((mqtt) => {
      this.lib = mqtt;
      this.connect();
    }, (e) => this.fallback(e.message));
    this.watch = setInterval(() => this.check(), 1000);
    return this;
  }

  connect() {
    if (this.stopped) return;
    const url = this.urls[this.node % this.urls.length];
    this.url = url;
    const c = this.lib.connect(url, { reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS, clean: true });
    this.client = c;
    if (this.seq === null) this.snapTimer = setTimeout(() => this.drop(c, "no snapshot"), FIRST_SNAPSHOT_MS);
    c.on("connect", () => {
      this.downSince = null; // a broker again: "delayed since" (no heartbeat), not "lost", if the feed is quiet
      if (this.seq !== null) this.setState(Date.now() - this.freshAt > STALE_AFTER_MS ? "stale" : "open");
      const topics = [this.topics.delta, this.topics.heartbeat];
      if (this.awaiting) topics.push(this.topics.snapshot);
      c.subscribe(topics, { qos: 0 });
    });
    c.on("message", (topic, payload) => { if (this.client === c) this.receive(topic, payload); });
    c.on("close", () => this.drop(c, "closed"));
    c.on("error", () => {}); // followed by close
  }

  /** This node is gone (or useless): the next one, at once unless the whole list just failed. */
  drop(c, why) {
    if (this.stopped || this.client !== c) return;
    clearTimeout(this.snapTimer);
    this.client = null;
    c.end(true);
    this.failovers += 1;
    if (this.state === "open" || this.state === "stale") this.setState("connecting");
    if (!this.downSince) this.downSince = Date.now();
    if (!this.everOpen && this.failovers >= this.urls.length) return this.fallback(`no broker answered (${why})`);
    this.node += 1;
    const round = this.node % this.urls.length === 0;
    this.retryTimer = setTimeout(() => this.connect(), round ? RETRY_ROUND_MS : 0);
  }

  /** Every second: the banner after a while without a node or without news; the fallback much later. */
  check() {
    const now = Date.now();
    if (this.downSince && now - this.downSince > FALLBACK_AFTER_MS) return this.fallback("brokers lost");
    if (this.downSince && now - this.downSince > LOST_AFTER_MS) this.setState("lost");
    else if (this.state === "open" && this.freshAt && now - this.freshAt > STALE_AFTER_MS) this.setState("stale");
  }

  fallback(why) {
    if (this.stopped) return;
    console.warn(`MQTT feed: ${why}; using the service's WebSocket`);
    this.stop();
    if (this.onFallback) this.onFallback(why);
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.snapTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.watch);
    if (this.client) this.client.end(true);
    this.client = null;
  }

  setState(s) {
    if (s === this.state) return;
    this.state = s;
    if (this.onState) this.onState(s, { freshAt: this.freshAt });
  }

  fresh() {
    this.freshAt = Date.now();
    this.downSince = null;
    this.setState("open");
  }

  /** A gap or a broken row: take the retained snapshot (subscribing makes the broker send it). */
  resync() {
    this.gaps += 1;
    this.await();
  }

  await() {
    if (this.awaiting) return;
    this.awaiting = true;
    if (this.client) this.client.subscribe(this.topics.snapshot, { qos: 0 });
  }

  send() {} // nothing to ask the broker: snapshots are retained

  receive(topic, payload) {
    let msg;
    try {
      msg = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return;
    }
    if (topic === this.topics.snapshot && msg.type === "snapshot") this.snapshot(msg);
    else if (topic === this.topics.delta && msg.type === "delta") this.delta(msg);
    else if (topic === this.topics.heartbeat && msg.type === "heartbeat") this.heartbeat(msg);
  }

  snapshot(msg) {
    if (!this.awaiting) return; // a refresh we did not ask for
    clearTimeout(this.snapTimer);
    this.everOpen = true;
    this.downSince = null;
    if (this.epoch && msg.epoch !== this.epoch) return; // left by the service before it restarted
    // Older than the board (a node's retained copy not yet refreshed): wait for the next one.
    if (this.seq !== null && msg.seq < this.seq) return;
    this.seq = msg.seq;
    this.epoch = msg.epoch; // a stale one (the page knew no epoch yet) is replaced at the first heartbeat
    this.onSnapshot(msg);
    const kept = this.buffer.filter((d) => d.seq > msg.seq).sort((a, b) => a.seq - b.seq);
    this.buffer = [];
    for (const d of kept) {
      if (d.seq !== this.seq + 1) return this.buffer.push(...kept.filter((k) => k.seq >= d.seq)); // still a hole
      this.seq = d.seq;
      this.onDelta(d);
    }
    this.awaiting = false;
    if (this.client) this.client.unsubscribe(this.topics.snapshot);
    this.fresh();
  }

  delta(msg) {
    this.newEpoch(msg.epoch);
    if (this.awaiting || this.seq === null) {
      if (this.buffer.length < BUFFER_MAX) this.buffer.push(msg);
      return;
    }
    if (msg.seq <= this.seq) return; // a duplicate (a publisher that failed over resends)
    if (msg.seq !== this.seq + 1) {
      this.buffer.push(msg);
      return this.resync();
    }
    this.seq = msg.seq;
    this.onDelta(msg);
    this.fresh();
  }

  /** Deltas and heartbeats come from the running service: another epoch, it restarted (seq from 0). */
  newEpoch(epoch) {
    if (this.epoch && epoch !== this.epoch) {
      this.seq = null;
      this.buffer = [];
      this.await();
    }
    this.epoch = epoch;
  }

  heartbeat(msg) {
    this.newEpoch(msg.epoch);
    if (this.awaiting || this.seq === null) return;
    const at = (msg.seq || {})[this.sessionId];
    // the broker has deltas we have not seen (the heartbeat follows them on the same path): the
    // last ones were lost, or the retained snapshot we started from was old
    if (at != null && at > this.seq) return this.resync();
    this.fresh();
  }
}
