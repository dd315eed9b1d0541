// Boot and hash routing. Each view is `render(root, route, signal)`; navigating away aborts
// `signal`, which stops the view's polling and pending requests.

import { api, apiUrl, setApiBase } from "./api.js";
import { cognitoSignInUrl, configureAuth, hasCognito, setToken, takeTokenFromFragment } from "./auth.js";
import { clear, h, showError } from "./dom.js";
import { parseHash } from "./route.js";
import { renderItem } from "./views/item.js";
import { renderProject } from "./views/project.js";
import { renderProjects } from "./views/projects.js";

const routes = [
  [/^\/?$/, (root, route, signal) => renderProjects(root, signal)],
  [/^\/projects\/([^/]+)(?:\/(crawlers|gallery|texts|exports))?$/, (root, route, signal) =>
    renderProject(root, { ...route, projectId: route.match[1], tab: route.match[2] || "crawlers" }, signal)],
  [/^\/items\/([^/]+)$/, (root, route, signal) => renderItem(root, { ...route, itemId: route.match[1] }, signal)],
];

let current = null;
let navigated = false;

async function navigate() {
  const root = document.getElementById("view");
  if (current) current.abort();
  current = new AbortController();
  const { path, query } = parseHash();
  for (const [pattern, render] of routes) {
    const match = path.match(pattern);
    if (!match) continue;
    try {
      await render(root, { path, query, match }, current.signal);
      // Say where we are: the tab title, and focus on the new page for keyboard and
      // screen-reader users (not on the first load, where focus stays at the top).
      const heading = root.querySelector("h1");
      document.title = heading ? `${heading.textContent} · studiolab` : "studiolab";
      if (navigated && !root.contains(document.activeElement)) root.focus({ preventScroll: true });
      navigated = true;
    } catch (error) {
      if (error.name === "AbortError") return;
      clear(root, h("h1", {}, "Something went wrong"), h("p", { class: "error-text" }, error.fullMessage || error.message));
      showError(error);
    }
    return;
  }
  clear(root, h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the projects")));
}

function askForToken(message) {
  const button = document.getElementById("sign-in");
  button.hidden = false;
  if (hasCognito()) return;
  if (document.querySelector("dialog.token")) return;
  const input = h("input", { type: "password", name: "token", id: "token-input", autocomplete: "off", required: true });
  const dialog = h(
    "dialog",
    { class: "token", "aria-labelledby": "token-title" },
    h(
      "form",
      { method: "dialog" },
      h("h2", { id: "token-title" }, "Access token needed"),
      h("p", {}, message || "This server asks for a token.", " Enter the STUDIOLAB_TOKEN it was started with."),
      h("div", { class: "field" }, h("label", { for: "token-input" }, "Token"), input),
      h("div", { class: "actions" },
        h("button", { value: "cancel", type: "submit", formnovalidate: true }, "Cancel"),
        h("button", { value: "save", type: "submit", class: "primary" }, "Use token")),
    ),
  );
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "save" && input.value) {
      setToken(input.value.trim());
      button.hidden = true;
      navigate();
    }
    dialog.remove();
  });
  document.body.append(dialog);
  dialog.showModal();
}

async function loadConfig() {
  // config.json exists where the UI is hosted apart from the API (S3 + CloudFront).
  try {
    const reply = await fetch("config.json", { cache: "no-store" });
    if (reply.ok) return await reply.json();
  } catch {
    /* no config: the API is on this origin */
  }
  return {};
}

async function showHealth() {
  const out = document.getElementById("health");
  try {
    const health = await api("/health");
    out.textContent = `API ${health.status} · version ${health.version} · ${health.mode} mode`;
  } catch (error) {
    out.textContent = `API unreachable: ${error.message}`;
    out.classList.add("error-text");
  }
}

async function boot() {
  const config = await loadConfig();
  setApiBase(config.apiBase || "");
  configureAuth(config, askForToken);
  takeTokenFromFragment();
  document.getElementById("docs-link").href = apiUrl("/docs");
  document.getElementById("sign-in").addEventListener("click", () => {
    const url = cognitoSignInUrl();
    if (url) window.location.assign(url);
    else askForToken();
  });
  window.addEventListener("hashchange", () => {
    if (takeTokenFromFragment()) document.getElementById("sign-in").hidden = true;
    navigate();
  });
  showHealth();
  await navigate();
}

boot();
