// Uploads: drop images (or pick them with the keyboard) -> signed PUT URL per file -> the
// image pipeline processes them like crawled ones; each shows a progress bar.

import { api, putWithProgress } from "../api.js";
import { h, notify, showError } from "../dom.js";

const ACCEPTED = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff"];

export function uploadZone(project, onUploaded) {
  const input = h("input", { type: "file", id: "upload-input", multiple: true, accept: ACCEPTED.join(","), class: "visually-hidden" });
  const progressList = h("ul", { class: "upload-progress", "aria-live": "polite" });
  const zone = h(
    "div",
    { class: "dropzone", "data-testid": "dropzone" },
    h("label", { for: "upload-input", class: "button-like" }, "Upload images"),
    h("span", { class: "muted" }, " or drop image files here"),
    input,
    progressList,
  );

  async function uploadOne(file) {
    const bar = h("progress", { max: 1, value: 0, "aria-label": `Uploading ${file.name}` });
    const row = h("li", {}, h("span", {}, file.name), bar);
    progressList.append(row);
    try {
      if (file.type && !ACCEPTED.includes(file.type)) {
        throw new Error(`${file.name} is ${file.type}, not an image type studiolab reads`);
      }
      const upload = await api(`/v1/projects/${project.id}/uploads`, {
        method: "POST",
        body: { filename: file.name, content_type: file.type || "application/octet-stream" },
      });
      await putWithProgress(upload.url, upload.headers, file, (fraction) => { bar.value = fraction; });
      bar.value = 1;
      row.append(h("span", { class: "muted" }, " uploaded, processing…"));
      setTimeout(() => row.remove(), 4000);
      try {
        onUploaded(await api(`/v1/items/${upload.item_id}`));
      } catch {
        /* the gallery picks it up on its next load */
      }
      return true;
    } catch (error) {
      row.append(h("span", { class: "error-text" }, ` ${error.fullMessage || error.message}`));
      showError(error, `Upload of ${file.name} failed`);
      return false;
    }
  }

  async function uploadAll(files) {
    const list = [...files];
    if (!list.length) return;
    let ok = 0;
    for (const file of list) if (await uploadOne(file)) ok += 1;
    notify(`Uploaded ${ok} of ${list.length} image${list.length === 1 ? "" : "s"}.`, ok === list.length ? "success" : "info");
  }

  input.addEventListener("change", () => { uploadAll(input.files); input.value = ""; });
  zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    uploadAll(event.dataTransfer.files).catch((error) => showError(error, "Upload failed"));
  });
  return zone;
}
