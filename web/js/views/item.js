// One item: original and cut-out, the palette with each colour's explanation mask on
// hover/focus/click, model and pose tags, product fields, texts, source link, delete.

import { api } from "../api.js";
import { clear, confirmDialog, formatTime, h, notify, percent, showError } from "../dom.js";

const PRODUCT_LABELS = {
  name: "Name", brand: "Brand", price: "Price", currency: "Currency", sku: "SKU",
  availability: "Availability", category: "Category", colors_text: "Colours (shop)",
  sizes_text: "Sizes", description: "Description",
};

export async function renderItem(root, route, signal) {
  const item = await api(`/v1/items/${route.itemId}`, { signal });
  const project = await api(`/v1/projects/${item.project_id}`, { signal });
  const urls = item.urls || { masks: [] };
  const title = (item.product && item.product.name) || item.id;

  // The mask is a black/white PNG the size of the image: multiplied over the cut-out it
  // darkens every pixel that is not of the chosen colour (no CORS needed, unlike canvas).
  const maskHint = urls.masks.length ? "Point at or select a colour to see where it is." : "";
  const mask = h("img", { class: "mask-overlay", alt: "", hidden: true, "data-testid": "mask-overlay" });
  const maskCaption = h("p", { class: "muted", "aria-live": "polite" }, maskHint);
  const stage = h(
    "figure",
    { class: "stage checker" },
    urls.cutout
      ? h("div", { class: "layers" }, h("img", { src: urls.cutout, alt: `Cut-out of ${title}` }), mask)
      : h("div", { class: "placeholder" }, `cut-out ${item.state}`),
    h("figcaption", {}, "Cut-out"),
  );
  let pinned = null;
  const showMask = (index) => {
    if (index === null || !urls.masks[index]) {
      mask.hidden = true;
      maskCaption.textContent = maskHint;
      return;
    }
    mask.src = urls.masks[index];
    mask.hidden = false;
    const colour = item.palette[index];
    maskCaption.textContent = `Showing where ${colour.name} (${colour.hex}, ${percent(colour.fraction)}) is.`;
  };

  const paletteRows = item.palette.map((colour, index) => {
    const button = h("button", { type: "button", class: "link", "aria-pressed": "false", "aria-label": `Show where ${colour.name} is` }, "show");
    const row = h(
      "tr",
      { tabindex: 0, dataset: { index: String(index) } },
      h("td", {}, h("span", { class: "swatch", style: { background: colour.hex } })),
      h("td", {}, h("code", {}, colour.hex)),
      h("td", {}, colour.name),
      h("td", {}, colour.basic),
      h("td", { class: "num" }, percent(colour.fraction)),
      h("td", {}, urls.masks[index] ? button : ""),
    );
    row.addEventListener("mouseenter", () => showMask(index));
    row.addEventListener("focus", () => showMask(index));
    row.addEventListener("mouseleave", () => showMask(pinned));
    row.addEventListener("blur", () => showMask(pinned));
    button.addEventListener("click", () => {
      pinned = pinned === index ? null : index;
      for (const other of paletteRows) other.querySelector("button")?.setAttribute("aria-pressed", "false");
      button.setAttribute("aria-pressed", String(pinned === index));
      showMask(pinned);
    });
    return row;
  });

  const person = item.person;
  const productRows = Object.entries(PRODUCT_LABELS)
    .filter(([key]) => item.product && item.product[key])
    .map(([key, label]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, item.product[key])));

  clear(
    root,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: "#/" }, "Projects"), " / ",
      h("a", { href: `#/projects/${project.id}/${project.data_type === "text" ? "texts" : "gallery"}` }, project.name), " / ", title),
    h("div", { class: "page-head" },
      h("div", {}, h("h1", {}, title),
        h("p", { class: "muted" }, `${item.kind} · `, h("span", { class: `badge state-${item.state}`, "data-testid": "item-state" }, item.state),
          ` · added ${formatTime(item.created_at)}`)),
      h("button", { type: "button", class: "danger", onclick: () => remove(item, project) }, "Delete item")),
    item.error ? h("p", { class: "error-text", role: "alert" }, `${item.error.code}: ${item.error.message}`) : null,
    item.kind === "image" ? h("div", { class: "item-images" },
      h("figure", { class: "stage" },
        urls.raw ? h("img", { src: urls.raw, alt: `Original of ${title}` }) : h("div", { class: "placeholder" }, "no original"),
        h("figcaption", {}, "Original")),
      stage) : null,
    item.kind === "image" ? h("section", { "aria-labelledby": "palette-title" },
      h("h2", { id: "palette-title" }, "Palette"),
      item.palette.length ? h("div", { class: "table-scroll" }, h("table", { class: "palette", "data-testid": "palette" },
        h("thead", {}, h("tr", {}, ["Swatch", "Hex", "Name", "Basic", "Share", "Mask"].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, paletteRows))) : h("p", { class: "muted" }, "No palette yet."),
      maskCaption,
      urls.overview ? h("p", {}, h("a", { href: urls.overview, target: "_blank", rel: "noopener" }, "Open the palette sheet")) : null) : null,
    item.kind === "image" ? h("section", { "aria-labelledby": "person-title" },
      h("h2", { id: "person-title" }, "Model and pose"),
      person ? h("dl", { class: "tags-list", "data-testid": "person" },
        h("div", {}, h("dt", {}, "Model shown"), h("dd", {}, person.present ? "yes" : "no")),
        h("div", {}, h("dt", {}, "Confidence"), h("dd", {}, percent(person.confidence))),
        h("div", {}, h("dt", {}, "View"), h("dd", {}, person.view)),
        h("div", {}, h("dt", {}, "Framing"), h("dd", {}, person.framing.replace("_", " "))))
        : h("p", { class: "muted" }, "Not tagged yet.")) : null,
    h("section", { "aria-labelledby": "product-title" },
      h("h2", { id: "product-title" }, "Product"),
      productRows.length ? h("table", { class: "fields" }, h("tbody", {}, productRows)) : h("p", { class: "muted" }, "No product fields."),
      Object.keys(item.texts || {}).length ? h("div", { class: "texts" },
        Object.entries(item.texts).map(([key, text]) => h("div", {}, h("h3", {}, key), h("p", { class: "prewrap" }, text)))) : null,
      h("ul", { class: "links" },
        item.product_url ? h("li", {}, h("a", { href: item.product_url, target: "_blank", rel: "noopener noreferrer" }, "Product page at the shop")) : null,
        item.source_url ? h("li", {}, h("a", { href: item.source_url, target: "_blank", rel: "noopener noreferrer" }, "Image source")) : null)),
  );
}

async function remove(item, project) {
  if (!(await confirmDialog("Delete item?", "The item and its images are deleted for good."))) return;
  try {
    await api(`/v1/items/${item.id}`, { method: "DELETE" });
    notify("Item deleted.", "success");
    window.location.hash = `#/projects/${project.id}/${project.data_type === "text" ? "texts" : "gallery"}`;
  } catch (error) {
    showError(error, "Could not delete the item");
  }
}
