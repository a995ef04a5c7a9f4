// The console's router: hash routes (#/tasks, #/task/<id>, #/new, #/ops, #/signin), so
// the gateway serves one page and no route reaches the server's logs with a task in it.
import { onUnauthorized, session } from "./api.js";
import * as newtask from "./newtask.js";
import * as ops from "./ops.js";
import * as signin from "./signin.js";
import * as tasklist from "./tasklist.js";
import * as taskview from "./taskview.js";
import { clear } from "./ui.js";

const ROUTES = [
  [/^#\/signin$/, signin, "Sign in"],
  [/^#\/new$/, newtask, "New task"],
  [/^#\/tasks$/, tasklist, "Tasks"],
  [/^#\/task\/(?<id>web:[0-9a-f]{32})$/, taskview, "Task"],
  [/^#\/ops$/, ops, "Operators"],
];

const main = document.getElementById("main");
let cleanup = () => {};
let notice = null;

function navigate() {
  const hash = location.hash || "#/tasks";
  if (!hash.startsWith("#/")) return; // the skip link
  if (!session.key && hash !== "#/signin") {
    location.replace("#/signin");
    return;
  }
  if (session.key && hash === "#/signin") {
    location.replace("#/tasks");
    return;
  }
  const found = ROUTES.find(([pattern]) => pattern.test(hash));
  cleanup();
  clear(main);
  if (!found) {
    location.replace("#/tasks");
    return;
  }
  const [pattern, page, title] = found;
  const params = pattern.exec(hash).groups || {};
  document.title = `${title} · Browsing console`;
  showNav(hash);
  cleanup = page.render(main, params, { signedIn, notice }) || (() => {});
  notice = null;
  const heading = document.getElementById("page-title");
  if (heading && document.activeElement !== document.getElementById("key")) heading.focus({ preventScroll: true });
  if (page === signin) document.getElementById("key").focus();
}

function showNav(hash) {
  const nav = document.getElementById("nav");
  nav.hidden = !session.key;
  const me = session.me;
  document.getElementById("nav-ops").hidden = !(me && me.admin);
  document.getElementById("whoami").textContent = me ? `Signed in as ${me.user}${me.admin ? " (admin)" : ""}` : "";
  for (const link of nav.querySelectorAll("a[data-route]")) {
    const current = hash === `#/${link.dataset.route}`;
    if (current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

function signedIn() {
  location.hash = "#/tasks";
}

function signOut(text) {
  session.clear();
  notice = text;
  if (location.hash === "#/signin") navigate();
  else location.hash = "#/signin";
}

document.getElementById("signout").addEventListener("click", () => signOut("You are signed out: the key is forgotten."));
document.getElementById("skip").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
onUnauthorized(() => signOut("The gateway no longer accepts this key: sign in again."));
taskview.installViewer();
window.addEventListener("hashchange", navigate);
navigate();
