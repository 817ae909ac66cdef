// The organiser's meeting form (admin page and meeting page): format, name, date, place,
// organiser, logo, and the format's own fields (auto-cross division; karting category and
// track). Editing: the format's fields are locked once a session of the meeting has opened
// (the server says so too). Sessions added by hand use sessionDialog().
import { api } from "./auth.js";
import { formDialog } from "./dialog.js";
import { label, t } from "./i18n.js";
import { el } from "./util.js";

const FORMAT_FIELDS = { autocross: ["division"], "ffsa-karting": ["category", "track_length_m", "track_capacity"], free: ["division"] };
const ALL_FORMAT_FIELDS = ["division", "category", "track_length_m", "track_capacity"];

/** Send the logo chosen in the form (or remove it); the meeting's summary after. */
async function saveLogo(mid, file, drop) {
  if (file) return api(`api/meetings/${encodeURIComponent(mid)}/logo`, { method: "PUT", body: file, contentType: file.type || "application/octet-stream" });
  if (drop) return api(`api/meetings/${encodeURIComponent(mid)}/logo`, { method: "DELETE" });
  return null;
}

/**
 * Create (m null) or edit a meeting. Resolves with the meeting's summary, or null when cancelled.
 * `locked`: the meeting has started (its format's fields are fixed).
 */
export async function meetingDialog(m = null, { locked = false } = {}) {
  let formats = [];
  try {
    formats = await api("api/meetings/formats");
  } catch { /* the form still works with the three formats */ }
  const divisions = (formats.find((f) => f.preset === "autocross") || {}).divisions || [];
  const preset = m ? m.preset : "autocross";
  const setup = (m && m.setup) || {};
  const fields = [
    { name: "preset", label: t("mf.format"), type: "select", value: preset,
      options: ["autocross", "ffsa-karting", "free"].map((p) => [p, t(`mf.format_${p.replace("-", "_")}`)]),
      attrs: m ? { disabled: "" } : {} },
    { name: "name", label: t("common.name"), value: m ? m.name : "", required: true },
    { name: "date", label: t("mf.date"), type: "date", value: m ? m.date : "" },
    { name: "place", label: t("mf.place"), value: m ? m.place : "" },
    { name: "organiser", label: t("mf.organiser"), value: m ? m.organiser : "" },
    { name: "division", label: t("mf.division"), value: m ? m.division : "", list: divisions },
    { name: "category", label: t("mf.category"), value: m ? m.division : "" },
    { name: "track_length_m", label: t("mf.track_length"), type: "number", value: setup.track_length_m ?? "", attrs: { min: "1", step: "1" } },
    { name: "track_capacity", label: t("mf.track_capacity"), type: "number", value: setup.track_capacity ?? "", attrs: { min: "2", step: "1" } },
    { name: "logo", label: t("mf.logo"), type: "file", attrs: { accept: "image/png,image/jpeg,image/gif,image/webp" }, hint: t("mf.logo_hint") },
  ];
  if (m && m.logo) fields.push({ name: "drop_logo", label: t("mf.drop_logo"), type: "checkbox" });
  const shape = (form) => {
    const p = form.elements.preset.value;
    for (const f of ALL_FORMAT_FIELDS) {
      const node = form.querySelector(`[data-field="${f}"]`);
      node.hidden = !FORMAT_FIELDS[p].includes(f);
      form.elements[f].disabled = node.hidden || locked;
    }
    form.elements.track_length_m.required = form.elements.track_capacity.required = p === "ffsa-karting" && !locked;
  };
  return formDialog({
    title: m ? t("mf.edit_title", { name: m.name || m.id }) : t("mf.new_title"),
    fields,
    body: locked ? [note(t("mf.locked"))] : [],
    submitLabel: m ? t("common.save") : t("mf.create"),
    submit: async (v) => {
      const body = { name: v.name, date: v.date, place: v.place, organiser: v.organiser };
      if (!locked) {
        for (const f of FORMAT_FIELDS[v.preset || preset]) if (v[f] !== undefined && v[f] !== "") body[f] = f.startsWith("track_") ? Number(v[f]) : v[f];
      }
      let saved;
      if (m) saved = await api(`api/meetings/${encodeURIComponent(m.id)}`, { method: "PATCH", body });
      else saved = await api("api/meetings", { method: "POST", body: { ...body, preset: v.preset } });
      return (await saveLogo(saved.id, v.logo, v.drop_logo)) || saved;
    },
    onOpen: (form) => {
      form.elements.preset.addEventListener("change", () => shape(form));
      shape(form);
    },
  });
}

const note = (text) => el("p", { class: "muted" }, text);

let presets = null;
/** The session presets the service has (cached for the page). */
export async function sessionPresets() {
  if (!presets) presets = await api("api/presets").catch(() => []);
  return presets;
}

const KINDS = ["race", "qualifying", "practice", "heat", "semi", "final"];

/**
 * Add (s null) or edit a session: name; preset, kind, duration (minutes) and laps while it has not
 * run. `save(body)` sends it (to the meeting's or the service's route). Resolves like formDialog.
 */
export async function sessionDialog(s, save, { remove = null } = {}) {
  const list = await sessionPresets();
  const line = s || {};
  const ran = !!(s && s.has_run);
  const lockAttrs = ran ? { disabled: "" } : {};
  return formDialog({
    title: s ? t("sf.edit_title", { name: s.name }) : t("sf.new_title"),
    fields: [
      { name: "name", label: t("common.name"), value: line.name || "", required: true },
      { name: "preset", label: t("tc.preset"), type: "select", value: line.preset || "generic-timed", attrs: lockAttrs,
        options: list.map((p) => [p.name, p.description ? `${p.name} · ${p.description}` : p.name]) },
      { name: "kind", label: t("tc.kind"), type: "select", value: line.kind || "race", attrs: lockAttrs, options: KINDS.map((k) => [k, label("kind.", k)]) },
      { name: "duration_min", label: t("sf.duration_min"), type: "number", value: line.duration_s ? line.duration_s / 60 : "",
        attrs: { min: "1", step: "any", ...lockAttrs }, hint: t("sf.empty_preset") },
      { name: "laps", label: t("tc.laps"), type: "number", value: line.laps || "", attrs: { min: "1", step: "1", ...lockAttrs }, hint: t("sf.empty_preset") },
    ],
    body: ran ? [note(t("sf.ran"))] : [],
    submitLabel: s ? t("common.save") : t("sf.create"),
    danger: remove && !ran ? { label: t("sf.delete"), confirm: t("sf.confirm_delete", { name: s.name }), run: remove } : null,
    submit: (v) => {
      const body = { name: v.name };
      if (!ran) {
        Object.assign(body, { preset: v.preset, kind: v.kind });
        body.duration_s = v.duration_min ? Math.round(Number(v.duration_min) * 60) : null;
        body.laps = v.laps ? Number(v.laps) : null;
        if (!s) for (const k of ["duration_s", "laps"]) if (body[k] === null) delete body[k];
      }
      return save(body);
    },
  });
}
