// Small DOM helpers: an element builder, formatters, notices and a confirmation dialog.

// h("button", {class: "primary", onclick}, "Run") - attributes starting with "on" become
// listeners; null/false children and attributes are skipped.
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name === "style" && typeof value === "object") {
      Object.assign(element.style, value);
    } else if (value === true) {
      element.setAttribute(name, "");
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function clear(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let fieldCounter = 0;
// A labelled form field: the label is tied to the control, and a slot for its error message.
export function field(labelText, control, hint = null) {
  fieldCounter += 1;
  if (!control.id) control.id = `field-${fieldCounter}`;
  const hintNode = hint ? h("small", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintNode) control.setAttribute("aria-describedby", hintNode.id);
  return h(
    "div",
    { class: "field" },
    h("label", { for: control.id }, labelText),
    control,
    hintNode,
    h("small", { class: "field-error", "data-error-for": control.name || "", role: "alert" }),
  );
}

export function select(name, options, value = "") {
  const control = h("select", { name });
  for (const option of options) {
    const [optionValue, label] = Array.isArray(option) ? option : [option, option];
    control.append(h("option", { value: optionValue, selected: optionValue === value }, label));
  }
  return control;
}

// -- formatting ---------------------------------------------------------------------------
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return "—";
  const total = Math.max(0, Math.round(seconds));
  const h_ = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h_) return `${h_} h ${String(m).padStart(2, "0")} min`;
  if (m) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

export function formatNumber(value, digits = 0) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  return value.toLocaleString(undefined, { maximumFractionDigits: digits });
}

export function formatTime(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function percent(fraction) {
  return `${(fraction * 100).toFixed(1)} %`;
}

// -- notices ------------------------------------------------------------------------------
export function notify(message, kind = "info", { timeout = 6000 } = {}) {
  const region = document.getElementById("notices");
  const notice = h(
    "div",
    { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("span", {}, message),
    h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => notice.remove() }, "×"),
  );
  region.append(notice);
  if (timeout && kind !== "error") setTimeout(() => notice.remove(), timeout);
  return notice;
}

// An API or network error in words, as a notice (never swallowed).
export function showError(error, context = "") {
  if (error && error.name === "AbortError") return;
  const text = error && error.fullMessage ? error.fullMessage : String((error && error.message) || error);
  notify(context ? `${context}: ${text}` : text, "error");
}

// Puts an ApiError's per-field messages next to the form's controls; returns true if any.
export function showFieldErrors(form, error) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  let shown = false;
  for (const [name, message] of Object.entries((error && error.fields) || {})) {
    // "limits.max_items" -> the max_items control, else the limits group, else the name.
    const parts = name.split(".").filter((part) => !/^\d+$/.test(part));
    const candidates = [name, parts[parts.length - 1], parts[0]];
    const slot = candidates
      .map((key) => key && form.querySelector(`[data-error-for="${CSS.escape(key)}"]`))
      .find(Boolean);
    if (slot) {
      slot.textContent = message;
      shown = true;
    }
  }
  return shown;
}

// A modal confirmation (native <dialog>: focus is trapped and Escape cancels).
export function confirmDialog(title, message, confirmLabel = "Delete") {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "confirm-title" }, title),
        h("p", {}, message),
        h(
          "div",
          { class: "actions" },
          h("button", { value: "cancel", type: "submit" }, "Cancel"),
          h("button", { value: "confirm", type: "submit", class: "danger" }, confirmLabel),
        ),
      ),
    );
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "confirm");
      dialog.remove();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// Runs `task` now and every `ms` while the view lives; pauses while the tab is hidden.
export function every(ms, task, signal) {
  let timer = null;
  const tick = async () => {
    if (signal.aborted) return;
    if (!document.hidden) {
      try {
        await task();
      } catch (error) {
        if (error.name !== "AbortError") showError(error, "Refresh failed");
      }
    }
    if (!signal.aborted) timer = setTimeout(tick, ms);
  };
  signal.addEventListener("abort", () => clearTimeout(timer));
  tick();
}
