// Entry-list import wizard (timing page): a club's file (CSV/TSV or .xlsx) is sent to
// POST .../entries/preview, which answers the detected encoding and separator, the field of each
// column, the rows as entries and the errors by line. The crew changes a column's field, the
// encoding or the separator, or leaves bad lines out; each change asks the server again, so what
// is shown is exactly what POST .../entries will import (all or nothing). docs/api.md describes both.
import { api } from "./auth.js";
import { lang, t } from "./i18n.js";
import { toast } from "./staff.js";
import { el } from "./util.js";

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const ENCODINGS = ["utf-8", "utf-8-sig", "windows-1252", "utf-16", "iso-8859-15", "iso-8859-1", "mac-roman"];
const SEPARATORS = { ";": "semicolon", ",": "comma", tab: "tab", "|": "pipe" };
const DRIVER_SLOTS = 4; // driver columns offered in each select (more when the file numbers more)

const kg = (w) => t("imp.kg", { kg: w.toLocaleString(lang === "fr" ? "fr-FR" : "en-GB") });
const encodingName = (e) => t(`imp.enc.${e.replace(/-/g, "_")}`);

/** The field a select shows: `last_name` reads "Driver: last name", `last_name.2` "Driver 2: last name". */
function fieldLabel(field, driverFields) {
  const [name, slot] = field.split(".");
  const text = t(`imp.field.${name}`);
  if (!driverFields.includes(name)) return text;
  return slot ? t("imp.driver_field", { n: slot, field: text }) : t("imp.driver_field_1", { field: text });
}

/** Mount the wizard on `button`; `base` is the session's API path. */
export function mountImportWizard(button, { base, onImported = () => {} }) {
  let dlg = null;
  button.addEventListener("click", () => {
    dlg ??= build(base, onImported);
    dlg.open();
  });
}

function build(base, onImported) {
  const state = { file: null, mapping: {}, encoding: "", separator: "", sheet: "", skip: [], seen: null };
  const status = el("p", { class: "muted", role: "status" });
  const problem = el("p", { class: "imp-problem", role: "alert", hidden: true });
  // the browser's own file button speaks the browser's language: a label of ours opens it instead
  const input = el("input", { type: "file", id: "imp-file", class: "imp-file-input",
    accept: ".csv,.tsv,.txt,.xlsx,text/csv,text/tab-separated-values," + XLSX });
  const fileName = el("span", { class: "muted", id: "imp-file-name" }, t("imp.no_file"));
  const detected = el("div", { class: "row imp-detected" });
  const columns = el("div", { class: "scroll imp-table" });
  const rows = el("div", { class: "scroll imp-table" });
  const errors = el("ul", { class: "alerts imp-errors" });
  const notes = el("ul", { class: "imp-notes muted" });
  const skipBtn = el("button", { type: "button", id: "imp-skip", hidden: true }, t("imp.skip_errors"));
  const unskipBtn = el("button", { type: "button", class: "linkish", id: "imp-unskip", hidden: true }, t("imp.unskip"));
  const go = el("button", { type: "button", class: "primary", id: "imp-go", disabled: true }, t("imp.import_none"));
  const cancel = el("button", { type: "button", id: "imp-cancel" }, t("common.cancel"));
  const results = el("div", { class: "imp-results", hidden: true },
    el("h4", {}, t("imp.columns")), el("p", { class: "muted" }, t("imp.columns_hint")), columns,
    el("h4", { id: "imp-preview-title" }, t("imp.preview")), rows, errors, notes,
    el("div", { class: "btns" }, skipBtn, unskipBtn));
  const dialog = el("dialog", { id: "import-wizard", class: "import-wizard", "aria-labelledby": "imp-title" },
    el("h3", { id: "imp-title" }, t("imp.title")),
    el("p", {}, t("imp.file")),
    el("div", { class: "row imp-pick-row" }, input, el("label", { for: "imp-file", class: "imp-pick" }, t("imp.choose")), fileName),
    el("p", { class: "muted" }, t("imp.hint")),
    status, problem, detected, results,
    el("div", { class: "btns imp-actions" }, go, cancel));
  document.body.append(dialog);

  const query = () => {
    const q = new URLSearchParams();
    if (Object.keys(state.mapping).length) q.set("mapping", JSON.stringify(state.mapping));
    for (const k of ["encoding", "separator", "sheet"]) if (state[k]) q.set(k, state[k]);
    if (state.skip.length) q.set("skip", state.skip.join(","));
    return q.toString() ? `?${q}` : "";
  };
  const send = (path) => api(`${base}/${path}${query()}`, {
    method: "POST", body: state.file,
    contentType: /\.xlsx$/i.test(state.file.name) || state.file.type === XLSX ? XLSX : "text/csv",
  });

  async function refresh() {
    status.textContent = t("imp.reading");
    problem.hidden = true;
    go.disabled = true;
    try {
      state.seen = await send("entries/preview");
      status.textContent = "";
      show(state.seen);
    } catch (e) {
      status.textContent = "";
      problem.textContent = e.detail || e.message;
      problem.hidden = false;
      results.hidden = !state.seen; // a refused choice (a field chosen twice): the columns stay to fix it
    }
  }

  function show(seen) {
    detected.replaceChildren(...detectedControls(seen));
    columns.replaceChildren(columnTable(seen));
    rows.replaceChildren(entryTable(seen));
    errors.replaceChildren(...seen.errors.map((e) => el("li", { "data-line": e.line ?? "" }, e.detail)));
    notes.replaceChildren(...seen.notes.map((n) => el("li", { "data-line": n.line ?? "" }, n.detail)));
    const skippable = seen.errors.filter((e) => e.line && e.code !== "entries.no_number_column" && e.code !== "entries.no_rows");
    skipBtn.hidden = skippable.length === 0;
    unskipBtn.hidden = state.skip.length === 0;
    unskipBtn.textContent = t("imp.unskip", { lines: state.skip.join(", ") });
    results.hidden = false;
    go.disabled = !seen.ok || seen.count === 0;
    go.textContent = seen.ok ? t("imp.import_n", { n: seen.count }) : t("imp.errors_n", { n: seen.error_count });
  }

  function detectedControls(seen) {
    const out = [el("span", { class: "tag" }, t(`imp.fmt.${seen.format}`))];
    if (seen.format === "csv") {
      out.push(choice("imp-encoding", t("imp.encoding"), ENCODINGS.map((e) => [e, encodingName(e)]), seen.encoding, "encoding"));
      out.push(choice("imp-separator", t("imp.separator"),
        Object.entries(SEPARATORS).map(([v, k]) => [v, t(`imp.sep.${k}`)]), seen.separator, "separator"));
    }
    if (seen.sheets.length > 1) out.push(choice("imp-sheet", t("imp.sheet"), seen.sheets.map((s) => [s, s]), seen.sheet, "sheet"));
    if (seen.header_line) out.push(el("span", { class: "muted" }, t("imp.header_line", { line: seen.header_line })));
    return out;
  }

  /** A select of `options` ([value, label]) on the detected value; a choice asks the server again. */
  function choice(id, text, options, current, key) {
    const sel = el("select", { id, onchange: () => { state[key] = sel.value; refresh(); } },
      ...options.map(([v, label]) => el("option", { value: v }, label)));
    sel.value = current ?? "";
    return el("label", { for: id }, text, sel);
  }

  function fieldOptions(seen) {
    const used = Math.max(0, ...seen.columns.map((c) => Number((c.field || "").split(".")[1] || 0)));
    const slots = Math.min(seen.max_drivers, Math.max(DRIVER_SLOTS, used + 1));
    const out = [["", t("imp.ignore")]];
    const field = (f) => [f, fieldLabel(f, seen.driver_fields)];
    for (const f of seen.fields) if (!seen.driver_fields.includes(f)) out.push(field(f));
    for (let n = 1; n <= slots; n++) for (const f of seen.driver_fields) out.push(field(n === 1 ? f : `${f}.${n}`));
    return out;
  }

  function columnTable(seen) {
    const options = fieldOptions(seen);
    return el("table", { class: "plain", id: "imp-columns" },
      el("thead", {}, el("tr", {}, el("th", {}, t("imp.col_column")), el("th", {}, t("imp.col_sample")), el("th", {}, t("imp.col_field")))),
      el("tbody", {}, ...seen.columns.map((c) => {
        const sel = el("select", { "data-column": c.index, "aria-label": t("imp.field_of", { column: c.header || t("imp.column_n", { n: c.index }) }),
          onchange: () => { state.mapping[String(c.index)] = sel.value || null; refresh(); } },
        ...options.map(([v, label]) => el("option", { value: v }, label)));
        sel.value = c.field ?? "";
        return el("tr", { class: c.field ? "" : "imp-unused" },
          el("td", {}, c.header || t("imp.column_n", { n: c.index })), el("td", { class: "muted" }, c.sample), el("td", {}, sel));
      })));
  }

  function entryTable(seen) {
    const head = ["imp.col_line", "col.no", "imp.col_name", "imp.field.category", "imp.field.transponder", "imp.col_drivers", "imp.field.team"];
    return el("table", { class: "plain", id: "imp-rows" },
      el("caption", { class: "muted" }, t("imp.count", { n: seen.count })),
      el("thead", {}, el("tr", {}, ...head.map((k) => el("th", {}, t(k))))),
      el("tbody", {}, ...seen.entries.map((e) => el("tr", { "data-number": e.number },
        el("td", { class: "num" }, e.line ?? ""), el("td", { class: "no" }, e.number), el("td", {}, e.name || ""),
        el("td", {}, e.category || ""), el("td", {}, e.transponder || ""),
        el("td", {}, (e.drivers || []).map((d) => [d.name || d.id, d.weight_kg != null ? ` (${kg(d.weight_kg)})` : ""].join("")).join(", ")),
        el("td", {}, e.team || "")))));
  }

  input.addEventListener("change", () => {
    state.file = input.files[0] || null;
    fileName.textContent = state.file ? state.file.name : t("imp.no_file");
    Object.assign(state, { mapping: {}, encoding: "", separator: "", sheet: "", skip: [] });
    if (state.file) refresh();
  });
  skipBtn.addEventListener("click", () => {
    const lines = state.seen.errors.map((e) => e.line).filter(Boolean);
    state.skip = [...new Set([...state.skip, ...lines])].sort((a, b) => a - b);
    refresh();
  });
  unskipBtn.addEventListener("click", () => { state.skip = []; refresh(); });
  go.addEventListener("click", async () => {
    go.disabled = true;
    try {
      const res = await send("entries");
      toast(t("tc.imported", { n: res.entries }));
      dialog.close();
      onImported(res);
    } catch (e) {
      problem.textContent = e.detail || e.message;
      problem.hidden = false;
      go.disabled = false;
    }
  });
  cancel.addEventListener("click", () => dialog.close());

  return {
    open() {
      input.value = "";
      fileName.textContent = t("imp.no_file");
      Object.assign(state, { file: null, seen: null });
      results.hidden = true;
      problem.hidden = true;
      detected.replaceChildren();
      status.textContent = "";
      go.disabled = true;
      go.textContent = t("imp.import_none");
      dialog.showModal();
    },
  };
}
