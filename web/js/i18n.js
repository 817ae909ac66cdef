// Page language: French for a French browser, English otherwise, a switch on every page.
// Strings live in one catalogue per language (web/i18n/LANG.json); pages mark translatable
// nodes with data-i18n="key" (data-i18n-title / -placeholder / -aria-label for attributes)
// and scripts call t("key", {vars}). A missing key shows the key itself.
export const LANGS = ["fr", "en"];
const KEY = "boucle.lang";

function chooseLang() {
  const wanted = new URLSearchParams(location.search).get("lang") || localStorage.getItem(KEY);
  if (LANGS.includes(wanted)) return wanted;
  return String(navigator.language || "").toLowerCase().startsWith("fr") ? "fr" : "en";
}

async function load(code) {
  const res = await fetch(new URL(`../i18n/${code}.json`, import.meta.url));
  if (!res.ok) throw new Error(`catalogue ${code}: ${res.status}`);
  return res.json();
}

export const lang = chooseLang();
const catalogue = await load(lang); // both catalogues have the same keys (tests/test_i18n.py)
const plural = new Intl.PluralRules(lang);

/** t("clock.laps_to_go", {n: 3}): `{name}` placeholders; an object value picks one/other. */
export function t(key, vars = {}) {
  let s = catalogue[key] ?? key;
  if (typeof s === "object" && s !== null) s = s[plural.select(Number(vars.n ?? 0))] ?? s.other;
  return String(s).replace(/\{(\w+)\}/g, (m, k) => (vars[k] ?? m));
}

/** Does the catalogue know this key? (labels coming from the server fall back to their own text) */
export const has = (key) => key in catalogue;

/** t() of `prefix + value` when the catalogue has it, else the value itself (kinds, roles, flags). */
export const label = (prefix, value) => (value == null || value === "" ? "" : has(prefix + value) ? t(prefix + value) : String(value));

/** Translate marked nodes under `root` (the whole page at start; a freshly built part later). */
export function translate(root = document) {
  for (const n of root.querySelectorAll("[data-i18n]")) n.textContent = t(n.dataset.i18n);
  for (const attr of ["title", "placeholder", "aria-label"]) {
    for (const n of root.querySelectorAll(`[data-i18n-${attr}]`)) n.setAttribute(attr, t(n.getAttribute(`data-i18n-${attr}`)));
  }
}

/** Server-side texts (penalty labels, evidence) in the page language: catalogue patterns in order. */
export function serverText(text) {
  let s = String(text ?? "");
  for (const [re, to] of catalogue["_patterns"] || []) s = s.replace(new RegExp(re, "g"), to);
  return s;
}

/** Dates and times as the visitor reads them. */
export const fmtDateTime = (d) => new Date(d).toLocaleString(lang === "fr" ? "fr-FR" : "en-GB");

/** The language switch: a button naming the other language; the choice is remembered. */
export function langSwitch() {
  const other = lang === "fr" ? "en" : "fr";
  const b = document.createElement("button");
  b.type = "button";
  b.className = "lang-switch linkish";
  b.id = "lang-switch";
  b.lang = other;
  b.textContent = t(`lang.${other}`);
  b.title = t("lang.switch");
  b.addEventListener("click", () => {
    localStorage.setItem(KEY, other);
    const u = new URL(location.href);
    u.searchParams.delete("lang");
    location.replace(u);
  });
  return b;
}

document.documentElement.lang = lang;
translate();
if (document.body.dataset.i18nPage) document.title = `Boucle · ${t(document.body.dataset.i18nPage)}`;
const slot = document.querySelector("[data-lang-switch]") || document.querySelector(".top-actions");
if (slot && !document.getElementById("lang-switch")) slot.append(langSwitch());
