import { call } from "./api.js";
import { badge, clear, duration, h, heading, message, shortId, table, time } from "./ui.js";

const REFRESH_MS = 3000;
const STATUSES = ["queued", "assigned", "running", "completed", "failed"];

export function render(main) {
  const controller = new AbortController();
  const state = { status: sessionStorage.getItem("browsing.filter") || "", cursors: [""], timer: null };
  const filter = h(
    "select",
    { id: "status-filter" },
    h("option", { value: "" }, "all"),
    STATUSES.map((s) => h("option", { value: s }, s)),
  );
  filter.value = state.status;
  const results = h("div", { id: "task-results" });
  const updated = h("p", { class: "hint", id: "updated", "aria-live": "off" });
  const prev = h("button", { type: "button", class: "secondary", disabled: true }, "Previous page");
  const next = h("button", { type: "button", class: "secondary", disabled: true }, "Next page");

  filter.addEventListener("change", () => {
    state.status = filter.value;
    sessionStorage.setItem("browsing.filter", state.status);
    state.cursors = [""];
    load(true);
  });
  prev.addEventListener("click", () => {
    state.cursors.pop();
    load(true);
  });
  next.addEventListener("click", () => {
    state.cursors.push(next.dataset.cursor);
    load(true);
  });

  async function load(announce) {
    clearTimeout(state.timer);
    const cursor = state.cursors[state.cursors.length - 1];
    const params = new URLSearchParams({ limit: "20" });
    if (state.status) params.set("status", state.status);
    if (cursor) params.set("cursor", cursor);
    try {
      const page = await call(`/api/v1/browsing/tasks?${params}`, { signal: controller.signal });
      show(page, announce);
    } catch (err) {
      if (err.name === "AbortError") return;
      clear(results).append(message("error", err.message));
    }
    if (!document.hidden) state.timer = setTimeout(() => load(false), REFRESH_MS);
  }

  function show(page, announce) {
    const rows = page.tasks.map((t) => [
      h("a", { href: `#/task/${t.task_id}`, title: t.task_id }, t.task || shortId(t.task_id)),
      badge(t.status),
      time(t.created_at),
      (t.info && t.info.node_uid) || "—",
      t.status === "completed" || t.status === "failed" ? duration(t.execution_time_ms) : "—",
    ]);
    clear(results);
    if (!rows.length) {
      results.append(h("p", { class: "empty" }, state.status ? `No ${state.status} tasks.` : "No tasks yet. ", state.status ? null : h("a", { href: "#/new" }, "Run your first task.")));
    } else {
      results.append(table("Your tasks", ["Task", "Status", "Created", "Node", "Took"], rows));
    }
    prev.disabled = state.cursors.length <= 1;
    next.disabled = !page.next_cursor;
    next.dataset.cursor = page.next_cursor || "";
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}; refreshes every ${REFRESH_MS / 1000} s.`;
    if (announce) updated.setAttribute("aria-live", "polite");
  }

  const visibility = () => {
    if (!document.hidden) load(false);
  };
  document.addEventListener("visibilitychange", visibility);
  main.append(
    heading("Tasks"),
    h("div", { class: "toolbar" }, h("label", { for: "status-filter" }, "Status"), filter, h("a", { href: "#/new", class: "button" }, "New task")),
    results,
    h("div", { class: "actions" }, prev, next),
    updated,
  );
  load(false);
  return () => {
    controller.abort();
    clearTimeout(state.timer);
    document.removeEventListener("visibilitychange", visibility);
  };
}
