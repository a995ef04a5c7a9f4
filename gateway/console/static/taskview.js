import { ApiError, call, followEvents, imageUrl } from "./api.js";
import { RERUN } from "./newtask.js";
import { badge, clear, duration, h, heading, message, table, time } from "./ui.js";

const TERMINAL = new Set(["completed", "failed"]);

export function render(main, params) {
  const taskId = params.id;
  const controller = new AbortController();
  const { signal } = controller;
  const blobs = [];
  let status = null; // the last status body
  let refreshTimer = null;
  let resultShown = false; // the result (and its screenshots) is drawn once

  const statusLine = h("p", { class: "status-line", role: "status" });
  const cancel = h("button", { type: "button", class: "danger", hidden: true }, "Cancel task");
  const rerun = h("button", { type: "button", class: "secondary", hidden: true }, "Run again");
  const actionError = h("div");
  const request = h("section", { class: "part-request" });
  const timeline = h("ol", { class: "timeline" });
  const attempts = h("div");
  const steps = h("ol", { class: "steps", id: "steps", "aria-live": "polite", "aria-relevant": "additions" });
  const stepsEmpty = h("p", { class: "hint", id: "steps-empty" }, "No steps yet: they appear here as the agent takes them.");
  const result = h("section", { class: "part-result", hidden: true });
  const body = h(
    "div",
    { class: "detail" },
    h("div", { class: "actions" }, cancel, rerun, h("a", { href: "#/tasks", class: "button secondary" }, "All tasks")),
    actionError,
    statusLine,
    result,
    request,
    h("section", { class: "part-timeline" }, h("h2", { id: "h-timeline" }, "Timeline"), timeline),
    h("section", { class: "part-attempts" }, h("h2", { id: "h-attempts" }, "Attempts"), attempts),
    h("section", { class: "part-steps" }, h("h2", { id: "h-steps" }, "Steps"), stepsEmpty, steps),
  );
  main.append(heading(`Task ${taskId}`));

  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    actionError.replaceChildren();
    try {
      show(await call(`/api/v1/browsing/cancel?task_id=${encodeURIComponent(taskId)}`, { method: "POST", signal }));
    } catch (err) {
      if (err.name !== "AbortError") actionError.replaceChildren(message("error", err.message));
    } finally {
      cancel.disabled = false;
    }
  });
  rerun.addEventListener("click", () => {
    const req = { ...status.request };
    if (status.webhook) req.webhook = { url: status.webhook.url };
    sessionStorage.setItem(RERUN, JSON.stringify(req));
    location.hash = "#/new";
  });

  async function refresh() {
    clearTimeout(refreshTimer);
    try {
      show(await call(`/api/v1/browsing/status?task_id=${encodeURIComponent(taskId)}`, { signal }));
    } catch (err) {
      if (err.name !== "AbortError" && !status) fail(err);
    }
  }

  function fail(err) {
    clear(main).append(heading(`Task ${taskId}`));
    if (err instanceof ApiError && err.status === 403) {
      main.append(message("error", "This is not your task: it belongs to another user, and only its owner may see it."));
    } else if (err instanceof ApiError && err.status === 404) {
      main.append(message("error", "Task not found: it does not exist, or its record has expired."));
    } else {
      main.append(message("error", err.message));
    }
    main.append(h("p", {}, h("a", { href: "#/tasks" }, "Back to your tasks")));
  }

  function show(next) {
    const first = status === null;
    status = { ...status, ...next };
    if (first) main.append(body);
    const s = status.status;
    const where = status.info && status.info.node_uid ? ` on node ${status.info.node_uid}` : "";
    statusLine.replaceChildren("Status: ", badge(s), where, s === "queued" && status.queue_position != null ? ` (about ${status.queue_position} ahead)` : "");
    cancel.hidden = TERMINAL.has(s);
    rerun.hidden = !status.request;
    showRequest();
    showTimeline();
    showAttempts();
    if (TERMINAL.has(s) && !resultShown) showResult();
  }

  function showRequest() {
    const req = status.request;
    if (!req) return;
    const filter = req.filter ? Object.entries(req.filter).map(([k, v]) => `${k}=${v}`).join(", ") : "any node";
    const shots = req.screenshots ? `${req.screenshots.mode}${req.screenshots.full_page ? ", full page" : ""}` : "none";
    const rows = [
      ["Instruction", req.task],
      ["Screenshots", shots],
      ["Where", filter],
      ["Session key", req.session_key || "—"],
      ["Fanout", String(req.fanout)],
      ["Timeout", duration(req.timeout)],
      ["Template", req.template],
    ];
    if (status.webhook) rows.push(["Webhook", `${status.webhook.url} (${status.webhook.state})`]);
    request.replaceChildren(
      h("h2", { id: "h-request" }, "Request"),
      h("dl", { class: "pairs" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    );
  }

  function showTimeline() {
    const node = status.info && status.info.node_uid;
    const points = [
      ["queued", "Created", status.created_at, null],
      ["assigned", "Assigned", status.assigned_at, node],
      ["running", "Started", status.started_at, node],
      [status.status === "failed" ? "failed" : "completed", "Finished", status.finished_at, node],
    ];
    timeline.replaceChildren(
      ...points.map(([kind, label, at, who]) =>
        h("li", { class: at ? `done ${kind}` : "pending" }, h("span", { class: "what" }, label), " ", time(at), who && at ? h("span", { class: "muted" }, ` · ${who}`) : null),
      ),
    );
  }

  function showAttempts() {
    const list = (status.info && status.info.attempts) || [];
    const fan = status.info && status.info.fanout;
    const rows = list.map((a) => [
      String(a.attempt) + (a.replaces ? ` (replaces ${a.replaces})` : ""),
      a.node_uid || "—",
      a.country || "—",
      badge(a.outcome),
      time(a.started_at),
      duration(a.duration_ms),
      a.error || "—",
    ]);
    attempts.replaceChildren(
      fan ? h("p", { class: "hint" }, `Fanout: ${fan.actual} of ${fan.requested} requested.`) : null,
      rows.length ? table("Attempts", ["#", "Node", "Country", "Outcome", "Started", "Took", "Error"], rows) : h("p", { class: "hint" }, "Not placed on a node yet."),
    );
  }

  function showResult() {
    clearTimeout(refreshTimer);
    resultShown = true;
    const parts = [h("h2", { id: "h-result" }, status.status === "failed" ? "Error" : "Result")];
    let doc = null;
    try {
      doc = JSON.parse(status.payload);
    } catch {
      doc = null;
    }
    const shots = (doc && Array.isArray(doc.screenshots) && doc.screenshots) || [];
    if (status.status === "failed") {
      parts.push(h("p", { class: "message error", role: "alert" }, status.error || "failed"));
      // The failed attempt's pictures, the last of the page as the failure left it.
      if (shots.length) {
        parts.push(h("h3", {}, "Screenshots"));
        parts.push(h("ul", { class: "gallery" }, shots.map((s, i) => h("li", {}, thumb(s.url, `Screenshot ${i + 1} of the failed attempt`)))));
      }
    } else {
      const value = doc && typeof doc === "object" ? doc.result : status.payload;
      parts.push(resultText(value));
      if (shots.length) {
        parts.push(h("h3", {}, "Screenshots"));
        parts.push(h("ul", { class: "gallery" }, shots.map((s, i) => h("li", {}, thumb(s.url, `Result screenshot ${i + 1}`)))));
      }
      if (doc && typeof doc === "object" && doc.data !== undefined) {
        parts.push(h("h3", {}, "Data (matches the output schema)"), h("pre", { class: "json", tabindex: "0" }, JSON.stringify(doc.data, null, 2)));
      }
    }
    // What the page downloaded and the trace: a failed task keeps its failure's too.
    const files = doc && Array.isArray(doc.files) ? doc.files : [];
    const trace = doc && doc.trace && doc.trace.url ? [{ ...doc.trace, label: "Playwright trace" }] : [];
    if (files.length || trace.length) {
      parts.push(h("h3", {}, "Files"));
      parts.push(h("ul", { class: "files" }, [...files, ...trace].map((f) => h("li", {}, fileButton(f)))));
    }
    if (status.status !== "failed") {
      const shown = new Set(["result", "screenshots", "files", "trace", "data"]);
      const extra = doc && typeof doc === "object" ? Object.fromEntries(Object.entries(doc).filter(([k]) => !shown.has(k))) : {};
      if (Object.keys(extra).length) {
        parts.push(h("h3", {}, "Details"), h("pre", { class: "json", tabindex: "0" }, JSON.stringify(extra, null, 2)));
      }
    }
    parts.push(h("p", { class: "hint" }, `Took ${duration(status.execution_time_ms)}.`));
    result.replaceChildren(...parts);
    result.hidden = false;
  }

  // A file the task downloaded (or its trace): fetched with the key, then saved.
  function fileButton(file) {
    const size = Number.isFinite(file.size) ? ` (${file.size.toLocaleString()} bytes)` : "";
    const label = file.label ? `${file.label}, ${file.name}` : file.name;
    const button = h("button", { type: "button", class: "secondary" }, `Download ${label}`, size);
    button.addEventListener("click", async () => {
      try {
        const blobUrl = await imageUrl(file.url, signal);
        blobs.push(blobUrl);
        const link = h("a", { href: blobUrl, download: file.name, hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
      } catch (err) {
        if (err.name !== "AbortError") actionError.replaceChildren(message("error", err.message));
      }
    });
    return button;
  }

  function resultText(value) {
    if (value === null || value === undefined) return h("p", { class: "muted" }, "No result text.");
    if (typeof value === "string") {
      try {
        const parsed = JSON.parse(value);
        if (parsed && typeof parsed === "object") return h("pre", { class: "json", tabindex: "0" }, JSON.stringify(parsed, null, 2));
      } catch {
        /* plain text */
      }
      return h("p", { class: "result-text" }, value);
    }
    return h("pre", { class: "json", tabindex: "0" }, JSON.stringify(value, null, 2));
  }

  // A thumbnail button in a box of fixed size, so that nothing moves when it loads.
  function thumb(url, label) {
    const img = h("img", { alt: label, width: "160", height: "100", class: "loading" });
    const button = h("button", { type: "button", class: "thumb", "aria-label": `Open ${label} at full size` }, img);
    const name = url.split("?")[0].split("/").pop();
    imageUrl(url, signal)
      .then((blobUrl) => {
        blobs.push(blobUrl);
        img.src = blobUrl;
        img.classList.remove("loading");
        button.addEventListener("click", () => openViewer(blobUrl, label, name));
      })
      .catch((err) => {
        if (err.name !== "AbortError") button.replaceWith(h("span", { class: "thumb missing" }, err.message));
      });
    return button;
  }

  function addStep(step) {
    stepsEmpty.hidden = true;
    const failed = step.outcome !== "ok";
    steps.append(
      h(
        "li",
        { class: `step${failed ? " failed" : ""}`, "data-index": step.index },
        step.screenshot ? thumb(step.screenshot, `Step ${step.index} screenshot`) : h("span", { class: "thumb none" }, "no screenshot"),
        h(
          "div",
          { class: "step-text" },
          h("p", { class: "step-title" }, h("strong", {}, `Step ${step.index}: ${step.action}`), failed ? " — failed" : ""),
          step.url ? h("p", { class: "url" }, step.url) : null,
          h("p", { class: "muted" }, time(step.at), ` · ${duration(step.duration_ms)}`, step.node_uid ? ` · ${step.node_uid}` : "", step.attempt > 1 ? ` · attempt ${step.attempt}` : ""),
          step.error ? h("p", { class: "field-error" }, step.error) : null,
        ),
      ),
    );
  }

  async function follow() {
    try {
      await followEvents(taskId, {
        signal,
        onEvent({ event, data }) {
          if (event === "step") {
            addStep(data);
          } else if (event === "status") {
            if (TERMINAL.has(data.status) && data.finished_at) show(data);
            else refreshSoon();
          }
        },
      });
    } catch (err) {
      if (err.name !== "AbortError") actionError.replaceChildren(message("error", `Live steps stopped: ${err.message}`));
    }
    if (!signal.aborted) refresh();
  }

  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, 150);
  }

  refresh().then(() => {
    if (status) follow();
  });
  return () => {
    controller.abort();
    clearTimeout(refreshTimer);
    for (const url of blobs) URL.revokeObjectURL(url);
  };
}

let viewerUrl = null;

function openViewer(blobUrl, label, name) {
  const dialog = document.getElementById("viewer");
  viewerUrl = blobUrl;
  document.getElementById("viewer-title").textContent = label;
  const img = document.getElementById("viewer-image");
  img.src = blobUrl;
  img.alt = label;
  const download = document.getElementById("viewer-download");
  download.href = blobUrl;
  download.setAttribute("download", name);
  dialog.showModal();
}

export function installViewer() {
  const dialog = document.getElementById("viewer");
  document.getElementById("viewer-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    viewerUrl = null;
  });
}
