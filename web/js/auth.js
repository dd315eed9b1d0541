// Tokens. Locally the API is open on 127.0.0.1, or needs STUDIOLAB_TOKEN as a Bearer token
// when bound elsewhere; on AWS a Cognito user pool signs people in (implicit grant: the ID
// token comes back in the URL fragment) and API Gateway's authorizer reads the raw token.

const STORAGE_KEY = "studiolab.token";
let cognito = null;
let onSignInNeeded = () => {};

export function configureAuth(config, signInHandler) {
  cognito = (config && config.cognito) || null;
  onSignInNeeded = signInHandler;
}

export function hasCognito() {
  return cognito !== null;
}

export function getToken() {
  return sessionStorage.getItem(STORAGE_KEY);
}

export function setToken(token) {
  if (token) sessionStorage.setItem(STORAGE_KEY, token);
  else sessionStorage.removeItem(STORAGE_KEY);
}

export function clearToken() {
  sessionStorage.removeItem(STORAGE_KEY);
}

export function authHeader() {
  const token = getToken();
  if (!token) return {};
  return { Authorization: cognito ? token : `Bearer ${token}` };
}

export function signInNeeded(message) {
  onSignInNeeded(message);
}

// After the Cognito redirect the fragment is "#id_token=...&access_token=...": keep the ID
// token and return to the app's own routes. Returns true when it consumed a fragment.
export function takeTokenFromFragment() {
  const fragment = window.location.hash.replace(/^#/, "");
  if (!fragment.includes("id_token=")) return false;
  const params = new URLSearchParams(fragment);
  setToken(params.get("id_token"));
  history.replaceState(null, "", `${window.location.pathname}#/`);
  return true;
}

export function cognitoSignInUrl() {
  if (!cognito) return null;
  const params = new URLSearchParams({
    response_type: "token",
    client_id: cognito.clientId,
    redirect_uri: cognito.redirectUri,
    scope: "openid email",
  });
  return `${cognito.domain.replace(/\/+$/, "")}/login?${params}`;
}
