import { call, session } from "./api.js";
import { badge, clear, h, heading, message, table, time } from "./ui.js";

const REFRESH_MS = 5000;

export function render(main) {
  const controller = new AbortController();
  const { signal } = controller;
  let timer = null;
  main.append(heading("Operators"));
  if (!session.me || !session.me.admin) {
    main.append(message("error", "This page is for admin keys: an operator makes one with browsing keys create USER --admin."));
    return () => {};
  }
  const nodes = h("div");
  const queues = h("div");
  const failures = h("div");
  const notice = h("div", { "aria-live": "polite" });
  const refreshButton = h("button", { type: "button", class: "secondary" }, "Refresh");
  refreshButton.addEventListener("click", () => load());
  main.append(
    h("div", { class: "toolbar" }, refreshButton, h("span", { class: "hint", id: "ops-updated" })),
    notice,
    h("section", { class: "part-nodes" }, h("h2", { id: "h-nodes" }, "Nodes"), nodes),
    h("section", { class: "part-queues" }, h("h2", { id: "h-queues" }, "Waiting for a node"), queues),
    h("section", { class: "part-failures" }, h("h2", { id: "h-failures" }, "Recent failures"), failures),
  );

  async function setDrained(uid, drain) {
    try {
      await call(`/api/v1/admin/nodes/${encodeURIComponent(uid)}/${drain ? "drain" : "undrain"}`, { method: "POST", signal });
      notice.replaceChildren(message("info", drain ? `${uid} is drained: it takes no new task, and finishes what it runs.` : `${uid} takes tasks again.`));
    } catch (err) {
      if (err.name !== "AbortError") notice.replaceChildren(message("error", err.message));
    }
    await load();
    const again = main.querySelector(`[data-node="${CSS.escape(uid)}"]`);
    if (again) again.focus();
  }

  // A dead node that was retired: it is no longer listed (nor in the metrics); if it
  // starts again, it registers again.
  async function forget(uid) {
    try {
      await call(`/api/v1/admin/nodes/${encodeURIComponent(uid)}`, { method: "DELETE", signal });
      notice.replaceChildren(message("info", `${uid} is forgotten: it is no longer listed, and registers again if it starts.`));
    } catch (err) {
      if (err.name !== "AbortError") notice.replaceChildren(message("error", err.message));
    }
    await load();
    refreshButton.focus();
  }

  function nodeAction(n) {
    if (n.state === "dead") {
      return h("button", { type: "button", class: "danger", "data-node": n.uid, "aria-label": `Forget node ${n.uid}`, onclick: () => forget(n.uid) }, "Forget");
    }
    return h(
      "button",
      { type: "button", class: n.drained ? "secondary" : "danger", "data-node": n.uid, "aria-label": `${n.drained ? "Undrain" : "Drain"} node ${n.uid}`, onclick: () => setDrained(n.uid, !n.drained) },
      n.drained ? "Undrain" : "Drain",
    );
  }

  function nodeRows(list) {
    return list.map((n) => [
      n.uid,
      n.country || "—",
      String(n.capacity),
      String(n.active),
      badge(n.state),
      time(n.last_heartbeat),
      nodeAction(n),
    ]);
  }

  async function load() {
    clearTimeout(timer);
    try {
      const [n, q, f] = await Promise.all([
        call("/api/v1/admin/nodes", { signal }),
        call("/api/v1/admin/queues", { signal }),
        call("/api/v1/admin/failures?limit=20", { signal }),
      ]);
      clear(nodes).append(
        n.nodes.length ? table("Nodes", ["Node", "Country", "Capacity", "Active", "State", "Last heartbeat", "Action"], nodeRows(n.nodes)) : h("p", { class: "empty" }, "No node has registered."),
      );
      clear(queues).append(
        h("p", {}, `${q.waiting} task${q.waiting === 1 ? "" : "s"} waiting in all.`),
        table("Waiting by place", ["Where", "Waiting"], q.places.map((p) => [p.where === "any" ? "any country" : p.where === "node" ? "one named node" : p.where, String(p.waiting)])),
        q.users.length ? table("Waiting by user", ["User", "Waiting", "On nodes"], q.users.map((u) => [u.user, String(u.waiting), String(u.active)])) : h("p", { class: "hint" }, "No user has tasks waiting."),
      );
      clear(failures).append(
        f.failures.length
          ? table("Recent failures", ["Task", "Owner", "Error", "Failed", "Node"], f.failures.map((x) => [h("code", { title: x.task_id }, x.task_id), x.owner, x.error, time(x.failed_at), x.node_uid || "—"]))
          : h("p", { class: "empty" }, "No task has failed lately."),
      );
      main.querySelector("#ops-updated").textContent = `Updated ${new Date().toLocaleTimeString()}.`;
    } catch (err) {
      if (err.name === "AbortError") return;
      notice.replaceChildren(message("error", err.message));
    }
    timer = setTimeout(load, REFRESH_MS);
  }
  load();
  return () => {
    controller.abort();
    clearTimeout(timer);
  };
}
