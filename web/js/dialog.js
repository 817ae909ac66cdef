// Add and edit forms of the set-up pages in a native <dialog> (focus kept inside, Escape closes,
// full width on a phone). The server checks everything; its refusal is shown in the dialog, which
// stays open so nothing typed is lost.
import { t } from "./i18n.js";
import { el } from "./util.js";

/**
 * One input of a form. field: {name, label, type?: text|number|date|select|textarea|file|checkbox,
 * value?, options?: [[value, label]], required?, hint?, list?: [values] (suggestions), attrs?: {}}
 */
export function fieldNode(f) {
  const id = `f-${f.name}-${Math.random().toString(36).slice(2, 7)}`;
  let input;
  if (f.type === "select") {
    input = el("select", { id, name: f.name }, (f.options || []).map(([v, l]) => el("option", { value: v }, l)));
    if (f.value != null) input.value = String(f.value);
  } else if (f.type === "textarea") {
    input = el("textarea", { id, name: f.name, rows: "4" }, f.value ?? "");
  } else {
    input = el("input", { id, name: f.name, type: f.type || "text", value: f.type === "file" ? null : f.value ?? "" });
    if (f.type === "checkbox") input.checked = !!f.value;
  }
  if (f.required) input.required = true;
  for (const [k, v] of Object.entries(f.attrs || {})) input.setAttribute(k, v);
  const parts = [el("span", {}, f.label), input];
  if (f.list && f.list.length) {
    const listId = `${id}-list`;
    input.setAttribute("list", listId);
    parts.push(el("datalist", { id: listId }, f.list.map((v) => el("option", { value: v }))));
  }
  if (f.hint) parts.push(el("small", { class: "muted" }, f.hint));
  return el("label", { class: `field${f.type === "checkbox" ? " check" : ""}`, for: id, "data-field": f.name }, parts);
}

/** The values of a form: text trimmed, numbers as typed (the server reads them), files as File. */
export function formValues(form) {
  const out = {};
  for (const node of form.elements) {
    if (!node.name || node.disabled) continue;
    if (node.type === "file") out[node.name] = node.files[0] || null;
    else if (node.type === "checkbox") out[node.name] = node.checked;
    else out[node.name] = node.value.trim();
  }
  return out;
}

/**
 * Open a form in a dialog. `submit(values, form)` saves (it may throw: the message is shown and the
 * dialog stays open); resolves with what submit returned, or null when cancelled.
 * `body`: extra nodes under the fields (e.g. a drivers list); `onOpen(form)`: wire the fields together.
 */
export function formDialog({ title, fields = [], body = [], submitLabel, submit, danger = null, onOpen = null }) {
  return new Promise((resolve) => {
    const msg = el("p", { class: "error", role: "alert" });
    const cancel = el("button", { type: "button", "data-act": "cancel" }, t("common.cancel"));
    const ok = el("button", { type: "submit", class: "primary", "data-act": "save" }, submitLabel || t("common.save"));
    const actions = el("div", { class: "btns dialog-actions" }, ok, cancel);
    if (danger) {
      actions.append(el("button", { type: "button", class: "danger", "data-act": danger.act || "delete", onclick: async () => {
        if (danger.confirm && !confirm(danger.confirm)) return;
        try {
          await danger.run();
          close(true);
        } catch (e) {
          msg.textContent = e.detail || e.message;
        }
      } }, danger.label));
    }
    const form = el("form", { class: "dialog-form", method: "dialog" }, el("h2", {}, title),
      el("div", { class: "fields" }, fields.map(fieldNode)), ...body, msg, actions);
    const dlg = el("dialog", { class: "form-dialog", "aria-label": title }, form);
    let result = null;
    const close = (value) => {
      result = value;
      dlg.close();
    };
    dlg.addEventListener("close", () => {
      dlg.remove();
      resolve(result);
    });
    cancel.addEventListener("click", () => close(null));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      msg.textContent = "";
      ok.disabled = true;
      try {
        close((await submit(formValues(form), form)) ?? true);
      } catch (e) {
        msg.textContent = e.detail || e.message;
      } finally {
        ok.disabled = false;
      }
    });
    document.body.append(dlg);
    if (onOpen) onOpen(form);
    dlg.showModal();
    const first = form.querySelector("input:not([type=hidden]), select, textarea");
    if (first) first.focus();
  });
}
