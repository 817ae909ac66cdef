// Shared by the race-control and timing-crew pages: log-in gate, header, live store, toasts.
import { api, requireRole, whoBadge } from "./auth.js";
import { connectionBanner, mountHeader } from "./header.js";
import { t } from "./i18n.js";
import { mountPicker } from "./picker.js";
import { SessionStore } from "./store.js";
import { el, pageLink, params, pickSession } from "./util.js";

const $ = (id) => document.getElementById(id);

/**
 * Log-in gate then live store on the `live` stream. Resolves with {who, sid, store, call} or
 * null when the visitor is not allowed (the log-in form is shown instead).
 */
export async function startStaffPage(roles, pageName) {
  const main = $("main");
  const who = await requireRole(roles, main);
  $("who").replaceChildren(whoBadge(who || { role: "spectator" }, pageName));
  if (!who) return null;
  // a session token: its session; a meeting token: the live session of its meeting
  const sid = who.session && !params.get("session") ? who.session : await pickSession(params.get("meeting") || who.meeting);
  mountPicker($("picker"), sid);
  if (!sid) {
    main.replaceChildren(el("p", { class: "empty" }, t("staff.no_session")));
    return null;
  }
  for (const a of document.querySelectorAll("a[data-page]")) a.href = pageLink(a.dataset.page, sid);
  const store = new SessionStore(sid, "live");
  store.onState(connectionBanner($("conn-banner")));
  mountHeader(store, $("session-header"), $("flag"));
  window.boucle = { store };
  const base = `api/sessions/${encodeURIComponent(sid)}`;
  /** POST/DELETE to the session's API with a toast for the outcome; returns the answer or null. */
  const call = async (path, body, { method = "POST", ok, contentType } = {}) => {
    try {
      const res = await api(`${base}/${path}`, { method, body, contentType });
      if (ok) toast(ok);
      return res ?? {};
    } catch (e) {
      toast(e.detail || e.message, true);
      return null;
    }
  };
  return { who, sid, store, call, base };
}

let toastTimer = null;
export function toast(text, bad = false) {
  let t = document.querySelector(".toast");
  if (!t) {
    t = el("div", { class: "toast", role: "status", "aria-live": "polite" });
    document.body.append(t);
  }
  t.textContent = text;
  t.classList.toggle("bad", bad);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, bad ? 6000 : 2500);
}

/** Keep a <select> of cars in sync with the rows (value = number). */
export function carOptions(select, store, { blank = t("staff.car_blank") } = {}) {
  const cur = select.value;
  const rows = [...store.rows.values()].sort((a, b) => {
    const x = Number(a.number), y = Number(b.number);
    return isNaN(x) || isNaN(y) ? String(a.number).localeCompare(b.number) : x - y;
  });
  const key = rows.map((r) => `${r.number}:${r.name}`).join("|");
  if (select.dataset.key === key) return;
  select.dataset.key = key;
  select.replaceChildren(el("option", { value: "" }, blank),
    ...rows.map((r) => el("option", { value: r.number }, `#${r.number} ${r.name || ""}`)));
  select.value = cur;
}

export function formData(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) out[k] = typeof v === "string" ? v.trim() : v;
  return out;
}
