// A project's crawlers: create/edit, run/stop, live status every 3 s, run history.

import { api, listAll } from "../api.js";
import {
  clear, confirmDialog, every, formatBytes, formatDuration, formatNumber, formatTime, h, notify, showError,
} from "../dom.js";
import { crawlerForm } from "./crawler_form.js";

const REFRESH_MS = 3000;
const OPEN = new Set(["READY", "RUNNING", "ABORTING", "INTERRUPTED"]);
const KNOWN_COUNTERS = new Set(["items", "pages_ok", "pages_failed", "images", "bytes"]);

export async function renderCrawlers(panel, project, route, signal) {
  const list = h("div", { class: "crawlers" });
  const cards = new Map(); // crawler id -> card controller
  const addButton = h("button", { type: "button", class: "primary" }, "New crawler");
  const formSlot = h("div");
  addButton.addEventListener("click", () => {
    addButton.hidden = true;
    clear(formSlot, crawlerForm(project, null, {
      onSaved: async (crawler) => {
        notify(`Created crawler "${crawler.name}".`, "success");
        clear(formSlot);
        addButton.hidden = false;
        await reload();
      },
      onCancel: () => { clear(formSlot); addButton.hidden = false; addButton.focus(); },
    }));
    formSlot.querySelector("input").focus();
  });

  async function reload() {
    const crawlers = await listAll(`/v1/projects/${project.id}/crawlers`, {}, { signal });
    cards.clear();
    clear(list, crawlers.length ? null : h("p", { class: "muted" }, "No crawlers yet."));
    for (const crawler of crawlers) {
      const card = crawlerCard(project, crawler, reload, signal);
      cards.set(crawler.id, card);
      list.append(card.element);
    }
    await refreshStatus();
  }

  async function refreshStatus() {
    await Promise.all([...cards.values()].map((card) => card.refresh()));
  }

  clear(panel, h("div", { class: "section-head" }, h("h2", {}, "Crawlers"), addButton), formSlot, list);
  await reload();
  every(REFRESH_MS, refreshStatus, signal);
}

function crawlerCard(project, crawler, reload, signal) {
  const status = h("dl", { class: "run-status", "aria-live": "polite", "data-testid": "run-status" });
  const badge = h("span", { class: "badge", "data-testid": "run-state" }, "checking…");
  const runButton = h("button", { type: "button", class: "primary", onclick: () => start() }, "Run");
  const stopButton = h("button", { type: "button", onclick: () => stop(false), disabled: true }, "Stop");
  const stopNowButton = h("button", { type: "button", class: "danger", onclick: () => stop(true), disabled: true }, "Stop now");
  const historyBody = h("tbody");
  const history = h(
    "details",
    { class: "history" },
    h("summary", {}, "Run history"),
    h("div", { class: "table-scroll" }, h("table", {},
      h("thead", {}, h("tr", {},
        ["Started", "State", "Items", "Pages ok", "Failed", "Elapsed", "Error"].map((label) => h("th", { scope: "col" }, label)))),
      historyBody)),
  );
  history.addEventListener("toggle", () => { if (history.open) loadHistory(); });
  const editSlot = h("div");
  const element = h(
    "article",
    { class: "card crawler", dataset: { crawlerId: crawler.id }, "aria-labelledby": `crawler-${crawler.id}` },
    h("div", { class: "section-head" },
      h("h3", { id: `crawler-${crawler.id}` }, crawler.name, " ", badge),
      h("div", { class: "actions" }, runButton, stopButton, stopNowButton,
        h("button", { type: "button", onclick: () => edit() }, "Edit"),
        h("button", { type: "button", class: "danger", onclick: () => remove() }, "Delete"))),
    h("p", { class: "muted small-text" },
      `${crawler.strategy} · ${crawler.start_urls.length} start URL${crawler.start_urls.length === 1 ? "" : "s"}: `,
      crawler.start_urls.slice(0, 2).join(", "), crawler.start_urls.length > 2 ? " …" : "",
      ` · ${crawler.counts.items ?? 0} items stored`),
    status,
    editSlot,
    history,
  );
  let latest = null;

  async function refresh() {
    const page = await api(`/v1/crawlers/${crawler.id}/runs`, { query: { limit: 1 }, signal });
    const run = page.items[0] || null;
    const finished = latest && OPEN.has(latest.status) && run && !OPEN.has(run.status);
    latest = run;
    show(run);
    if (finished) {
      notify(`${crawler.name}: run ${run.status.toLowerCase()} with ${run.counters.items} items.`,
        run.status === "SUCCEEDED" ? "success" : "info");
      if (history.open) loadHistory();
    }
  }

  function show(run) {
    const open = run && OPEN.has(run.status);
    runButton.disabled = Boolean(open);
    stopButton.disabled = !open || run.stop_requested;
    stopNowButton.disabled = !open;
    if (!run) {
      badge.textContent = "never run";
      badge.className = "badge";
      clear(status);
      return;
    }
    badge.textContent = run.stop_requested && open ? `${run.status} (stopping)` : run.status;
    badge.className = `badge state-${run.status.toLowerCase()}`;
    const counters = run.counters;
    const eta = open ? formatDuration(run.eta_s) : "—";
    const entries = [
      ["Items", formatNumber(counters.items), "items"],
      ["Pages ok", formatNumber(counters.pages_ok), "pages-ok"],
      ["Pages failed", formatNumber(counters.pages_failed), "pages-failed"],
      ["Elapsed", formatDuration(run.elapsed_s), "elapsed"],
      ["Items/min", formatNumber(run.items_per_min, 1), "rate"],
      ["Remaining", open ? `${eta}${run.remaining !== null ? ` (${run.remaining} items)` : ""}` : "—", "eta"],
      ["Images", formatNumber(counters.images), "images"],
      ["Downloaded", formatBytes(counters.bytes), "bytes"],
    ];
    // Counters this page has no label for yet (added by newer crawler versions) still show.
    for (const [key, value] of Object.entries(counters)) {
      if (!KNOWN_COUNTERS.has(key)) entries.push([key.replaceAll("_", " "), formatNumber(value), key]);
    }
    clear(
      status,
      entries.map(([label, value, id]) => h("div", {}, h("dt", {}, label), h("dd", { "data-testid": `run-${id}` }, value))),
      run.status_message ? h("div", { class: "wide" }, h("dt", {}, "Status"), h("dd", {}, run.status_message)) : null,
      run.error ? h("div", { class: "wide" }, h("dt", {}, "Last error"),
        h("dd", { class: "error-text" }, `${run.error.code}: ${run.error.message}`)) : null,
    );
  }

  async function start() {
    runButton.disabled = true;
    try {
      const run = await api(`/v1/crawlers/${crawler.id}/runs`, { method: "POST" });
      latest = run;
      show(run);
      notify(`${crawler.name}: run started.`, "success");
    } catch (error) {
      showError(error, `Could not start ${crawler.name}`);
      await refresh();
    }
  }

  async function stop(now) {
    if (!latest) return;
    if (now && !(await confirmDialog("Stop now?", "The run ends at once; items of the current batch may be lost.", "Stop now"))) return;
    try {
      show(await api(`/v1/runs/${latest.id}/stop`, { method: "POST", query: { now: now || null } }));
      notify(now ? `${crawler.name}: stopping now.` : `${crawler.name}: stops after the current batch.`);
    } catch (error) {
      showError(error, `Could not stop ${crawler.name}`);
    }
  }

  async function loadHistory() {
    try {
      const page = await api(`/v1/crawlers/${crawler.id}/runs`, { query: { limit: 20 }, signal });
      clear(historyBody, page.items.length ? page.items.map(historyRow) : h("tr", {}, h("td", { colspan: 7 }, "No runs yet.")));
    } catch (error) {
      showError(error, "Could not load the run history");
    }
  }

  function edit() {
    clear(editSlot, crawlerForm(project, crawler, {
      onSaved: async (saved) => { notify(`Saved crawler "${saved.name}".`, "success"); await reload(); },
      onCancel: () => clear(editSlot),
    }));
    editSlot.querySelector("input").focus();
  }

  async function remove() {
    if (!(await confirmDialog("Delete crawler?", `Delete "${crawler.name}"? Its items stay in the project.`))) return;
    try {
      await api(`/v1/crawlers/${crawler.id}`, { method: "DELETE" });
      notify(`Deleted crawler "${crawler.name}".`, "success");
      await reload();
    } catch (error) {
      showError(error, `Could not delete ${crawler.name}`);
    }
  }

  return { element, refresh };
}

function historyRow(run) {
  return h("tr", {},
    h("td", {}, formatTime(run.started_at || run.created_at)),
    h("td", {}, h("span", { class: `badge state-${run.status.toLowerCase()}` }, run.status)),
    h("td", { class: "num" }, formatNumber(run.counters.items)),
    h("td", { class: "num" }, formatNumber(run.counters.pages_ok)),
    h("td", { class: "num" }, formatNumber(run.counters.pages_failed)),
    h("td", {}, formatDuration(run.elapsed_s)),
    h("td", { class: "error-text" }, run.error ? `${run.error.code}: ${run.error.message}` : ""));
}
