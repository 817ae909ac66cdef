// Session header shared by the pages: name, preset, clock, flag banner, connection banner.
import { label, lang, sessionName, t } from "./i18n.js";
import { clockText, el, flagLabel } from "./util.js";

export function mountHeader(store, node, flagNode) {
  const name = el("h1", { class: "s-name", id: "session-name" }, "…");
  const meta = el("span", { class: "s-meta", id: "session-meta" });
  const clock = el("span", { class: "s-clock", id: "race-clock", role: "timer", "aria-live": "off" }, "--:--");
  const flag = flagNode;
  flag.className = "flag flag-none";
  flag.setAttribute("role", "status");
  flag.setAttribute("aria-live", "polite");
  const flagText = el("span", { class: "flag-text" }, flagLabel("none"));
  flag.replaceChildren(flagText);
  node.replaceChildren(el("div", { class: "s-title" }, name, meta), clock);

  let lastFlag = null;
  const tick = () => {
    if (!store.session) return;
    const text = clockText(store.session, store.elapsed());
    if (clock.textContent !== text) clock.textContent = text;
  };
  const paint = () => {
    const s = store.session;
    if (!s) return;
    tick();
    name.textContent = sessionName(s);
    const kind = s.kind ? ` · ${label("kind.", s.kind)}` : "";
    meta.textContent = `${s.preset || ""}${kind}${s.closed ? ` · ${t("header.closed")}` : ""}`;
    const f = s.closed && s.flag !== "chequered" ? "closed" : s.flag || "none";
    if (f !== lastFlag) {
      lastFlag = f;
      flag.className = `flag flag-${f}`;
      flagText.textContent = flagLabel(f);
      flag.dataset.flag = f;
    }
    document.title = `${sessionName(s) || "Boucle"} · ${t(document.body.dataset.i18nPage || "page.live")}`;
  };
  store.onChange((p) => { if (p.session || p.full) paint(); });
  // The clock runs locally between headers (counted from when the header arrived).
  setInterval(tick, 250);
  return { paint };
}

/**
 * The banner every live page shows when its board may be behind: the feed cannot reconnect
 * ("lost"), or it is connected but hears nothing, not even the broker's heartbeat ("stale").
 * With `info.freshAt` (when the board was last known current) it says since when.
 */
export function connectionBanner(node) {
  return (state, info) => {
    const behind = state === "lost" || state === "stale";
    const since = behind && info && info.freshAt
      ? new Date(info.freshAt).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false })
      : null;
    node.hidden = !behind;
    node.textContent = !behind ? "" : since
      ? t(state === "lost" ? "conn.lost_since" : "conn.delayed_since", { time: since })
      : t("conn.lost");
    document.body.dataset.conn = state;
  };
}

/**
 * Every page's header says which machine this is when a hot standby is set up (docs/standby.md):
 * the primary (and how far behind its standby is) or the standby (and how far behind it is);
 * nothing on a primary without a standby. From GET api/standby, every 3 s.
 */
export function mountNodeBadge() {
  const bar = document.querySelector("header.topbar");
  if (!bar || bar.querySelector(".node-badge")) return;
  const badge = el("span", { class: "node-badge", id: "node-badge", role: "status", hidden: true });
  bar.append(badge);
  const behind = (lines, seconds) => (lines ? t("node.behind", { n: lines, seconds: seconds.toFixed(1) }) : t("node.up_to_date"));
  const paint = (st) => {
    let text = "", title = "", kind = "";
    if (st.role === "standby") {
      const f = st.follow || {};
      kind = f.connected ? "standby" : "alert";
      text = `${t(st.stepped_down ? "node.stepped_down" : "node.standby")} · ${f.connected ? behind(f.lines_behind, f.seconds_behind) : t("node.primary_lost", { seconds: Math.round(f.seconds_behind || 0) })}`;
      title = t("node.title_standby");
    } else if ((st.followers || []).length) {
      const f = st.followers.find((x) => x.connected) || st.followers[0];
      kind = f.connected ? "primary" : "warn";
      text = `${t("node.primary")} · ${f.connected ? behind(f.lines_behind || 0, f.seconds_behind || 0) : t("node.standby_lost", { seconds: Math.round(f.seconds_since) })}`;
      title = t("node.title_primary", { epoch: st.epoch });
    }
    badge.hidden = !text;
    badge.textContent = text;
    badge.title = title;
    badge.className = `node-badge node-${kind}`;
    badge.dataset.role = st.role;
  };
  const poll = () => fetch("api/standby").then((r) => (r.ok ? r.json() : null)).then((st) => st && paint(st)).catch(() => {});
  poll();
  setInterval(poll, 3000);
}

mountNodeBadge();
