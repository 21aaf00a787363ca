// REST calls with the bearer token; errors carry the problem+json `detail` so the page can show
// the server's own words.

const TOKEN_KEY = 'watchkeeper.token';
const REQUEST_TIMEOUT_MS = 15000;

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

export function loadToken() {
  try {
    return localStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function saveToken(token) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Private mode without storage: the token lives for this page only.
  }
}

export async function api(method, path, { token, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: 'no-store',
    });
  } catch (error) {
    throw new ApiError(0, error.name === 'AbortError' ? `${method} ${path} timed out`
                                                      : `${method} ${path} failed: network error`);
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (response.ok) throw new ApiError(response.status, `${method} ${path}: response is not JSON`);
    }
  }
  if (!response.ok) {
    const detail = (data && (data.detail || data.title || data.error)) ||
                   `${method} ${path} answered ${response.status}`;
    throw new ApiError(response.status, detail);
  }
  return data;
}

// PromQL label values are double-quoted strings with backslash escapes.
export function promString(value) {
  return `"${String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}

// GET /api/v1/query_range -> [{metric, points: [[t_ms, value], ...]}].
export async function queryRange(query, { token, seconds, points = 240 }) {
  const end = Date.now() / 1000;
  const start = end - seconds;
  const step = Math.max(1, Math.ceil(seconds / points));
  const params = new URLSearchParams({ query, start: start.toFixed(3), end: end.toFixed(3),
                                       step: String(step) });
  const data = await api('GET', `/api/v1/query_range?${params}`, { token });
  if (!data || data.status !== 'success' || !data.data)
    throw new ApiError(200, (data && data.error) || 'query_range answered without data');
  const result = Array.isArray(data.data.result) ? data.data.result : [];
  return result.map((series) => ({
    metric: series.metric || {},
    points: (series.values || []).map(([t, v]) => [Math.round(Number(t) * 1000), Number(v)])
      .filter(([t, v]) => Number.isFinite(t) && !Number.isNaN(v)),
  }));
}
