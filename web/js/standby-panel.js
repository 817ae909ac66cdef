// Admin page: the hot standby (docs/standby.md). On a standby: what it holds, how far behind it is,
// what promotion does, and the button that makes it the primary. On a primary: its standby.
import { api } from "./auth.js";
import { t } from "./i18n.js";
import { toast } from "./staff.js";
import { el } from "./util.js";

const ms = (v) => (v == null ? "–" : Math.round(v));
let busy = false; // a promotion is under way: the panel is not repainted under it

function standbyView(st, refresh) {
  const f = st.follow || {};
  const held = st.held || { reads: 0 };
  const unshared = Object.values(held.unshared || {}).flat();
  const link = f.connected
    ? t("standby.link_up", { n: f.lines_behind, seconds: (f.seconds_behind || 0).toFixed(1), p50: ms(f.delay_ms?.p50), p99: ms(f.delay_ms?.p99) })
    : t("standby.link_down", { seconds: Math.round(f.seconds_behind || 0), error: f.error_code ? t(`standby.error.${f.error_code}`) : "–" });
  const button = el("button", { type: "button", class: "danger", id: "promote" }, t("standby.promote"));
  button.addEventListener("click", async () => {
    if (!confirm(`${t("standby.confirm")}\n\n${t("standby.warn")}`)) return;
    button.disabled = true;
    busy = true;
    try {
      const done = await api("api/promote", { method: "POST", body: {} });
      const logged = done.sessions.reduce((a, s) => a + s.logged, 0);
      toast(t("standby.promoted", { epoch: done.epoch, n: logged }));
    } catch (e) {
      toast(e.detail || e.message, true);
    } finally {
      busy = false;
      refresh();
    }
  });
  return [
    el("p", {}, t("standby.role_standby", { primary: st.primary, epoch: st.epoch })),
    st.stepped_down ? el("p", { class: "muted" }, t("standby.stepped_down_note", { epoch: st.stepped_down.epoch })) : null,
    el("p", { class: f.connected ? "" : "error", id: "standby-link" }, link),
    el("p", { id: "standby-held" }, t("standby.held", { n: held.reads })),
    unshared.length ? el("p", { class: "muted" }, t("standby.unshared", { links: unshared.join(", ") })) : null,
    el("p", {}, t("standby.what")),
    el("p", { class: "error" }, t("standby.warn")),
    button,
  ];
}

function primaryView(st) {
  const rows = (st.followers || []).map((f) => el("li", {}, f.connected
    ? t("standby.follower_up", { url: f.url || f.node, n: f.lines_behind ?? 0, seconds: (f.seconds_behind || 0).toFixed(1) })
    : t("standby.follower_down", { url: f.url || f.node, seconds: Math.round(f.seconds_since) })));
  return [
    el("p", {}, t("standby.role_primary", { epoch: st.epoch })),
    rows.length ? el("ul", { id: "standby-followers" }, rows) : el("p", { class: "muted" }, t("standby.no_follower")),
  ];
}

/** The panel, at the top of `main`, painted again every 3 s. */
export function mountStandbyPanel(main) {
  const box = el("section", { class: "card wide standby-panel", id: "standby-panel" });
  main.prepend(box);
  const refresh = async () => {
    if (busy) return;
    let st;
    try { st = await api("api/standby"); } catch { return; }
    const body = st.role === "standby" ? standbyView(st, refresh) : primaryView(st);
    box.dataset.role = st.role;
    box.replaceChildren(el("h2", {}, t("standby.title")), ...body.filter(Boolean));
  };
  refresh();
  setInterval(refresh, 3000);
}
