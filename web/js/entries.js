// The entry list editor: one line per entry (number, name and team, category, transponders,
// drivers with their weight), add / edit / remove in a dialog. Used by the timing page (a
// session's entries: every change is an `entry` line of the log) and the meeting page (the
// meeting's list, before its first session opens). The server decides what is allowed (a car
// that has run keeps its history) and says why in the page's language.
import { lang, t } from "./i18n.js";
import { fieldNode, formDialog } from "./dialog.js";
import { el } from "./util.js";

/** Drivers of the form: one line each (name, weight in kg), lines added and removed in place. */
function driversEditor(drivers) {
  const list = el("div", { class: "drivers-list" });
  const line = (d = {}) => {
    const row = el("div", { class: "row driver-row" },
      fieldNode({ name: "driver_name", label: t("entries.driver"), value: d.name || "" }),
      fieldNode({ name: "driver_kg", label: t("entries.weight_kg"), value: d.weight_kg ?? "",
        attrs: { inputmode: "decimal", size: "6", autocomplete: "off" } }),
      el("button", { type: "button", class: "linkish", "data-act": "drop-driver", "aria-label": t("entries.drop_driver"),
        onclick: () => row.remove() }, "×"));
    if (d.id) row.dataset.id = d.id;
    list.append(row);
  };
  for (const d of drivers.length ? drivers : [{}]) line(d);
  const add = el("button", { type: "button", class: "linkish", "data-act": "add-driver", onclick: () => line() }, t("entries.add_driver"));
  const read = () => [...list.querySelectorAll(".driver-row")].map((r) => ({
    ...(r.dataset.id ? { id: r.dataset.id } : {}),
    name: r.querySelector("[name=driver_name]").value.trim(),
    weight_kg: r.querySelector("[name=driver_kg]").value.trim(),
  })).filter((d) => d.name || d.weight_kg);
  return { node: el("fieldset", { class: "drivers" }, el("legend", {}, t("entries.drivers")), list, add), read };
}

/**
 * Mount the editor in `root` (a card). api: {list() -> entries, save(number, fields) -> entry,
 * remove(number), removable?(entry), editable?() -> bool, note?() -> string, importFile?(file),
 * error(e)}. `categories()`: suggestions. `#import-slot` is where the timing page's import wizard
 * (web/js/import-wizard.js) puts its button.
 * Returns {refresh}.
 */
export function mountEntries(root, api, { categories = () => [] } = {}) {
  const count = el("span", { class: "count", id: "entries-count" });
  const add = el("button", { type: "button", class: "primary", "data-act": "add-entry" }, t("entries.add"));
  const note = el("p", { class: "muted", id: "entries-note" });
  const table = el("table", { id: "entries", class: "entries stack" });
  const empty = el("p", { class: "muted", id: "no-entries" }, t("entries.none"));
  let entries = [];
  let editable = true;

  const open = (e) => {
    const drivers = driversEditor(e ? e.drivers || [] : []);
    const cats = [...new Set([...categories(), ...entries.map((x) => x.category).filter(Boolean)])];
    return formDialog({
      title: e ? t("entries.edit_title", { number: e.number }) : t("entries.add_title"),
      fields: [
        { name: "number", label: t("col.no"), value: e ? e.number : "", required: true, attrs: { inputmode: "numeric", autocomplete: "off", size: "6" } },
        { name: "name", label: t("entries.name"), value: e ? e.name : "", hint: t("entries.name_hint") },
        { name: "team", label: t("entries.team"), value: e ? e.team || "" : "" },
        { name: "category", label: t("col.cat"), value: e ? e.category || "" : "", list: cats },
        { name: "transponder", label: t("tc.col_transponder"), value: e ? e.transponder || "" : "", attrs: { autocomplete: "off" },
          hint: e && e.has_history ? t("entries.transponder_hint") : "" },
      ],
      body: [drivers.node],
      danger: e && e.removable ? { label: t("entries.remove"), confirm: t("entries.confirm_remove", { number: e.number, name: e.name || "" }),
        run: async () => { await api.remove(e.number); await refresh(); } } : null,
      submit: async (v) => {
        const saved = await api.save(e ? e.number : v.number, { ...v, drivers: drivers.read() });
        await refresh();
        return saved;
      },
    });
  };
  add.addEventListener("click", () => open(null));

  function driversText(e) {
    return (e.drivers || []).map((d) => (d.weight_kg != null ? t("entries.driver_kg", { name: d.name || d.id, kg: Number(d.weight_kg).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB") }) : d.name || d.id)).join(", ");
  }

  function render() {
    count.textContent = entries.length ? String(entries.length) : "";
    empty.hidden = entries.length > 0;
    table.hidden = entries.length === 0;
    add.hidden = !editable;
    for (const b of root.querySelectorAll("[data-act=import-file]")) b.hidden = !editable;
    const head = el("tr", {}, [t("col.no"), t("entries.name"), t("col.cat"), t("tc.col_transponder"), t("entries.drivers"), ""]
      .map((h) => el("th", { scope: "col" }, h)));
    const rows = entries.map((e) => {
      const btns = [];
      if (editable) {
        btns.push(el("button", { type: "button", "data-act": "edit-entry", onclick: () => open(e) }, t("entries.edit")));
        if (e.removable) {
          btns.push(el("button", { type: "button", class: "danger", "data-act": "remove-entry", onclick: async () => {
            if (!confirm(t("entries.confirm_remove", { number: e.number, name: e.name || "" }))) return;
            try {
              await api.remove(e.number);
              await refresh();
            } catch (err) {
              api.error(err);
            }
          } }, t("entries.remove")));
        }
      }
      const trs = [e.transponder, ...(e.spares || [])].filter(Boolean);
      return el("tr", { "data-key": e.number },
        el("td", { class: "no", "data-label": t("col.no") }, e.number),
        el("td", { class: "name", "data-label": t("entries.name") }, el("span", { class: "main" }, e.name || ""),
          e.team ? el("small", { class: "sub" }, e.team) : ""),
        el("td", { "data-label": t("col.cat") }, e.category || ""),
        el("td", { class: "mono", "data-label": t("tc.col_transponder") }, trs.join(", ")),
        el("td", { "data-label": t("entries.drivers") }, driversText(e)),
        el("td", { class: "actions" }, btns));
    });
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, rows));
    note.textContent = api.note ? api.note() : "";
  }

  async function refresh() {
    try {
      entries = (await api.list()).map((e) => ({ ...e, removable: api.removable ? api.removable(e) : true }));
      editable = api.editable ? api.editable() : true;
    } catch (err) {
      api.error(err);
      return;
    }
    render();
  }

  const head = root.querySelector("h2");
  if (head) head.append(count);
  const tools = [add];
  if (api.importFile) { // a whole list from a file (the meeting page; the timing page has the import wizard)
    const file = el("input", { type: "file", accept: ".csv,.tsv,.txt,text/csv", hidden: true, "aria-label": t("entries.import_file") });
    file.addEventListener("change", async () => {
      if (!file.files[0]) return;
      try {
        await api.importFile(file.files[0]);
        await refresh();
      } catch (err) {
        api.error(err);
      }
      file.value = "";
    });
    tools.push(file, el("button", { type: "button", "data-act": "import-file", onclick: () => file.click() }, t("entries.import_file")));
  }
  root.append(note, el("div", { class: "btns" }, ...tools, el("div", { id: "import-slot", class: "import-slot" })),
    el("div", { class: "scroll tall" }, table), empty);
  return { refresh, get entries() { return entries; } };
}
