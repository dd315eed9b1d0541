// The HTTP API client: one place that knows the base URL, the token and the error shape.
// Every failure becomes an ApiError whose message is fit to show to a person.

import { authHeader, clearToken, signInNeeded } from "./auth.js";

let apiBase = "";

export function setApiBase(base) {
  apiBase = (base || "").replace(/\/+$/, "");
}

export function apiUrl(path) {
  return `${apiBase}${path}`;
}

export class ApiError extends Error {
  constructor(status, code, message, fields = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }

  // "name: too short; shop: required" - the per-field messages in words.
  get details() {
    if (!this.fields) return "";
    return Object.entries(this.fields)
      .map(([field, message]) => `${field}: ${message}`)
      .join("; ");
  }

  get fullMessage() {
    return this.details ? `${this.message} (${this.details})` : this.message;
  }
}

// Drops empty values so filters left at "any" never reach the query string.
export function queryString(query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export async function api(path, { method = "GET", query, body, signal } = {}) {
  const headers = { Accept: "application/json", ...authHeader() };
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let reply;
  try {
    reply = await fetch(apiUrl(path + queryString(query)), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", `The API is unreachable (${error.message}). Is studiolab running?`);
  }
  if (reply.status === 204) return null;
  const text = await reply.text();
  let document = null;
  if (text) {
    try {
      document = JSON.parse(text);
    } catch {
      document = null;
    }
  }
  if (!reply.ok) {
    const error = document && document.error;
    const failure = new ApiError(
      reply.status,
      (error && error.code) || `http_${reply.status}`,
      (error && error.message) || `${method} ${path} failed with HTTP ${reply.status}`,
      (error && error.fields) || null,
    );
    if (reply.status === 401) {
      clearToken();
      signInNeeded(failure.message);
    }
    throw failure;
  }
  return document;
}

// Every page of a listing, following `next` (for short lists: crawlers, attributes).
export async function listAll(path, query = {}, { signal, max = 2000 } = {}) {
  const items = [];
  let cursor = null;
  do {
    const page = await api(path, { query: { ...query, limit: 200, cursor }, signal });
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < max);
  return items;
}

// Uploads one file to a signed PUT URL with progress (fetch has no upload progress).
export function putWithProgress(url, headers, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    for (const [name, value] of Object.entries(headers || {})) request.setRequestHeader(name, value);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) resolve();
      else {
        let message = `upload refused with HTTP ${request.status}`;
        try {
          message = JSON.parse(request.responseText).error.message || message;
        } catch {
          /* not JSON: keep the status line */
        }
        reject(new ApiError(request.status, "upload_failed", message));
      }
    };
    request.onerror = () => reject(new ApiError(0, "network", "the upload could not reach the server"));
    request.send(file);
  });
}
