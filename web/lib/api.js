// The REST API, as every other client uses it. The browser's credential is the HttpOnly cookie
// set by the one-time login URL (`cao ui`); this code never sees a token.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

export async function api(method, path, { query, body } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.append(key, String(value));
    }
    const text = params.toString();
    if (text) url += (url.includes('?') ? '&' : '?') + text;
  }
  const init = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    let detail = data && data.detail !== undefined ? data.detail : data;
    if (typeof detail !== 'string') detail = JSON.stringify(detail);
    if (response.status === 401) detail = 'Not signed in: run `cao ui` and open the URL it prints.';
    throw new ApiError(response.status, detail);
  }
  return data;
}

export const get = (path, query) => api('GET', path, { query });
export const post = (path, query, body) => api('POST', path, { query, body });
export const del = (path) => api('DELETE', path);
