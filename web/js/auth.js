// Token handling: kept in sessionStorage (gone when the tab closes, never in a URL or cookie)
// and sent as `Authorization: Bearer` on REST calls, `?token=` on the WebSocket.
import { el } from "./util.js";

const KEY = "boucle.token";

export const getToken = () => sessionStorage.getItem(KEY) || "";
export const setToken = (t) => sessionStorage.setItem(KEY, t.trim());
export const clearToken = () => sessionStorage.removeItem(KEY);

export class ApiError extends Error {
  constructor(status, detail) {
    super(`${status}: ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

/** fetch() with the token; JSON in and out; throws ApiError with the server's `detail`. */
export async function api(path, { method = "GET", body, raw = false, contentType } = {}) {
  const headers = {};
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload;
  if (body !== undefined) {
    if (typeof body === "string") {
      payload = body;
      headers["Content-Type"] = contentType || "text/plain";
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

export async function whoami() {
  try {
    return await api("api/whoami");
  } catch (e) {
    // A stale or wrong token answers 401: drop it and carry on as a spectator.
    if (e.status === 401) {
      clearToken();
      return { role: "spectator", session: null };
    }
    throw e;
  }
}

const ROLE_LABELS = {
  spectator: "Spectator (read-only)",
  admin: "Admin",
  race_control: "Race director",
  timing: "Timing crew",
};

/** Header badge: who is logged in, with a log-out button (or a staff log-in link). */
export function whoBadge(who, nextPage) {
  const role = who.role || "spectator";
  const badge = el("span", { class: `who who-${role}`, "data-role": role, title: "Who is using this page" },
    ROLE_LABELS[role] || role);
  if (role === "spectator") {
    const href = `login.html${nextPage ? `?next=${encodeURIComponent(nextPage)}` : ""}`;
    return el("span", { class: "who-box" }, badge, el("a", { href, class: "staff-login" }, "Staff log in"));
  }
  const out = el("button", {
    type: "button", class: "linkish", onclick: () => { clearToken(); location.reload(); },
  }, "Log out");
  return el("span", { class: "who-box" }, badge, out);
}

/**
 * Gate a staff page: resolves with whoami when the role is allowed; otherwise replaces `main`
 * with an inline log-in form, so nothing of the staff UI is shown or fetched.
 */
export async function requireRole(roles, main) {
  const who = await whoami();
  if (roles.includes(who.role)) return who;
  main.replaceChildren(loginForm(roles, who));
  return null;
}

export function loginForm(roles, who) {
  const msg = el("p", { class: "error", role: "alert" });
  const input = el("input", {
    id: "token", name: "token", type: "password", autocomplete: "current-password", required: true,
    placeholder: "paste the token for this session",
  });
  const form = el("form", { class: "card login", id: "login-form" },
    el("h2", {}, "Staff log in"),
    el("p", {}, `This page is for the ${roles.filter((r) => r !== "admin").map((r) => ROLE_LABELS[r]).join(" / ").toLowerCase()}. `,
      who && who.role !== "spectator" ? `You are logged in as ${ROLE_LABELS[who.role]}, which cannot use it. ` : "",
      "Spectators can follow the race on the ", el("a", { href: "./" }, "live timing page"), "."),
    el("label", { for: "token" }, "Access token"), input,
    el("button", { type: "submit", class: "primary" }, "Log in"), msg);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setToken(input.value);
    const w = await whoami();
    if (roles.includes(w.role)) location.reload();
    else {
      msg.textContent = w.role === "spectator" ? "That token was not accepted." : `That token is for ${ROLE_LABELS[w.role]}.`;
      if (w.role === "spectator") clearToken();
    }
  });
  return form;
}
