// The item filters of the gallery (and of "export what I see"), kept in the URL's query.

import { field, h, select } from "../dom.js";
import { attributeSelect } from "./projects.js";

export const BASIC_COLOURS = {
  Black: "#1b1b1b", Blue: "#2f5fd0", Brown: "#7b4a24", Green: "#2e8b3d", Grey: "#8c8c8c",
  Orange: "#f08a1c", Pink: "#f28cb8", Purple: "#7d3fb0", Red: "#d22f2f", White: "#f7f7f7", Yellow: "#f2d218",
};
const STATES = ["pending", "processing", "done", "failed", "skipped"];
const VIEWS = ["front", "back", "side", "unknown"];
const FRAMINGS = [["full_body", "full body"], ["upper_body", "upper body"], ["lower_body", "lower body"], ["detail", "detail"], ["none", "none"]];
// Query keys the API's item filters understand (ItemFilter + near colour + text search).
export const FILTER_KEYS = ["crawler_id", "attribute", "model_present", "pose_view", "framing", "state", "colour", "near", "radius", "q"];

// The API query of the current filter state (empty values dropped by the client).
export function filtersFromQuery(query) {
  const filters = {};
  for (const key of FILTER_KEYS) {
    const value = query.get(key);
    if (value) filters[key] = value;
  }
  if (!filters.near) delete filters.radius;
  return filters;
}

export function filterForm(filters, crawlers, taxonomy, onChange) {
  const any = (label = "Any") => [["", label]];
  const controls = {
    q: h("input", { name: "q", type: "search", value: filters.q || "", placeholder: "name, brand, description…", maxlength: 200 }),
    crawler_id: select("crawler_id", [...any("Any crawler"), ...crawlers.map((c) => [c.id, c.name])], filters.crawler_id || ""),
    attribute: attributeSelect("attribute", taxonomy, filters.attribute || "", { anyLabel: "Any attribute" }),
    model_present: select("model_present", [...any(), ["true", "Model shown"], ["false", "No model"]], filters.model_present || ""),
    pose_view: select("pose_view", [...any(), ...VIEWS], filters.pose_view || ""),
    framing: select("framing", [...any(), ...FRAMINGS], filters.framing || ""),
    state: select("state", [...any(), ...STATES], filters.state || ""),
    colour: select("colour", [...any("Any colour"), ...Object.keys(BASIC_COLOURS)], filters.colour || ""),
  };
  const nearOn = h("input", { type: "checkbox", name: "near_on", id: "near-on", checked: Boolean(filters.near) });
  const nearColour = h("input", { type: "color", name: "near", id: "near-colour", value: filters.near ? `#${filters.near.replace(/^#/, "")}` : "#aa3322" });
  const radius = h("input", { type: "range", name: "radius", id: "near-radius", min: 1, max: 50, step: 1, value: filters.radius || 10 });
  const radiusOut = h("output", { for: "near-radius", id: "near-radius-value" }, `ΔE ${radius.value}`);
  const form = h(
    "form",
    { class: "filters", role: "search", "aria-label": "Item filters" },
    field("Search", controls.q),
    field("Crawler", controls.crawler_id),
    field("Attribute", controls.attribute),
    field("Model", controls.model_present),
    field("Pose view", controls.pose_view),
    field("Framing", controls.framing),
    field("Processing", controls.state),
    field("Basic colour", controls.colour),
    h("fieldset", { class: "near" },
      h("legend", {}, "Colour match"),
      h("label", { class: "inline", for: "near-on" }, nearOn, " Only near this colour"),
      h("label", { class: "visually-hidden", for: "near-colour" }, "Colour"),
      nearColour,
      h("label", { for: "near-radius" }, "Tolerance"),
      radius,
      radiusOut),
    h("button", { type: "reset" }, "Clear filters"),
  );

  function current() {
    const state = {};
    for (const [key, control] of Object.entries(controls)) {
      if (control.value) state[key] = control.value.trim();
    }
    if (nearOn.checked) {
      state.near = nearColour.value.replace(/^#/, "");
      state.radius = radius.value;
    }
    return state;
  }

  let timer = null;
  const changed = (delay) => {
    clearTimeout(timer);
    timer = setTimeout(() => onChange(current()), delay);
  };
  form.addEventListener("change", () => changed(0));
  controls.q.addEventListener("input", () => changed(350));
  radius.addEventListener("input", () => { radiusOut.textContent = `ΔE ${radius.value}`; if (nearOn.checked) changed(250); });
  nearColour.addEventListener("input", () => { nearOn.checked = true; changed(250); });
  form.addEventListener("reset", () => setTimeout(() => onChange(current()), 0));
  form.addEventListener("submit", (event) => { event.preventDefault(); changed(0); });
  return { form, current };
}

// Palette swatches as a proportional strip.
export function swatchStrip(palette, { large = false } = {}) {
  return h(
    "div",
    { class: large ? "swatches large" : "swatches", role: "img", "aria-label": palette.length ? `Palette: ${palette.map((c) => `${c.name} ${Math.round(c.fraction * 100)}%`).join(", ")}` : "No palette yet" },
    palette.map((colour) => h("span", {
      style: { background: colour.hex, flexGrow: String(Math.max(colour.fraction, 0.02)) },
      title: `${colour.name} (${colour.basic}) ${colour.hex} ${Math.round(colour.fraction * 100)} %`,
    })),
  );
}
