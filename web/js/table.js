// Keyed table: one <tr> per car, created once; an update touches only the cells whose text or
// class changed, and reordering moves only the rows that are out of place. This is what keeps
// 100 cars updating every second cheap on a phone (no innerHTML, no full re-render).
import { t } from "./i18n.js";
import { el } from "./util.js";

/**
 * Column: {id, label, cls?, title?, cell(row, ctx) -> string | {t, c?, sub?, sub2?, label?}, render?}
 *   t: main text, c: extra class on the <td>, sub / sub2: small second lines, label: aria-label.
 *   render(td, row, ctx): custom content (buttons, chips), called only when cell()'s value changes.
 */
export class KeyedTable {
  constructor(table, columns, { key = (r) => r.number, rowClass = () => "", onSelect = null, positioned = false } = {}) {
    this.table = table;
    // positioned: rows are placed by CSS from --i (see boucle.css), so order() sets that as well.
    this.positioned = positioned;
    this.columns = columns;
    this.key = key;
    this.rowClass = rowClass;
    this.trs = new Map(); // key -> {tr, cells: [td], cache: [string], cls}
    const head = el("tr", {}, columns.map((c) =>
      el("th", { scope: "col", class: c.cls || null, title: c.title || null }, c.label)));
    table.replaceChildren(el("thead", {}, head), (this.tbody = el("tbody")));
    if (positioned) {
      // CSS turns the table into a grid; explicit roles keep it a table for screen readers.
      table.setAttribute("role", "table");
      head.setAttribute("role", "row");
      for (const th of head.children) th.setAttribute("role", "columnheader");
    }
    if (onSelect) {
      // One listener for the whole table instead of one per row.
      this.tbody.addEventListener("click", (ev) => {
        const tr = ev.target.closest("tr[data-key]");
        if (tr && !ev.target.closest("button, a, input, select")) onSelect(tr.dataset.key);
      });
      this.tbody.addEventListener("keydown", (ev) => {
        const tr = ev.target.closest("tr[data-key]");
        if (tr && (ev.key === "Enter" || ev.key === " ")) {
          ev.preventDefault();
          onSelect(tr.dataset.key);
        }
      });
    }
    this.selectable = !!onSelect;
  }

  entry(row) {
    const k = this.key(row);
    let e = this.trs.get(k);
    if (!e) {
      const role = this.positioned ? "cell" : null;
      // data-label: the column's name, shown before the value when a narrow card stacks the row (boucle.css)
      const cells = this.columns.map((c) => el("td", { class: c.cls || null, role, "data-label": this.positioned ? null : c.label || null }));
      const tr = el("tr", { dataset: { key: k }, role: this.positioned ? "row" : null }, cells);
      if (this.selectable) tr.tabIndex = 0;
      e = { tr, cells, cache: new Array(cells.length).fill(null), parts: new Array(cells.length).fill(null), cls: null, i: -1 };
      this.trs.set(k, e);
    }
    return e;
  }

  /** Bring one row's cells up to date; returns its <tr>. */
  update(row, ctx) {
    const e = this.entry(row);
    for (let i = 0; i < this.columns.length; i++) {
      const col = this.columns[i];
      let v = col.cell(row, ctx);
      if (v === null || v === undefined) v = "";
      const o = typeof v === "object" ? v : { t: String(v) };
      const sig = `${o.t}\u0001${o.c || ""}\u0001${o.sub || ""}\u0001${o.sub2 || ""}\u0001${o.label || ""}`;
      if (sig === e.cache[i]) continue;
      e.cache[i] = sig;
      const td = e.cells[i];
      td.className = [col.cls, o.c].filter(Boolean).join(" ");
      if (o.label) td.setAttribute("aria-label", o.label);
      else td.removeAttribute("aria-label");
      const had = e.parts[i];
      if (col.render) {
        e.parts[i] = null;
        col.render(td, row, ctx);
      } else if (o.sub || o.sub2) {
        if (had && !had.sub === !o.sub && !had.sub2 === !o.sub2) {
          // Same shape as last time (a new lap time under the same cell): write the texts only.
          if (had.main.textContent !== o.t) had.main.textContent = o.t;
          if (had.sub && had.sub.textContent !== o.sub) had.sub.textContent = o.sub;
          if (had.sub2 && had.sub2.textContent !== o.sub2) had.sub2.textContent = o.sub2;
        } else {
          const p = { main: el("span", { class: "main" }, o.t) };
          if (o.sub) p.sub = el("small", { class: "sub" }, o.sub);
          if (o.sub2) p.sub2 = el("small", { class: "sub2" }, o.sub2);
          td.replaceChildren(...[p.main, p.sub, p.sub2].filter(Boolean));
          e.parts[i] = p;
        }
      } else {
        e.parts[i] = null;
        td.textContent = o.t;
      }
    }
    const cls = this.rowClass(row, ctx);
    if (cls !== e.cls) {
      e.cls = cls;
      e.tr.className = cls;
    }
    return e.tr;
  }

  remove(k) {
    const e = this.trs.get(k);
    if (e) {
      e.tr.remove();
      this.trs.delete(k);
    }
  }

  /** Make the tbody show exactly `keys`, in order, moving as few rows as possible. */
  order(keys) {
    const tb = this.tbody;
    let cursor = tb.firstChild;
    let i = 0;
    for (const k of keys) {
      const e = this.trs.get(k);
      if (!e) continue;
      if (this.positioned) {
        if (e.i !== i) {
          e.i = i;
          e.tr.style.setProperty("--i", String(i));
          e.tr.setAttribute("aria-rowindex", String(i + 2)); // header is row 1
        }
        i++;
      }
      if (e.tr === cursor) cursor = cursor.nextSibling;
      else tb.insertBefore(e.tr, cursor);
    }
    while (cursor) {
      const next = cursor.nextSibling;
      const e = this.trs.get(cursor.dataset.key);
      if (e) e.i = -1;
      tb.removeChild(cursor);
      cursor = next;
    }
    // Only on change: a custom property set on the tbody restyles every row under it.
    if (this.positioned && this.n !== i) {
      this.n = i;
      tb.style.setProperty("--n", String(i));
    }
  }
}

/** Lap-time cell colours, as timing screens do: purple = overall fastest, green = personal best. */
export function lapClass(lap, personalBest, overallBest) {
  if (lap === null || lap === undefined) return "";
  if (overallBest !== null && lap <= overallBest + 1e-9) return "t-overall";
  if (personalBest !== null && lap <= personalBest + 1e-9) return "t-personal";
  return "";
}

/** What the status column says: IN PIT, FIN, DNF, ... */
export function stateText(r) {
  // Always an object (or ""), so callers can reuse the text and the class.
  if (r.status === "dsq") return { t: t("state.dsq"), c: "st-dsq", label: t("state.dsq_long") };
  if (r.status === "dns") return { t: t("state.dns"), c: "st-out", label: t("state.dns_long") };
  if (r.status === "dnf") return { t: t("state.dnf"), c: "st-out", label: t("state.dnf_long") };
  if (r.status === "not_classified") return { t: t("state.nc"), c: "st-out", label: t("state.nc_long") };
  if (r.finished) return { t: t("state.fin"), c: "st-fin", label: t("state.fin_long") };
  if (r.in_pit) return { t: t("state.pit"), c: "st-pit", label: t("state.pit_long") };
  return "";
}
