// The gallery: filters, thumbnails with palettes, infinite scroll, multi-select delete,
// "export what I see", and uploads; items still processing refresh themselves.

import { api, listAll } from "../api.js";
import { clear, confirmDialog, every, h, notify, showError } from "../dom.js";
import { replaceQuery } from "../route.js";
import { FILTER_KEYS, filterForm, filtersFromQuery, swatchStrip } from "./filters.js";
import { attributes } from "./projects.js";
import { uploadZone } from "./uploads.js";

const PAGE = 48;
const BUSY = new Set(["pending", "processing"]);

export async function renderGallery(panel, project, route, signal) {
  const [crawlers, taxonomy] = await Promise.all([
    listAll(`/v1/projects/${project.id}/crawlers`, {}, { signal }),
    attributes(signal),
  ]);
  let filters = filtersFromQuery(route.query);
  let cursor = null;
  let loading = false;
  let generation = 0; // a filter change discards pages still in flight for old filters
  const selected = new Set();
  const cards = new Map(); // item id -> <li>

  const grid = h("ul", { class: "gallery", "aria-label": "Items", "data-testid": "gallery" });
  const summary = h("p", { class: "muted", "aria-live": "polite", "data-testid": "gallery-summary" });
  const more = h("button", { type: "button", onclick: () => loadPage() }, "Load more");
  const fresh = h("button", { type: "button", class: "primary", hidden: true, "data-testid": "show-new", onclick: () => reset() }, "");
  const sentinel = h("div", { class: "sentinel", "aria-hidden": "true" });
  const selectionText = h("span", { "data-testid": "selection" }, "0 selected");
  const deleteSelected = h("button", { type: "button", class: "danger", disabled: true, onclick: () => removeSelected() }, "Delete selected");
  const cutouts = h("input", { type: "checkbox", id: "export-cutouts" });
  const { form } = filterForm(filters, crawlers, taxonomy, (next) => {
    filters = next;
    const query = new URLSearchParams();
    for (const key of FILTER_KEYS) if (filters[key]) query.set(key, filters[key]);
    replaceQuery(query);
    reset();
  });

  clear(
    panel,
    h("div", { class: "gallery-layout" },
      h("aside", { class: "filter-panel" }, h("h2", {}, "Filters"), form),
      h("div", { class: "gallery-main" },
        uploadZone(project, (item) => addUploaded(item)),
        h("div", { class: "toolbar", role: "toolbar", "aria-label": "Selection and export" },
          selectionText,
          h("button", { type: "button", onclick: () => selectAll(true) }, "Select all shown"),
          h("button", { type: "button", onclick: () => selectAll(false) }, "Clear selection"),
          deleteSelected,
          h("button", { type: "button", class: "danger", onclick: () => removeMatching() }, "Delete all matching…"),
          h("span", { class: "spacer" }),
          h("label", { class: "inline", for: "export-cutouts" }, cutouts, " with cut-outs"),
          h("button", { type: "button", class: "primary", onclick: () => exportView() }, "Export what I see")),
        h("div", { class: "summary-row" }, summary, fresh),
        grid,
        h("div", { class: "load-more" }, more),
        sentinel)),
  );

  function reset() {
    fresh.hidden = true;
    generation += 1;
    cursor = null;
    selected.clear();
    cards.clear();
    clear(grid);
    updateSelection();
    loadPage(true);
  }

  async function loadPage(first = false) {
    if (loading && !first) return;
    if (!first && cursor === null) return;
    loading = true;
    more.disabled = true;
    const mine = generation;
    try {
      // A near-colour page may come back short: keep going until something shows or the end.
      let fetched = 0;
      do {
        const page = await api(`/v1/projects/${project.id}/items`, {
          query: { ...filters, thumbnails: true, limit: PAGE, cursor: first ? null : cursor }, signal,
        });
        if (mine !== generation) return;
        first = false;
        cursor = page.next;
        fetched += page.items.length;
        for (const item of page.items) if (!cards.has(item.id)) grid.append(card(item));
      } while (cursor && fetched < PAGE / 2);
      summary.textContent = `${cards.size} item${cards.size === 1 ? "" : "s"} shown${cursor ? ", more below" : ""}.`;
      more.hidden = !cursor;
    } catch (error) {
      showError(error, "Could not load items");
      summary.textContent = "Loading failed.";
    } finally {
      if (mine === generation) {
        loading = false;
        more.disabled = false;
      }
    }
  }

  function card(item) {
    const name = (item.product && item.product.name) || item.id;
    const checkbox = h("input", { type: "checkbox", "aria-label": `Select ${name}`, checked: selected.has(item.id) });
    checkbox.addEventListener("change", () => {
      if (checkbox.checked) selected.add(item.id);
      else selected.delete(item.id);
      li.classList.toggle("selected", checkbox.checked);
      updateSelection();
    });
    const thumb = item.thumbnail_url
      ? h("img", { src: item.thumbnail_url, alt: name, loading: "lazy", width: 200, height: 200 })
      : h("div", { class: "placeholder" }, item.state === "failed" ? "failed" : `${item.state}…`);
    const person = item.person && item.person.present
      ? `model · ${item.person.view} · ${item.person.framing.replace("_", " ")}` : null;
    const li = h(
      "li",
      { class: `item-card state-${item.state}`, dataset: { itemId: item.id, state: item.state } },
      h("label", { class: "select" }, checkbox),
      h("a", { href: `#/items/${item.id}`, class: "thumb" }, thumb),
      swatchStrip(item.palette || []),
      h("p", { class: "caption" }, h("span", { class: "name" }, name),
        item.state !== "done" ? h("span", { class: `badge state-${item.state}` }, item.state) : null),
      person ? h("p", { class: "tags" }, person) : null,
      item.error ? h("p", { class: "error-text small-text" }, item.error.message) : null,
    );
    const previous = cards.get(item.id);
    cards.set(item.id, li);
    if (previous) previous.replaceWith(li);
    return li;
  }

  function addUploaded(item) {
    grid.prepend(card(item));
    summary.textContent = `${cards.size} items shown.`;
  }

  // New items (a crawl or uploads elsewhere): offered, not pushed into the grid under the
  // reader's eyes; an empty gallery simply fills.
  async function checkForNew() {
    if (loading) return;
    const mine = generation;
    // Only ids are compared here: no signed thumbnail URLs (reset() loads the real page).
    const page = await api(`/v1/projects/${project.id}/items`, { query: { ...filters, limit: PAGE }, signal });
    if (mine !== generation) return;
    const unseen = page.items.filter((item) => !cards.has(item.id));
    if (!unseen.length) return;
    if (!cards.size) {
      reset();
      return;
    }
    fresh.textContent = `Show ${unseen.length}${page.next && unseen.length === page.items.length ? "+" : ""} new item${unseen.length === 1 ? "" : "s"}`;
    fresh.hidden = false;
  }

  // Items still being processed: re-read them until they are done.
  async function refreshBusy() {
    const busy = [...cards.entries()].filter(([, li]) => BUSY.has(li.dataset.state)).slice(0, 24);
    await Promise.all(busy.map(async ([id]) => {
      const item = await api(`/v1/items/${id}`, { signal });
      if (BUSY.has(item.state)) return;
      card({ ...item, thumbnail_url: item.urls && item.urls.thumbnail });
    }));
  }

  function updateSelection() {
    selectionText.textContent = `${selected.size} selected`;
    deleteSelected.disabled = selected.size === 0;
  }

  function selectAll(on) {
    for (const [id, li] of cards) {
      li.querySelector('input[type="checkbox"]').checked = on;
      li.classList.toggle("selected", on);
      if (on) selected.add(id);
      else selected.delete(id);
    }
    updateSelection();
  }

  async function removeSelected() {
    const ids = [...selected];
    if (!(await confirmDialog("Delete items?", `Delete ${ids.length} selected item${ids.length === 1 ? "" : "s"} and their images?`))) return;
    let done = 0;
    const failures = [];
    for (let start = 0; start < ids.length; start += 6) {
      await Promise.all(ids.slice(start, start + 6).map(async (id) => {
        try {
          await api(`/v1/items/${id}`, { method: "DELETE" });
          cards.get(id)?.remove();
          cards.delete(id);
          selected.delete(id);
          done += 1;
        } catch (error) {
          failures.push(error);
        }
      }));
    }
    updateSelection();
    notify(`Deleted ${done} item${done === 1 ? "" : "s"}.`, "success");
    if (failures.length) showError(failures[0], `${failures.length} could not be deleted`);
  }

  async function removeMatching() {
    if (!(await confirmDialog("Delete all matching items?", "Every item matching the current filters is deleted with its images, also those not loaded yet."))) return;
    let deleted = 0;
    let next = null;
    try {
      do {
        const result = await api(`/v1/projects/${project.id}/items/delete`, { method: "POST", body: { ...filters, cursor: next || undefined } });
        deleted += result.deleted;
        next = result.next;
      } while (next);
      notify(`Deleted ${deleted} matching item${deleted === 1 ? "" : "s"}.`, "success");
    } catch (error) {
      showError(error, `Stopped after deleting ${deleted}`);
    }
    reset();
  }

  async function exportView() {
    const body = { ...filters, include_cutouts: cutouts.checked };
    if (body.radius) body.radius = Number(body.radius);
    if (body.model_present) body.model_present = body.model_present === "true";
    try {
      const started = await api(`/v1/projects/${project.id}/exports`, { method: "POST", body });
      notify(`Export started (${started.id}). It appears under Exports with a download link when ready.`, "success");
    } catch (error) {
      showError(error, "Could not start the export");
    }
  }

  const observer = new IntersectionObserver((entries) => {
    if (entries.some((entry) => entry.isIntersecting)) loadPage();
  }, { rootMargin: "400px" });
  observer.observe(sentinel);
  signal.addEventListener("abort", () => observer.disconnect());
  await loadPage(true);
  every(3000, refreshBusy, signal);
  every(5000, checkForNew, signal);
}
