// Staff log-in: check the token with /api/whoami, keep it in sessionStorage, go to the role's page.
import { clearToken, setToken, whoami } from "./auth.js";
import { t } from "./i18n.js";
import { params } from "./util.js";
import "./header.js"; // the hot-standby badge (which machine this is)

const HOME = { race_control: "race-control.html", timing: "timing.html", admin: "race-control.html" };
// Only our own pages: `next` never sends the token holder off-site.
const SAFE = new Set(["race-control.html", "timing.html", "meeting.html", "admin.html", "index.html", "./"]);

document.getElementById("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const err = document.getElementById("login-error");
  setToken(document.getElementById("token").value);
  const who = await whoami().catch(() => ({ role: "spectator" }));
  if (who.role === "spectator") {
    clearToken();
    err.textContent = t("auth.refused");
    return;
  }
  const next = params.get("next");
  let page = SAFE.has(next) ? next : HOME[who.role];
  // A timing token cannot use race control (and the other way round): go to its own page.
  if ((page === "race-control.html" && who.role === "timing") || (page === "timing.html" && who.role === "race_control")) {
    page = HOME[who.role];
  }
  if (who.meeting) page = "meeting.html";
  location.href = who.session ? `${page}?session=${encodeURIComponent(who.session)}`
    : who.meeting ? `${page}?meeting=${encodeURIComponent(who.meeting)}` : page;
});
