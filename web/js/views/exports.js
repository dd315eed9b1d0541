// A project's exports: state, counts, size, filters, and a download link when ready;
// refreshed every 3 s while one is still being written.

import { api } from "../api.js";
import { clear, every, formatBytes, formatTime, h } from "../dom.js";

const WORKING = new Set(["PENDING", "RUNNING"]);

function describeFilters(filters) {
  const parts = Object.entries(filters || {})
    .filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([key, value]) => `${key.replace("_", " ")}: ${value}`);
  return parts.length ? parts.join(", ") : "all items";
}

export async function renderExports(panel, project, route, signal) {
  const body = h("tbody");
  const summary = h("p", { class: "muted", "aria-live": "polite" });
  let working = true;

  async function refresh() {
    if (!working && body.childElementCount) return;
    const page = await api(`/v1/projects/${project.id}/exports`, { query: { limit: 50 }, signal });
    working = page.items.some((exported) => WORKING.has(exported.status));
    summary.textContent = page.items.length
      ? `${page.items.length} export${page.items.length === 1 ? "" : "s"}${working ? ", one or more still being written" : ""}.`
      : "No exports yet: use “Export what I see” in the gallery.";
    clear(body, page.items.map(row));
  }

  function row(exported) {
    const ready = exported.status === "SUCCEEDED" && exported.url;
    return h("tr", { dataset: { exportId: exported.id, status: exported.status } },
      h("td", {}, formatTime(exported.created_at)),
      h("td", {}, h("span", { class: `badge state-${exported.status.toLowerCase()}`, "data-testid": "export-status" }, exported.status),
        WORKING.has(exported.status) ? h("progress", { "aria-label": "Export in progress" }) : null),
      h("td", {}, describeFilters(exported.filters)),
      h("td", { class: "num" }, String(exported.counts.items)),
      h("td", { class: "num" }, formatBytes(exported.size)),
      h("td", {}, ready
        ? h("a", { href: exported.url, download: `${project.name}-${exported.id}.zip`, "data-testid": "export-download" }, "Download zip")
        : (exported.error ? h("span", { class: "error-text" }, exported.error) : "—")),
      h("td", {}, exported.url_expires_at ? `link valid until ${formatTime(exported.url_expires_at)}` : ""));
  }

  clear(
    panel,
    h("div", { class: "section-head" }, h("h2", {}, "Exports"),
      h("button", { type: "button", onclick: () => { working = true; refresh(); } }, "Refresh")),
    summary,
    h("div", { class: "table-scroll" }, h("table", { "data-testid": "exports" },
      h("thead", {}, h("tr", {}, ["Started", "State", "Filters", "Items", "Size", "Download", "Link expiry"].map((label) => h("th", { scope: "col" }, label)))),
      body)),
  );
  await refresh();
  every(3000, refresh, signal);
}
