// Session header shared by the three pages: name, preset, clock, flag banner.
import { FLAG_LABELS, clockText, el } from "./util.js";

export function mountHeader(store, node, flagNode) {
  const name = el("h1", { class: "s-name", id: "session-name" }, "…");
  const meta = el("span", { class: "s-meta", id: "session-meta" });
  const clock = el("span", { class: "s-clock", id: "race-clock", role: "timer", "aria-live": "off" }, "--:--");
  const flag = flagNode;
  flag.className = "flag flag-none";
  flag.setAttribute("role", "status");
  flag.setAttribute("aria-live", "polite");
  const flagText = el("span", { class: "flag-text" }, FLAG_LABELS.none);
  flag.replaceChildren(flagText);
  node.replaceChildren(el("div", { class: "s-title" }, name, meta), clock);

  let lastFlag = null;
  const tick = () => {
    if (!store.session) return;
    const t = clockText(store.session, store.elapsed());
    if (clock.textContent !== t) clock.textContent = t;
  };
  const paint = () => {
    const s = store.session;
    if (!s) return;
    tick();
    name.textContent = s.name || s.id;
    const kind = s.kind ? ` · ${s.kind}` : "";
    meta.textContent = `${s.preset || ""}${kind}${s.closed ? " · closed" : ""}`;
    const f = s.closed && s.flag !== "chequered" ? "closed" : s.flag || "none";
    if (f !== lastFlag) {
      lastFlag = f;
      flag.className = `flag flag-${f}`;
      flagText.textContent = f === "closed" ? "Session closed" : FLAG_LABELS[f] || f;
      flag.dataset.flag = f;
    }
    document.title = `${s.name || "Boucle"} · ${document.body.dataset.page || "live timing"}`;
  };
  store.onChange((p) => { if (p.session || p.full) paint(); });
  // The clock runs locally between headers (counted from when the header arrived).
  setInterval(tick, 250);
  return { paint };
}
