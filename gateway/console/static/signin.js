import { ApiError, call, session } from "./api.js";
import { h, heading } from "./ui.js";

export function render(main, _params, ctx) {
  const error = h("p", { id: "key-error", class: "field-error", role: "alert" });
  const input = h("input", {
    id: "key",
    name: "key",
    type: "password",
    autocomplete: "off",
    spellcheck: "false",
    required: true,
    "aria-describedby": "key-help key-error",
  });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card narrow", novalidate: true },
    h("label", { for: "key" }, "API key"),
    input,
    h("p", { id: "key-help", class: "hint" }, "Kept for this browser tab only, and forgotten when you sign out or close the tab."),
    error,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    error.textContent = "";
    input.removeAttribute("aria-invalid");
    if (!key) {
      fail("Paste your API key first.");
      return;
    }
    button.disabled = true;
    try {
      const me = await call("/api/v1/browsing/me", { key });
      session.save(key, me);
      ctx.signedIn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        fail("This API key was not accepted. Check that you pasted all of it; it may also have been revoked.");
      } else {
        fail(err.message);
      }
    } finally {
      button.disabled = false;
    }
  });
  function fail(text) {
    error.textContent = text;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  main.append(
    heading("Sign in"),
    h("p", {}, "Paste an API key to submit tasks and follow them. Operators ask theirs with ", h("code", {}, "browsing keys create USER"), "."),
    form,
  );
  if (ctx.notice) main.insertBefore(h("p", { class: "message info", role: "status" }, ctx.notice), form);
  return () => {};
}
