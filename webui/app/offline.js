// The offline queue and cache (docs/security.md, "offline data on the device"; docs/selfcare.md).
//
// Entries a client writes (check-ins, craving logs, exercise completions) go into an outbox
// first, then to the server. An entry leaves the outbox only when the server has stored it
// (201, 200 for a retry, 409 for an id it already holds) or when the person deletes it. Any
// other answer keeps it: no connection, 401 (the login ended: sent after the same person logs
// in again), 403 (a missing or stale CSRF token is fetched again first), 5xx. It is sent again,
// with the same id, when the connection returns, when the app opens or the person logs in, and
// after each failure with a growing delay; the server stores each id once.
//
// Everything kept on the device is encrypted with AES-GCM under keys made here with
// extractable = false: the key objects live in IndexedDB, but their bytes can never be read
// out, only used by this origin. Each person who signs in on the device has their own key, and
// only the signed-in person's entries and copies are read, shown or sent. Only the entry id and
// the time it was queued are stored in clear. Logout deletes the database (and the server's
// Clear-Site-Data header wipes storage too); a timed-out login keeps it.

import { api, ApiError } from './api.js';

const DB_NAME = 'companion-offline';
const QUEUE = 'queue';
const CACHE = 'cache';
const KEYS = 'keys';
// Waits before sending again after a failure: 5 s, 15 s, 30 s, 1 and 2 minutes, then 5.
const BACKOFF_MS = [5000, 15000, 30000, 60000, 120000, 300000];
// The key of the device's last signed-in profile (the app opens with it when offline).
const DEVICE_KEY = 'device';
// Earlier releases sealed everything under one key of this name.
const LEGACY_KEY = 'main';

let dbPromise = null;
const keyPromises = new Map();
let flushing = null;
let flushAgain = false;
let timer = null;
let failures = 0;
let userId = null;
const listeners = new Set();

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const db = req.result;
        db.createObjectStore(KEYS);
        db.createObjectStore(QUEUE, { keyPath: 'id' });
        db.createObjectStore(CACHE);
      };
      req.onsuccess = () => {
        const db = req.result;
        // Storage cleared under us (Clear-Site-Data, another tab's logout): start afresh.
        const forget = () => { db.close(); dbPromise = null; keyPromises.clear(); };
        db.onversionchange = forget;
        db.onclose = forget;
        resolve(db);
      };
      req.onerror = () => { dbPromise = null; reject(req.error); };
    });
  }
  return dbPromise;
}

async function store(name, mode) {
  const db = await openDb();
  return db.transaction(name, mode).objectStore(name);
}

const userKey = (id) => `user:${id}`;

// The key of that name, made on first use (never for the legacy name, which is only read).
async function getKey(name) {
  if (!keyPromises.has(name)) {
    keyPromises.set(name, (async () => {
      const found = await request((await store(KEYS, 'readonly')).get(name));
      if (found || name === LEGACY_KEY) return found || null;
      const key = await crypto.subtle.generateKey(
        { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'],
      );
      try {
        await request((await store(KEYS, 'readwrite')).add(key, name));
        return key;
      } catch (err) {
        // Another tab made one first: use theirs.
        return request((await store(KEYS, 'readonly')).get(name));
      }
    })().catch((err) => { keyPromises.delete(name); throw err; }));
  }
  return keyPromises.get(name);
}

async function seal(keyName, value) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(JSON.stringify(value));
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await getKey(keyName), data);
  return { iv, ct };
}

// The value under the first of these keys that opens it; null when none does (another
// person's record, or one sealed under a key that is gone).
async function unseal({ iv, ct }, keyNames) {
  for (const name of keyNames) {
    const key = await getKey(name);
    if (!key) continue;
    try {
      const data = await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, key, ct);
      return JSON.parse(new TextDecoder().decode(data));
    } catch (err) { /* not this key */ }
  }
  return null;
}

function changed(event) { listeners.forEach((fn) => fn(event)); }

// Called with {type, id} whenever the queue changes: 'queued', 'stored' (the server has it),
// 'failed' (an answer that keeps it), 'deleted' (by the person), 'wiped' (logout).
export function onQueueChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

// The signed-in client: their waiting entries are sent; anyone else's are left alone.
export function startOffline(me) {
  if (!me || me.role !== 'client' || !('indexedDB' in window) || !crypto.subtle) return;
  if (userId !== me.id) {
    userId = me.id;
    failures = 0;
    keepProfile(me);
  }
  flush();
}

// The profile an offline start draws with (name, time zone), sealed on the device; kept again
// when the person changes it.
export function keepProfile(me) {
  if (!me || me.role !== 'client' || !('indexedDB' in window) || !crypto.subtle) return;
  const profile = { id: me.id, role: me.role, display_name: me.display_name, timezone: me.timezone };
  seal(DEVICE_KEY, profile)
    .then(async (box) => request((await store(CACHE, 'readwrite')).put(box, 'me')))
    .catch(() => {});
}

// The login ended without a logout (idle timeout): keep everything for the next login, send
// nothing meanwhile.
export function stopOffline() {
  userId = null;
  if (timer) { clearTimeout(timer); timer = null; }
}

async function queueItems(owner) {
  const rows = await request((await store(QUEUE, 'readonly')).getAll());
  rows.sort((a, b) => a.queued_at - b.queued_at);
  const out = [];
  for (const row of rows) {
    const item = await unseal(row.box, [userKey(owner), LEGACY_KEY]);
    if (item && item.user === owner) out.push({ ...item, id: row.id, queued_at: row.queued_at });
  }
  return out;
}

// Writes the entry's row; with onlyIfThere, only when it is still queued (an answer that
// arrives after the entry was stored by another send, or deleted, must not bring it back).
async function putRow(owner, item, { onlyIfThere = false } = {}) {
  const { id, queued_at: queuedAt, ...value } = item;
  const box = await seal(userKey(owner), value);
  const queue = await store(QUEUE, 'readwrite');
  const row = { id, queued_at: queuedAt, box };
  if (!onlyIfThere) { await request(queue.put(row)); return; }
  await new Promise((resolve, reject) => {
    const found = queue.getKey(id);
    found.onsuccess = () => {
      if (found.result === undefined) { resolve(); return; }
      const written = queue.put(row);
      written.onsuccess = resolve;
      written.onerror = () => reject(written.error);
    };
    found.onerror = () => reject(found.error);
  });
}

// The waiting entries of the signed-in client, oldest first:
// [{id, kind, label, queued_at, tries, last_status}]; last_status is the last answer
// (0 = no connection, null = not tried yet).
export async function pending() {
  if (userId === null) return [];
  try {
    return (await queueItems(userId)).map(({ body, path, user, ...item }) => item);
  } catch (err) { return []; }
}

async function dequeue(id) {
  await request((await store(QUEUE, 'readwrite')).delete(id));
}

// Stored: created, a retry of a stored entry, or an id the server already holds.
const isStored = (status) => (status >= 200 && status < 300) || status === 409;
// Answers about what the person typed, while the form is still in front of them.
const FIX_THE_FORM = new Set([400, 413, 422]);

// One POST as the signed-in owner: {status, entry, error}; status -1 when someone else is
// signed in by now (nothing was sent).
async function attempt(owner, path, body) {
  if (owner !== userId) return { status: -1 };
  try {
    return { status: 201, entry: await api('POST', path, body) };
  } catch (err) {
    return { status: err instanceof ApiError ? err.status : 0, error: err };
  }
}

async function markFailed(owner, item, status) {
  await putRow(owner, { ...item, tries: (item.tries || 0) + 1, last_status: status },
    { onlyIfThere: true });
  changed({ type: 'failed', id: item.id });
}

// What a kept entry waits for: 'connection', 'login' or 'server'.
export function waitsFor(status) {
  if (status === 401) return 'login';
  if (status === 0 || status === null || status === undefined) return 'connection';
  return 'server';
}

// Keep the entry on the device, then try to send it. Resolves to {sent: true, entry} once the
// server has stored it, or {sent: false, waitsFor} while it waits in the outbox. Rejects with
// the server's problem when the form must be fixed (a 400, 413 or 422 answer), after taking
// the entry back out of the outbox: the form still holds what the person typed.
export async function send(kind, path, body, label) {
  const owner = userId;
  if (owner === null) throw new Error('Not ready to save entries yet.');
  const item = { id: body.id, queued_at: Date.now(), kind, path, body, label, user: owner, tries: 0, last_status: null };
  await putRow(owner, item);
  changed({ type: 'queued', id: body.id });
  if (!navigator.onLine) return { sent: false, waitsFor: 'connection' };
  const { status, entry, error } = await attempt(owner, path, body);
  if (isStored(status)) {
    await dequeue(body.id);
    changed({ type: 'stored', id: body.id });
    flush();
    return { sent: true, entry };
  }
  if (FIX_THE_FORM.has(status)) {
    await dequeue(body.id);
    changed({ type: 'deleted', id: body.id });
    throw error;
  }
  if (status !== -1) {
    await markFailed(owner, item, status);
    retryLater(status);
  }
  return { sent: false, waitsFor: waitsFor(status) };
}

// The person deletes one of their waiting entries: it is never sent.
export async function removePending(id) {
  if (userId === null) return;
  if (!(await queueItems(userId)).some((i) => i.id === id)) return;
  await dequeue(id);
  changed({ type: 'deleted', id });
}

function retryLater(status) {
  if (status === 401 || timer) return; // a 401 waits for the next login
  const delay = BACKOFF_MS[Math.min(failures, BACKOFF_MS.length - 1)];
  failures += 1;
  timer = setTimeout(() => { timer = null; flush(); }, delay);
}

async function sendAll(owner) {
  let kept = null;
  for (const item of await queueItems(owner)) {
    if (!navigator.onLine) return; // the 'online' event sends them
    const { status } = await attempt(owner, item.path, item.body);
    if (status === -1) return;
    if (isStored(status)) {
      await dequeue(item.id);
      changed({ type: 'stored', id: item.id });
      continue;
    }
    await markFailed(owner, item, status);
    kept = status;
    if (status === 0 || status === 401) break; // every other entry would get the same answer
  }
  if (kept === null) failures = 0; else retryLater(kept);
}

// Send every waiting entry of the signed-in client, oldest first, each with its own id. One
// tab at a time sends (a Web Lock), so two open tabs do not post the same entries together.
export function flush() {
  if (userId === null) return Promise.resolve();
  if (flushing) { flushAgain = true; return flushing; }
  if (timer) { clearTimeout(timer); timer = null; }
  const owner = userId;
  const run = () => sendAll(owner);
  flushing = (navigator.locks ? navigator.locks.request('companion-outbox', run) : run())
    .catch(() => { retryLater(0); })
    .finally(() => {
      flushing = null;
      if (flushAgain) { flushAgain = false; flush(); }
    });
  return flushing;
}

// An encrypted copy, for the signed-in client only, of something they must be able to open
// offline (the safety plan, for its page and the crisis panel).
export async function putCache(name, value) {
  if (!('indexedDB' in window) || userId === null) return;
  const owner = userId;
  const box = await seal(userKey(owner), value);
  await request((await store(CACHE, 'readwrite')).put(box, `${owner}:${name}`));
}

export async function getCache(name) {
  if (userId === null) return null;
  try {
    const box = await request((await store(CACHE, 'readonly')).get(`${userId}:${name}`));
    return box ? await unseal(box, [userKey(userId)]) : null;
  } catch (err) { return null; }
}

// GET from the server and keep an encrypted copy; offline, answer from the copy.
export async function cachedGet(path, name) {
  try {
    const data = await api('GET', path);
    putCache(name, data).catch(() => {});
    return { data, offline: false };
  } catch (err) {
    if (err instanceof ApiError && err.status === 0) {
      const data = await getCache(name);
      if (data) return { data, offline: true };
    }
    throw err;
  }
}

// The profile of the last client signed in on this device, for opening the app with no
// connection (no tokens, no records).
export async function cachedMe() {
  if (!('indexedDB' in window)) return null;
  // Do not create the database just to find it empty (the login page, after a logout).
  if (indexedDB.databases && !(await indexedDB.databases()).some((d) => d.name === DB_NAME)) return null;
  try {
    const box = await request((await store(CACHE, 'readonly')).get('me'));
    return box ? await unseal(box, [DEVICE_KEY, LEGACY_KEY]) : null;
  } catch (err) { return null; }
}

// Logout: delete everything this module keeps on the device.
export async function wipeOffline() {
  stopOffline();
  if (dbPromise) {
    try { (await dbPromise).close(); } catch (err) { /* never opened */ }
  }
  dbPromise = null;
  keyPromises.clear();
  if (!('indexedDB' in window)) return;
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = resolve;
    req.onerror = resolve;
    req.onblocked = resolve;
  });
  changed({ type: 'wiped' });
}

export function newId() { return crypto.randomUUID(); }

// The device's moment with its UTC offset, e.g. 2026-11-22T18:05:00-06:00.
export function deviceNow(date = new Date()) {
  const pad = (n) => String(Math.abs(Math.trunc(n))).padStart(2, '0');
  const off = -date.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T`
    + `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
    + `${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

window.addEventListener('online', () => { failures = 0; flush(); });
// A phone brought back from the pocket: try at once rather than at the next backoff step.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && navigator.onLine) flush();
});
