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

// Texts the server says with a code and params (service/i18n.py `said`: evidence, warnings, statuses,
// refusals): the catalogue's `_texts` / `_errors` template, filled like the server fills it. Formats:
// {x:num}, {x:types}, {x:@prefix} (the word prefix.x), {x:list} / {x:semi}, {x:or} / {x:or@prefix},
// {x:stage} (a meeting session key); a param that is itself {code, params} is said too.
const section = (code) => (catalogue._texts || {})[code] ?? (catalogue._errors || {})[code];
const wordOf = (key, fallback) => (section(key) ?? catalogue[key] ?? fallback);

/** A meeting session key as people say it: "heat1.2" -> "Manche 1 · série 2" (service.i18n.stage_label). */
export function stageLabel(key) {
  const [stage, series] = String(key ?? "").split(".");
  let base = has(`stage.${stage}`) ? t(`stage.${stage}`) : null;
  const m = /^([a-z]+?)(\d+)$/.exec(stage);
  if (base == null && m && has(`stage.${m[1]}_n`)) base = t(`stage.${m[1]}_n`, { n: m[2] });
  if (base == null) return String(key ?? "");
  if (!series) return base;
  return stage === "semis" ? t("stage.semi_n", { n: series }) : `${base} · ${t("stage.series_n", { n: series })}`;
}

/** A session's name as people say it: a meeting's "Club D1 Manche 1 · série 2" (from its key, in the page
 * language), else the name it was given. */
export function sessionName(s) {
  const m = s && s.meeting;
  if (!m || !m.key) return s ? s.name || s.id || "" : "";
  const name = [m.name, m.division, stageLabel(m.key)].filter(Boolean).join(" ");
  return m.restart ? `${name} (${t("meeting.restart_word")})` : name;
}

function fmtParam(v, spec) {
  if (v && typeof v === "object" && !Array.isArray(v) && v.code) return say(v);
  if (Array.isArray(v)) {
    if (spec.startsWith("or")) return v.map((x) => fmtParam(x, spec.slice(2))).join(` ${wordOf("type.or", "or")} `);
    return v.map((x) => fmtParam(x, "")).join(spec === "semi" ? (lang === "fr" ? " ; " : "; ") : ", ");
  }
  if (spec === "num") {
    const x = Number(v);
    return Number.isFinite(x) ? String(x).replace(".", lang === "fr" ? "," : ".") : String(v);
  }
  if (spec === "types") return String(v).split(" | ").map((p) => wordOf(`type.${p}`, p)).join(` ${wordOf("type.or", "or")} `);
  if (spec === "stage") return stageLabel(v);
  if (spec.startsWith("@")) return String(wordOf(`${spec.slice(1)}.${v}`, v));
  return v == null ? "" : String(v);
}

/** A {code, params} text from the server in the page language (the code itself if no catalogue has it). */
export function say(said) {
  let tpl = section(said.code);
  const params = said.params || {};
  if (tpl && typeof tpl === "object") tpl = tpl[plural.select(Number(params.n ?? 0))] ?? tpl.other;
  if (tpl == null) return said.code;
  return String(tpl).replace(/\{\{|\}\}|\{(\w+)(?::([^}]*))?\}/g, (m, k, spec) =>
    m === "{{" ? "{" : m === "}}" ? "}" : k in params ? fmtParam(params[k], spec || "") : m);
}

/** A server text in the page language: said from its code when the server sent one (`said`), else as
 * it is (a note typed by a person is never translated). */
export const serverText = (text, said) => (said && said.code ? say(said) : String(text ?? ""));

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
