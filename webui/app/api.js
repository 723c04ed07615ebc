// The one way the app talks to the server: JSON, the CSRF header, problems as errors.

let csrfToken = null;
// Whose login the token belongs to: a token fetched again must be that same person's.
let sessionUser = null;
const listeners = new Set();

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// The signed-in person and their CSRF token. After opening the app with no signal the token
// is unknown (null): the first write fetches it.
export function setSession(token, userId) {
  csrfToken = token;
  sessionUser = userId ?? null;
}

// Called with 'signed-out' when the server says the session is over (logout, idle timeout,
// or another person now signed in on this browser).
export function onAuthChange(fn) { listeners.add(fn); }

function signedOut() {
  csrfToken = null;
  listeners.forEach((fn) => fn('signed-out'));
}

const NO_CONNECTION = { title: 'No connection', detail: 'You seem to be offline. Try again when you have a signal.' };

async function request(method, path, body) {
  const headers = { Accept: 'application/json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  try {
    return await fetch(path, {
      method, headers, credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new ApiError(0, NO_CONNECTION);
  }
}

const csrfRefused = (status, problem) => status === 403
  && (problem.errors || []).some((e) => e.field === 'X-CSRF-Token');

// The profile and a fresh CSRF token of the login behind the cookie. When that login is
// someone else's (they signed in in another tab), this page's person is signed out here.
export async function refreshSession() {
  const me = await api('GET', '/api/v1/me');
  if (sessionUser !== null && me.id !== sessionUser) {
    signedOut();
    throw new ApiError(401, { title: 'Signed out', detail: 'You were signed out. Please log in again.' });
  }
  csrfToken = me.csrf_token;
  sessionUser = me.id;
  return me;
}

export async function api(method, path, body) {
  let response = await request(method, path, body);
  let data = response.status === 204 ? null : await response.json().catch(() => ({}));
  if (!response.ok && csrfRefused(response.status, data)) {
    // No token yet (the app opened offline) or a stale one: fetch it and send once more.
    await refreshSession();
    response = await request(method, path, body);
    data = response.status === 204 ? null : await response.json().catch(() => ({}));
  }
  if (response.status === 204) return null;
  if (!response.ok) {
    if (response.status === 401 && !path.endsWith('/auth/login')) signedOut();
    throw new ApiError(response.status, data || {});
  }
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body ?? {});
export const patch = (path, body) => api('PATCH', path, body ?? {});
