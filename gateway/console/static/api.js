// The gateway's API as the console uses it: every call carries the key the user pasted
// as a Bearer header. The key lives in this tab's sessionStorage only: never in a URL,
// a cookie or localStorage, and sign-out forgets it.

const KEY = "browsing.key";
const ME = "browsing.me";

export const session = {
  get key() {
    return sessionStorage.getItem(KEY);
  },
  get me() {
    try {
      return JSON.parse(sessionStorage.getItem(ME) || "null");
    } catch {
      return null;
    }
  },
  save(key, me) {
    sessionStorage.setItem(KEY, key);
    sessionStorage.setItem(ME, JSON.stringify(me));
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(ME);
  },
};

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

const listeners = { unauthorized: () => {} };

// Called when the gateway answers 401 to the signed-in key (revoked meanwhile, say).
export function onUnauthorized(callback) {
  listeners.unauthorized = callback;
}

function headers(key, extra) {
  return { Authorization: `Bearer ${key}`, ...extra };
}

async function send(path, init, key) {
  try {
    return await fetch(path, { ...init, headers: headers(key, init.headers), credentials: "omit", cache: "no-store" });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "The gateway could not be reached: check the connection and try again.");
  }
}

// A JSON call. ``key``: a key to try instead of the session's (sign-in).
export async function call(path, { method = "GET", body, signal, key } = {}) {
  const init = { method, signal, headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  const resp = await send(path, init, key ?? session.key);
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && key === undefined) listeners.unauthorized();
    const message = (data && data.error) || `The gateway answered ${resp.status}.`;
    throw new ApiError(resp.status, message, data);
  }
  return data;
}

// A file stored for the task's file inputs (POST /uploads, multipart): its id and name.
export async function uploadFile(file, signal) {
  const form = new FormData();
  form.append("file", file, file.name);
  const resp = await send("/api/v1/browsing/uploads", { method: "POST", body: form, signal }, session.key);
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    const why = (data && data.error) || `The gateway answered ${resp.status}.`;
    throw new ApiError(resp.status, `${file.name}: ${why}`, data);
  }
  return data;
}

// A screenshot, fetched with the key, as a blob: URL the page may show (img-src blob:).
export async function imageUrl(path, signal) {
  const resp = await send(path, { signal }, session.key);
  if (!resp.ok) {
    let message = `The screenshot could not be loaded (${resp.status}).`;
    try {
      message = (await resp.json()).error || message;
    } catch {
      /* not JSON */
    }
    throw new ApiError(resp.status, message);
  }
  return URL.createObjectURL(await resp.blob());
}

function parseFrame(lines) {
  const frame = { id: null, event: "message", data: [] };
  for (const line of lines) {
    if (line === "" || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const field = at < 0 ? line : line.slice(0, at);
    let value = at < 0 ? "" : line.slice(at + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "id") frame.id = value;
    else if (field === "event") frame.event = value;
    else if (field === "data") frame.data.push(value);
    else if (field === "retry") frame.retry = Number(value);
  }
  return frame;
}

// The task's Server-Sent Events, read with fetch() because EventSource cannot send an
// Authorization header. Reconnects with Last-Event-ID after a dropped connection, as
// EventSource would, and ends after the stream's last event (id "end") or a 204.
export async function followEvents(taskId, { signal, onEvent }) {
  let lastId = null;
  let retryMs = 1000;
  const path = `/api/v1/browsing/events?task_id=${encodeURIComponent(taskId)}`;
  for (;;) {
    const extra = { Accept: "text/event-stream" };
    if (lastId) extra["Last-Event-ID"] = lastId;
    let resp;
    try {
      resp = await send(path, { signal, headers: extra }, session.key);
    } catch (err) {
      if (err.name === "AbortError") return;
      await pause(retryMs, signal);
      continue;
    }
    if (resp.status === 204) return;
    if (!resp.ok) {
      let message = `The event stream answered ${resp.status}.`;
      try {
        message = (await resp.json()).error || message;
      } catch {
        /* not JSON */
      }
      throw new ApiError(resp.status, message);
    }
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = parseFrame(buffer.slice(0, end).split("\n"));
          buffer = buffer.slice(end + 2);
          if (frame.retry) retryMs = frame.retry;
          if (frame.id) lastId = frame.id;
          if (frame.data.length) onEvent({ id: frame.id, event: frame.event, data: JSON.parse(frame.data.join("\n")) });
          if (frame.id === "end") return;
        }
      }
    } catch (err) {
      if (err.name === "AbortError") return;
    }
    if (lastId === "end") return;
    await pause(retryMs, signal);
    if (signal && signal.aborted) return;
  }
}

function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (signal) signal.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}
