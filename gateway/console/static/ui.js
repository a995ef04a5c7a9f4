// Small DOM helpers: elements are built with h(), never from HTML strings, so nothing a
// task returns can become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

const LOCAL = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

// A time in the viewer's own zone; its UTC value on hover (title) and for machines.
export function time(iso) {
  if (!iso) return h("span", { class: "muted", text: "—" });
  const at = new Date(iso);
  return h("time", { datetime: iso, title: `${iso.replace("T", " ").replace("Z", "")} UTC` }, LOCAL.format(at));
}

export function duration(ms) {
  if (ms === null || ms === undefined) return "—";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function badge(status) {
  return h("span", { class: `badge status-${status}`, text: status });
}

// A page's heading, focused after navigation so screen readers announce the new page.
export function heading(text) {
  return h("h1", { tabindex: "-1", id: "page-title" }, text);
}

export function message(kind, text) {
  return h("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

// A table in a box that scrolls sideways on a phone, reachable by keyboard.
export function table(caption, columns, rows) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)));
  // Each cell names its column too: on a phone, rows become stacked cards (console.css).
  const body = rows.map((cells) => h("tr", {}, cells.map((c, i) => h("td", { "data-label": columns[i] }, c))));
  return h(
    "div",
    { class: "scroll", tabindex: "0", role: "region", "aria-label": caption },
    h("table", {}, h("caption", { class: "sr-only" }, caption), h("thead", {}, head), h("tbody", {}, body)),
  );
}

export function shortId(taskId) {
  return taskId.replace(/^web:/, "").slice(0, 12);
}
