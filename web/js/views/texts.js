// Text projects: the crawled texts in a table, searched on the server (`q`), paged.

import { api } from "../api.js";
import { clear, field, h, showError } from "../dom.js";
import { replaceQuery } from "../route.js";

const PAGE = 50;
const EXCERPT = 280;

function excerpt(text) {
  if (!text) return "";
  return text.length > EXCERPT ? `${text.slice(0, EXCERPT)}…` : text;
}

export async function renderTexts(panel, project, route, signal) {
  const search = h("input", { type: "search", name: "q", value: route.query.get("q") || "", maxlength: 200, placeholder: "words in names, descriptions, reviews…" });
  const body = h("tbody");
  const summary = h("p", { class: "muted", "aria-live": "polite", "data-testid": "texts-summary" });
  const more = h("button", { type: "button", hidden: true, onclick: () => load(false) }, "Load more");
  let cursor = null;
  let generation = 0;
  let shown = 0;

  async function load(first) {
    const mine = first ? ++generation : generation;
    if (first) { cursor = null; shown = 0; clear(body); }
    const q = search.value.trim();
    try {
      const page = await api(`/v1/projects/${project.id}/items`, {
        query: { kind: "text", q: q || null, limit: PAGE, cursor }, signal,
      });
      if (mine !== generation) return;
      cursor = page.next;
      shown += page.items.length;
      body.append(...page.items.map(row));
      summary.textContent = shown
        ? `${shown} text${shown === 1 ? "" : "s"}${q ? ` matching "${q}"` : ""}${cursor ? ", more available" : ""}.`
        : (q ? `Nothing matches "${q}".` : "No texts crawled yet.");
      more.hidden = !cursor;
    } catch (error) {
      showError(error, "Could not load texts");
    }
  }

  function row(item) {
    const texts = item.texts || {};
    const product = item.product || {};
    const main = texts.title || product.name || item.id;
    const description = texts.description || product.description || "";
    const others = Object.entries(texts).filter(([key]) => key !== "title" && key !== "description");
    return h("tr", {},
      h("td", {}, h("a", { href: `#/items/${item.id}` }, main)),
      h("td", { class: "prewrap" }, excerpt(description)),
      h("td", {}, others.map(([key, text]) => h("p", { class: "small-text" }, h("strong", {}, `${key}: `), excerpt(text)))),
      h("td", {}, item.product_url ? h("a", { href: item.product_url, target: "_blank", rel: "noopener noreferrer" }, "source") : ""));
  }

  let timer = null;
  search.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const query = new URLSearchParams();
      if (search.value.trim()) query.set("q", search.value.trim());
      replaceQuery(query);
      load(true);
    }, 350);
  });

  clear(
    panel,
    h("form", { role: "search", class: "text-search", onsubmit: (event) => { event.preventDefault(); load(true); } }, field("Search texts", search)),
    summary,
    h("div", { class: "table-scroll" }, h("table", { class: "texts-table", "data-testid": "texts" },
      h("thead", {}, h("tr", {}, ["Title", "Description", "Other texts", "Link"].map((label) => h("th", { scope: "col" }, label)))),
      body)),
    more,
  );
  await load(true);
}
