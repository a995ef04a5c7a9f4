import { ApiError, call, uploadFile } from "./api.js";
import { h, heading, message } from "./ui.js";

export const RERUN = "browsing.rerun"; // sessionStorage: a request to fill the form with

// Where the API's error message says the problem is: the field it names first.
const FIELD_NAMES = [
  ["webhook.secret", "webhook_secret"],
  ["webhook.url", "webhook_url"],
  ["webhook", "webhook_url"],
  ["filter.country_iso", "country_iso"],
  ["country_iso", "country_iso"],
  ["filter.node_uid", "node_uid"],
  ["node_uid", "node_uid"],
  ["filter", "country_iso"],
  ["session_persist", "session_persist"],
  ["session_key", "session_key"],
  ["record.trace", "record_trace"],
  ["record", "record_trace"],
  ["uploads", "uploads"],
  ["output_schema", "output_schema"],
  ["screenshots.full_page", "full_page"],
  ["screenshots.mode", "mode"],
  ["screenshots", "mode"],
  ["fanout", "fanout"],
  ["timeout", "timeout"],
  ["template", "template"],
  ["task", "task"],
];

export function fieldFor(text) {
  let best = null;
  for (const [name, field] of FIELD_NAMES) {
    const match = new RegExp(`(^|[^A-Za-z_.])${name.replace(".", "\\.")}(?![A-Za-z_])`).exec(text);
    if (!match) continue;
    const at = match.index + match[1].length;
    if (best === null || at < best.at || (at === best.at && name.length > best.length)) {
      best = { at, length: name.length, field };
    }
  }
  return best && best.field;
}

function field(id, label, control, hint) {
  const hintEl = hint ? h("p", { id: `${id}-hint`, class: "hint" }, hint) : null;
  const error = h("p", { id: `${id}-error`, class: "field-error" });
  control.id = id;
  control.name = id;
  control.setAttribute("aria-describedby", [hintEl && `${id}-hint`, `${id}-error`].filter(Boolean).join(" "));
  return h("div", { class: "field", "data-field": id }, h("label", { for: id }, label), control, hintEl, error);
}

function checkbox(id, label, hint) {
  const input = h("input", { type: "checkbox", id, name: id, "aria-describedby": `${id}-hint ${id}-error` });
  return h(
    "div",
    { class: "field check", "data-field": id },
    input,
    h("label", { for: id }, label),
    h("p", { id: `${id}-hint`, class: "hint" }, hint),
    h("p", { id: `${id}-error`, class: "field-error" }),
  );
}

export function render(main) {
  const controller = new AbortController();
  const templates = h("select", {}, h("option", { value: "" }, "default"));
  const form = h(
    "form",
    { class: "card", novalidate: true },
    field("task", "Instruction", h("textarea", { rows: "4", required: true }), "What the browser agent should do, e.g. Open https://example.com and return the title."),
    h(
      "fieldset",
      {},
      h("legend", {}, "Screenshots"),
      field(
        "mode",
        "Screenshot mode",
        h(
          "select",
          {},
          h("option", { value: "" }, "none"),
          h("option", { value: "final_only" }, "final only"),
          h("option", { value: "every_step" }, "every step"),
          h("option", { value: "on_navigation" }, "on navigation"),
        ),
      ),
      checkbox("full_page", "Full page", "Capture the whole scrollable page, not only the visible part (final only)."),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Where it runs"),
      field("country_iso", "Country (ISO code)", h("input", { type: "text", autocomplete: "off", maxlength: "2", class: "short" }), "Only nodes in this country, e.g. DE. Leave empty for any."),
      field("node_uid", "Node uid", h("input", { type: "text", autocomplete: "off" }), "One node only; give either a country or a node."),
      field("session_key", "Session key", h("input", { type: "text", autocomplete: "off" }), "Tasks with the same key run one at a time and start from the browser state (cookies, storage) the previous one left."),
      checkbox("session_persist", "Keep the session's browser state", "Load and save the session's state; unchecked, this task neither loads nor saves it."),
      field("fanout", "Fanout", h("input", { type: "number", inputmode: "numeric", min: "1", max: "10", class: "short" }), "Race the task on this many nodes (1 to 10); the first success wins."),
      field("timeout", "Timeout (milliseconds)", h("input", { type: "number", inputmode: "numeric", min: "1", class: "short" }), "Default 300000 (5 minutes); at most 10800000 (3 hours)."),
      field("template", "Template", templates),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Files and recording"),
      field("uploads", "Files for the page's file inputs", h("input", { type: "file", multiple: true }), "Uploaded first, then named in the instruction, e.g. Upload report.pdf into 'Attachment'."),
      checkbox("record_trace", "Record a Playwright trace", "Keep a trace of the run, to open with playwright show-trace."),
      field("output_schema", "Output schema (JSON Schema)", h("textarea", { rows: "3", spellcheck: "false" }), 'Optional: the result is also delivered as data matching it, e.g. {"type": "object", "properties": {"price": {"type": "number"}}}.'),
    ),
    h(
      "fieldset",
      {},
      h("legend", {}, "Webhook"),
      field("webhook_url", "Webhook URL", h("input", { type: "url", autocomplete: "off" }), "Called once when the task finishes. Optional."),
      field("webhook_secret", "Webhook secret", h("input", { type: "password", autocomplete: "off" }), "Signs the call; empty: your own signing secret."),
    ),
    h("div", { id: "form-error" }),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "submit" }, "Run task")),
  );
  const get = (id) => form.querySelector(`#${id}`);
  get("session_persist").checked = true;

  call("/api/v1/browsing/templates", { signal: controller.signal })
    .then((body) => {
      for (const name of body.templates) if (name !== "default") templates.append(h("option", { value: name }, name));
      prefill();
    })
    .catch(() => prefill());

  function prefill() {
    const raw = sessionStorage.getItem(RERUN);
    if (!raw) return;
    sessionStorage.removeItem(RERUN);
    const req = JSON.parse(raw);
    get("task").value = req.task || "";
    get("mode").value = (req.screenshots && req.screenshots.mode) || "";
    get("full_page").checked = Boolean(req.screenshots && req.screenshots.full_page);
    get("country_iso").value = (req.filter && req.filter.country_iso) || "";
    get("node_uid").value = (req.filter && req.filter.node_uid) || "";
    get("session_key").value = req.session_key || "";
    get("session_persist").checked = req.session_persist !== false;
    get("record_trace").checked = Boolean(req.record && req.record.trace);
    get("output_schema").value = req.output_schema ? JSON.stringify(req.output_schema, null, 2) : "";
    get("fanout").value = req.fanout ?? "";
    get("timeout").value = req.timeout ?? "";
    get("template").value = req.template && req.template !== "default" ? req.template : "";
    get("webhook_url").value = (req.webhook && req.webhook.url) || "";
  }

  // The chosen files, stored first (POST /uploads); an upload refused shows at its field.
  async function uploads() {
    const ids = [];
    for (const file of get("uploads").files) {
      try {
        ids.push((await uploadFile(file, controller.signal)).id);
      } catch (err) {
        if (err instanceof ApiError) err.field = "uploads";
        throw err;
      }
    }
    return ids;
  }

  function body(uploadIds) {
    const out = { task: get("task").value };
    const mode = get("mode").value;
    if (mode) out.screenshots = { mode, full_page: get("full_page").checked };
    const filter = {};
    if (get("country_iso").value.trim()) filter.country_iso = get("country_iso").value.trim();
    if (get("node_uid").value.trim()) filter.node_uid = get("node_uid").value.trim();
    if (Object.keys(filter).length) out.filter = filter;
    if (get("session_key").value) {
      out.session_key = get("session_key").value;
      if (!get("session_persist").checked) out.session_persist = false;
    }
    if (get("record_trace").checked) out.record = { trace: true };
    if (uploadIds.length) out.uploads = uploadIds;
    const schema = get("output_schema").value.trim();
    if (schema) {
      try {
        out.output_schema = JSON.parse(schema);
      } catch {
        const err = new ApiError(400, "output_schema is not JSON: write a JSON Schema object");
        err.field = "output_schema";
        throw err;
      }
    }
    for (const name of ["fanout", "timeout"]) {
      const raw = get(name).value;
      if (raw !== "") out[name] = Number(raw);
    }
    if (get("template").value) out.template = get("template").value;
    if (get("webhook_url").value.trim()) {
      out.webhook = { url: get("webhook_url").value.trim() };
      if (get("webhook_secret").value) out.webhook.secret = get("webhook_secret").value;
    }
    return out;
  }

  function clearErrors() {
    for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
    for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
    form.querySelector("#form-error").replaceChildren();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors();
    const submit = get("submit");
    submit.disabled = true;
    try {
      const request = body([]); // checked before any file is stored
      const ids = await uploads();
      if (ids.length) request.uploads = ids;
      const created = await call("/api/v1/browsing/async", { method: "POST", body: request, signal: controller.signal });
      location.hash = `#/task/${created.task_id}`;
    } catch (err) {
      if (err.name === "AbortError") return;
      const target = err instanceof ApiError ? err.field || (err.status === 400 ? fieldFor(err.message) : null) : null;
      if (target) {
        form.querySelector(`#${target}-error`).textContent = err.message;
        get(target).setAttribute("aria-invalid", "true");
        get(target).focus();
      } else {
        form.querySelector("#form-error").replaceChildren(message("error", err.message));
      }
    } finally {
      submit.disabled = false;
    }
  });

  main.append(heading("New task"), form);
  return () => controller.abort();
}
