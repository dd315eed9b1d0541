// The crawler create/edit form: start URLs, strategy, selectors, limits, politeness.

import { api } from "../api.js";
import { field, h, select, showError, showFieldErrors } from "../dom.js";

const STRATEGIES = [
  ["auto", "Automatic (Shopify, JSON-LD, Open Graph, heuristics)"],
  ["shopify", "Shopify storefront JSON"],
  ["jsonld", "schema.org JSON-LD / microdata"],
  ["selectors", "CSS selectors only"],
];
const SELECTOR_FIELDS = [
  "product_link", "next_page", "name", "brand", "price", "currency", "sku", "availability",
  "image", "colors", "sizes", "category", "description",
];

function lines(text) {
  return text.split(/\s*\n\s*/).map((line) => line.trim()).filter(Boolean);
}

function numberOrNull(value) {
  return value === "" || value === null ? null : Number(value);
}

export function crawlerForm(project, crawler, { onSaved, onCancel }) {
  const editing = crawler !== null;
  const limits = (crawler && crawler.limits) || { max_items: 1000, max_pages: 5000 };
  const politeness = (crawler && crawler.politeness) || { delay_s: 1, concurrency: 2, obey_robots: true };
  const selectors = (crawler && crawler.selectors) || {};
  const prefix = editing ? `edit-${crawler.id}` : "new-crawler";

  const name = h("input", { name: "name", required: true, maxlength: 200, value: crawler ? crawler.name : "" });
  const startUrls = h("textarea", { name: "start_urls", required: true, rows: 3, placeholder: "https://shop.example.com/" },
    crawler ? crawler.start_urls.join("\n") : "");
  const strategy = select("strategy", STRATEGIES, crawler ? crawler.strategy : "auto");
  const allowed = h("textarea", { name: "allowed_domains", rows: 2, placeholder: "defaults to the start URLs' hosts" },
    crawler ? crawler.allowed_domains.join("\n") : "");
  const maxItems = h("input", { name: "max_items", type: "number", min: 1, max: 1000000, value: limits.max_items ?? "" });
  const maxPages = h("input", { name: "max_pages", type: "number", min: 1, max: 10000000, value: limits.max_pages ?? "" });
  const delay = h("input", { name: "delay_s", type: "number", min: 0, max: 600, step: 0.1, value: politeness.delay_s });
  const concurrency = h("input", { name: "concurrency", type: "number", min: 1, max: 64, value: politeness.concurrency });
  const robots = h("input", { name: "obey_robots", type: "checkbox", id: `${prefix}-robots`, checked: politeness.obey_robots });
  const selectorInputs = SELECTOR_FIELDS.map((key) =>
    h("input", { name: `selector_${key}`, value: selectors[key] || "", placeholder: "CSS selector", "data-selector": key }));

  const form = h(
    "form",
    { class: "card crawler-form", "aria-label": editing ? `Edit crawler ${crawler.name}` : "New crawler" },
    h("h3", {}, editing ? `Edit "${crawler.name}"` : "New crawler"),
    h("div", { class: "grid-2" },
      field("Name", name),
      field("Strategy", strategy, "How products are read; automatic suits most shops."),
      field("Start URLs (one per line)", startUrls, "Home, sitemap, listing or product pages."),
      field("Allowed domains (one per line)", allowed)),
    h("fieldset", {}, h("legend", {}, "Limits and politeness"),
      h("div", { class: "grid-4" },
        field("Max items", maxItems),
        field("Max pages", maxPages),
        field("Delay per domain (s)", delay),
        field("Concurrency", concurrency)),
      h("label", { class: "inline", for: robots.id }, robots, " Obey robots.txt")),
    h("details", { open: Object.keys(selectors).length > 0 || (crawler && crawler.strategy === "selectors") },
      h("summary", {}, "CSS selectors (optional; override what extraction finds)"),
      h("div", { class: "grid-3" }, selectorInputs.map((input) => field(`${input.dataset.selector.replace("_", " ")} selector`, input))),
      h("small", { class: "field-error", "data-error-for": "selectors", role: "alert" })),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: onCancel }, "Cancel"),
      h("button", { type: "submit", class: "primary" }, editing ? "Save crawler" : "Create crawler")),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const chosenSelectors = {};
    for (const input of selectorInputs) {
      if (input.value.trim()) chosenSelectors[input.dataset.selector] = input.value.trim();
    }
    const domains = lines(allowed.value);
    const body = {
      name: name.value,
      start_urls: lines(startUrls.value),
      strategy: strategy.value,
      selectors: chosenSelectors,
      limits: { max_items: numberOrNull(maxItems.value), max_pages: numberOrNull(maxPages.value) },
      politeness: {
        delay_s: Number(delay.value || 0),
        concurrency: Number(concurrency.value || 1),
        obey_robots: robots.checked,
      },
    };
    if (domains.length) body.allowed_domains = domains;
    try {
      const saved = editing
        ? await api(`/v1/crawlers/${crawler.id}`, { method: "PATCH", body: { ...body, version: crawler.version } })
        : await api(`/v1/projects/${project.id}/crawlers`, { method: "POST", body });
      await onSaved(saved);
    } catch (error) {
      if (!showFieldErrors(form, error)) showError(error, "Could not save the crawler");
      else showError(error, "Please fix the marked fields");
    }
  });
  return form;
}
