// A project's page: its header and tabs (crawlers, gallery or texts, exports).

import { api } from "../api.js";
import { clear, h } from "../dom.js";
import { renderCrawlers } from "./crawlers.js";
import { renderExports } from "./exports.js";
import { renderGallery } from "./gallery.js";
import { attributeName, attributes, deleteProject } from "./projects.js";
import { renderTexts } from "./texts.js";

const TAB_RENDERERS = {
  crawlers: renderCrawlers,
  gallery: renderGallery,
  texts: renderTexts,
  exports: renderExports,
};

export async function renderProject(root, route, signal) {
  const [project] = await Promise.all([
    api(`/v1/projects/${route.projectId}`, { signal }),
    attributes(signal),
  ]);
  const contentTab = project.data_type === "text" ? ["texts", "Texts"] : ["gallery", "Gallery"];
  const tabs = [["crawlers", "Crawlers"], contentTab, ["exports", "Exports"]];
  const tab = tabs.some(([id]) => id === route.tab) ? route.tab : "crawlers";
  const counts = project.counts || {};
  const panel = h("section", { id: "tab-panel", "aria-label": tabs.find(([id]) => id === tab)[1] });
  clear(
    root,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Projects"), " / ", project.name),
    h(
      "div",
      { class: "page-head" },
      h("div", {},
        h("h1", {}, project.name),
        h("p", { class: "muted" },
          `${project.shop} · ${attributeName(project.attribute)} · ${project.data_type} · `,
          h("span", { "data-testid": "project-items" }, `${counts.items ?? 0} items`))),
      h("button", {
        type: "button",
        class: "danger",
        onclick: () => deleteProject(project, async () => { window.location.hash = "#/"; }),
      }, "Delete project"),
    ),
    h(
      "nav",
      { class: "tabs", "aria-label": "Project sections" },
      tabs.map(([id, label]) =>
        h("a", { href: `#/projects/${project.id}/${id}`, "aria-current": id === tab ? "page" : null }, label)),
    ),
    panel,
  );
  await TAB_RENDERERS[tab](panel, project, route, signal);
}
