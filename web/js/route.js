// The current hash route: "#/projects/ID/gallery?colour=Red" -> {path, query}.

export function parseHash(hash = window.location.hash) {
  const text = hash.replace(/^#/, "") || "/";
  const [path, queryText = ""] = text.split("?");
  return { path, query: new URLSearchParams(queryText) };
}

// Replaces the query of the current route without re-rendering (filters kept in the URL, so
// a filtered gallery can be bookmarked and shared).
export function replaceQuery(query) {
  const { path } = parseHash();
  const text = query.toString();
  history.replaceState(null, "", `#${path}${text ? `?${text}` : ""}`);
}
