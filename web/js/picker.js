// Session picker on every page: sessions grouped by meeting, live first, then upcoming, then
// finished. Choosing one opens the same page on it (?session=ID); "follow" (no ?session) lets the
// page pick the live session of the track or of ?meeting=ID by itself.
import { label, sessionName, stageLabel, t } from "./i18n.js";
import { STATE_RANK, chooseSession, el, listSessions, params } from "./util.js";

const MARK = { live: "●", upcoming: "○", finished: "✓" };

/** Options of the picker, grouped by meeting (sessions outside a meeting last). */
export function groupSessions(list) {
  const groups = new Map();
  for (const s of list) {
    const key = s.meeting ? s.meeting.id : "";
    if (!groups.has(key)) groups.set(key, { name: s.meeting ? s.meeting.name : t("picker.other"), sessions: [] });
    groups.get(key).sessions.push(s);
  }
  for (const g of groups.values()) g.sessions.sort((a, b) => (STATE_RANK[a.state] ?? 3) - (STATE_RANK[b.state] ?? 3) || String(b.id).localeCompare(String(a.id)));
  return [...groups.entries()].sort(([a], [b]) => (a === "" ? 1 : b === "" ? -1 : b.localeCompare(a)));
}

/** Mount the picker in `node`; `current` is the session the page shows. */
export async function mountPicker(node, current) {
  if (!node) return;
  let list;
  try {
    list = await listSessions();
  } catch {
    return;
  }
  const following = !params.get("session");
  const sel = el("select", { id: "session-picker", "aria-label": t("picker.label"), title: t("picker.label") });
  sel.append(el("option", { value: "" }, following && current ? t("picker.follow_on", { name: nameOf(list, current) }) : t("picker.follow")));
  for (const [, g] of groupSessions(list)) {
    const og = el("optgroup", { label: g.name });
    for (const s of g.sessions) {
      og.append(el("option", { value: s.id, "data-state": s.state },
        `${MARK[s.state] || ""} ${s.meeting && s.meeting.key ? stageLabel(s.meeting.key) : s.name || s.id} · ${label("kind.", s.kind)} · ${t(`picker.${s.state}`)}`));
    }
    sel.append(og);
  }
  sel.value = following ? "" : current || "";
  sel.addEventListener("change", () => {
    const u = new URL(location.href);
    if (sel.value) u.searchParams.set("session", sel.value);
    else u.searchParams.delete("session");
    location.assign(u);
  });
  node.replaceChildren(sel);
}

function nameOf(list, id) {
  const s = list.find((x) => x.id === id);
  return s ? sessionName(s) : "…";
}

/**
 * A page without ?session follows the track (or ?meeting=ID): every `everyMs`, when the session
 * the page chose is no longer the one chooseSession() picks, reload on the new one.
 */
export function followSessions(current, everyMs = 10000) {
  if (params.get("session")) return null;
  const check = async () => {
    try {
      const next = chooseSession(await listSessions(), params.get("meeting"));
      if (next && next !== current) location.reload();
    } catch { /* offline for a moment: try again next time */ }
  };
  setInterval(check, everyMs);
  return check;
}
