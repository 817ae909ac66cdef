// Token handling: kept in sessionStorage (gone when the tab closes, never in a URL or cookie)
// and sent as `Authorization: Bearer` on REST calls; a WebSocket (which cannot send headers)
// offers it as a subprotocol, `boucle.bearer.<base64url>` (the server answers `boucle`).
import { lang, t } from "./i18n.js";
import { el } from "./util.js";

const KEY = "boucle.token";

// A staff link from a QR code carries its token in the fragment (#token=...), which is never sent
// to the server: keep it for this tab and take it out of the address bar at once.
if (location.hash.startsWith("#token=")) {
  sessionStorage.setItem(KEY, decodeURIComponent(location.hash.slice(7)).trim());
  history.replaceState(null, "", location.pathname + location.search);
}

export const getToken = () => sessionStorage.getItem(KEY) || "";

/** The subprotocols a staff WebSocket offers: the token rides in the handshake, never in the URL. */
export function wsProtocols() {
  const token = getToken();
  if (!token) return [];
  const bytes = new TextEncoder().encode(token);
  const b64 = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return ["boucle", `boucle.bearer.${b64}`];
}
export const setToken = (t) => sessionStorage.setItem(KEY, t.trim());
export const clearToken = () => sessionStorage.removeItem(KEY);

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

/** fetch() with the token; JSON in and out; throws ApiError with the server's `detail` (written in
 *  the page's language: the server renders its refusals after Accept-Language). */
export async function api(path, { method = "GET", body, raw = false, contentType } = {}) {
  const headers = { "Accept-Language": lang };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    if (typeof body === "string" || body instanceof Blob) { // text, or a file as it is (an entry list, a logo)
      payload = body;
      headers["Content-Type"] = contentType || body.type || "text/plain";
    } else {
      payload = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
  }
  const res = await fetch(path.replace(/^\//, ""), { method, headers, body: payload });
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const j = await res.json();
      detail = typeof j.detail === "string" ? j.detail : JSON.stringify(j.detail ?? j);
    } catch { /* not JSON */ }
    throw new ApiError(res.status, detail);
  }
  if (raw) return res;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/**
 * `refresh()` that GETs `path` at most once per `ms` however often it is called (a burst of
 * changes costs one request) and hands the answer to `use`; a failed request is skipped, the
 * next call asks again.
 */
export function coalescedGet(path, ms, use) {
  let timer = null;
  return () => {
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      let data;
      try {
        data = await api(path);
      } catch {
        return;
      }
      use(data);
    }, ms);
  };
}

export async function whoami(query = "") {
  try {
    return await api(`api/whoami${query}`);
  } catch (e) {
    // A stale or wrong token answers 401: drop it and carry on as a spectator.
    if (e.status === 401) {
      clearToken();
      return { role: "spectator", session: null };
    }
    throw e;
  }
}

const roleLabel = (r) => t(`role.${r}`);

/** Header badge: who is logged in, with a log-out button (or a staff log-in link). */
export function whoBadge(who, nextPage) {
  const role = who.role || "spectator";
  const shown = who.meeting_role ? `meeting.${who.meeting_role}` : `role.${role}`;
  const badge = el("span", { class: `who who-${role}`, "data-role": role, title: t("auth.who_title") }, t(shown));
  if (role === "spectator") {
    const href = `login.html${nextPage ? `?next=${encodeURIComponent(nextPage)}` : ""}`;
    return el("span", { class: "who-box" }, badge, el("a", { href, class: "staff-login" }, t("auth.staff_login")));
  }
  const out = el("button", {
    type: "button", class: "linkish", onclick: () => { clearToken(); location.reload(); },
  }, t("auth.logout"));
  return el("span", { class: "who-box" }, badge, out);
}

/**
 * Gate a staff page: resolves with whoami when the role is allowed; otherwise replaces `main`
 * with an inline log-in form, so nothing of the staff UI is shown or fetched.
 */
export async function requireRole(roles, main, query = "") {
  const who = await whoami(query);
  if (roles.includes(who.role)) return who;
  main.replaceChildren(loginForm(roles, who));
  return null;
}

export function loginForm(roles, who) {
  const msg = el("p", { class: "error", role: "alert" });
  const input = el("input", {
    id: "token", name: "token", type: "password", autocomplete: "current-password", required: true,
    placeholder: t("auth.token_placeholder"),
  });
  const others = roles.filter((r) => r !== "admin").map(roleLabel).join(" / ");
  const form = el("form", { class: "card login", id: "login-form" },
    el("h2", {}, t("login.heading")),
    el("p", {}, t("auth.page_for", { roles: others }), " ",
      who && who.role !== "spectator" ? t("auth.wrong_role", { role: roleLabel(who.role) }) + " " : "",
      t("auth.spectators_go"), " ", el("a", { href: "./" }, t("page.live")), "."),
    el("label", { for: "token" }, t("login.token")), input,
    el("button", { type: "submit", class: "primary" }, t("login.submit")), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setToken(input.value);
    const w = await whoami();
    if (roles.includes(w.role)) location.reload();
    else {
      msg.textContent = w.role === "spectator" ? t("auth.refused") : t("auth.token_is_for", { role: roleLabel(w.role) });
      if (w.role === "spectator") clearToken();
    }
  });
  return form;
}
