// Projects: the list with counts, a create form (attribute from the taxonomy), delete.

import { api, listAll } from "../api.js";
import { clear, confirmDialog, field, formatTime, h, notify, showError, showFieldErrors } from "../dom.js";

let taxonomy = null;

// The attribute taxonomy, fetched once per page load.
export async function attributes(signal) {
  if (!taxonomy) taxonomy = (await api("/v1/attributes", { signal })).items;
  return taxonomy;
}

export function attributeName(id) {
  const found = (taxonomy || []).find((attribute) => attribute.id === id);
  return found ? found.name : id;
}

// <select> of attributes grouped by category.
export function attributeSelect(name, list, value = "", { anyLabel = null } = {}) {
  const control = h("select", { name, required: anyLabel === null });
  if (anyLabel !== null) control.append(h("option", { value: "" }, anyLabel));
  else control.append(h("option", { value: "", disabled: true, selected: !value }, "Choose an attribute…"));
  const groups = new Map();
  for (const attribute of list) {
    if (!groups.has(attribute.category)) groups.set(attribute.category, []);
    groups.get(attribute.category).push(attribute);
  }
  for (const [category, members] of groups) {
    const group = h("optgroup", { label: category });
    for (const attribute of members) {
      group.append(h("option", { value: attribute.id, selected: attribute.id === value }, attribute.name));
    }
    control.append(group);
  }
  return control;
}

export async function renderProjects(root, signal) {
  const list = await attributes(signal);
  const tableBody = h("tbody");
  const table = h(
    "table",
    { class: "projects" },
    h("caption", { class: "visually-hidden" }, "Projects"),
    h("thead", {}, h("tr", {},
      h("th", { scope: "col" }, "Name"),
      h("th", { scope: "col" }, "Shop"),
      h("th", { scope: "col" }, "Attribute"),
      h("th", { scope: "col", class: "wide-only" }, "Type"),
      h("th", { scope: "col", class: "num" }, "Items"),
      h("th", { scope: "col", class: "wide-only" }, "Created"),
      h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")))),
    tableBody,
  );
  const empty = h("p", { class: "muted", hidden: true }, "No projects yet: create the first one below.");

  async function refresh() {
    const projects = await listAll("/v1/projects", {}, { signal });
    empty.hidden = projects.length > 0;
    table.hidden = projects.length === 0;
    clear(tableBody, projects.map((project) => projectRow(project, refresh)));
  }

  clear(
    root,
    h("h1", {}, "Projects"),
    h("div", { class: "table-scroll" }, table),
    empty,
    createForm(list, refresh),
  );
  await refresh();
}

function projectRow(project, refresh) {
  const counts = project.counts || {};
  return h(
    "tr",
    { dataset: { projectId: project.id } },
    h("td", {}, h("a", { href: `#/projects/${project.id}` }, project.name)),
    h("td", {}, project.shop),
    h("td", {}, attributeName(project.attribute)),
    h("td", { class: "wide-only" }, project.data_type),
    h("td", { class: "num" }, String(counts.items ?? 0)),
    h("td", { class: "wide-only" }, formatTime(project.created_at)),
    h("td", {}, h("button", {
      type: "button",
      class: "danger small",
      "aria-label": `Delete project ${project.name}`,
      onclick: () => deleteProject(project, refresh),
    }, "Delete")),
  );
}

export async function deleteProject(project, after) {
  const items = (project.counts && project.counts.items) || 0;
  const message = items
    ? `"${project.name}" has ${items} items. Deleting it removes them, their images, its crawlers and exports for good.`
    : `Delete "${project.name}" with its crawlers and exports?`;
  if (!(await confirmDialog("Delete project?", message))) return;
  try {
    // Confirmed: remove everything in it (force); open runs still refuse with a 409.
    await api(`/v1/projects/${project.id}`, { method: "DELETE", query: { force: true } });
    notify(`Deleted project "${project.name}".`, "success");
    await after();
  } catch (error) {
    showError(error, "Could not delete the project");
  }
}

function createForm(list, refresh) {
  const name = h("input", { name: "name", required: true, maxlength: 200, autocomplete: "off" });
  const shop = h("input", { name: "shop", required: true, maxlength: 200, placeholder: "e.g. shop.example.com" });
  const attribute = attributeSelect("attribute", list);
  const typeImage = h("input", { type: "radio", name: "data_type", value: "image", id: "type-image", checked: true });
  const typeText = h("input", { type: "radio", name: "data_type", value: "text", id: "type-text" });
  const form = h(
    "form",
    { class: "card create-project", "aria-labelledby": "create-project-title" },
    h("h2", { id: "create-project-title" }, "New project"),
    h("div", { class: "grid-2" },
      field("Name", name),
      field("Shop", shop),
      field("Attribute", attribute, "What the project collects, from the taxonomy."),
      h("fieldset", { class: "field" },
        h("legend", {}, "Data type"),
        h("label", { class: "inline", for: "type-image" }, typeImage, " Images"),
        h("label", { class: "inline", for: "type-text" }, typeText, " Texts"),
        h("small", { class: "field-error", "data-error-for": "data_type", role: "alert" }))),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create project")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const body = {
      name: data.get("name"),
      shop: data.get("shop"),
      attribute: data.get("attribute"),
      data_type: data.get("data_type"),
    };
    try {
      const project = await api("/v1/projects", { method: "POST", body });
      notify(`Created project "${project.name}".`, "success");
      form.reset();
      await refresh();
    } catch (error) {
      if (!showFieldErrors(form, error)) showError(error, "Could not create the project");
    }
  });
  return form;
}
