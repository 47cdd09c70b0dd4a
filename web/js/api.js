// The public API, called as any client would: JSON in and out, the session as a bearer token.
const TOKEN_KEY = "pixelkeep.session";
let apiBase = "";

export async function loadConfig() {
  const response = await fetch("config.json", { headers: { Accept: "application/json" } });
  const config = response.ok ? await response.json() : {};
  apiBase = (config.api || "").replace(/\/$/, "");
  return config;
}

// A page of the API (the policy): on the API's origin, which is another one when the app is hosted apart.
export const apiUrl = (path) => apiBase + path;

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  save: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `The request failed (${status}).`);
    this.status = status;
    this.code = error.code || "unknown";
    this.details = error.details || {};
  }
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(apiBase + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

// A presigned POST straight to storage: the fields first, then the file (S3's form upload).
export async function postForm(url, fields, file) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  form.append("file", file);
  const response = await fetch(url, { method: "POST", body: form });
  if (!response.ok) throw new ApiError(response.status, { error: { message: "The upload was refused by storage." } });
}

