// The offline queue and cache (SECURITY.md, "offline data on the device").
//
// Entries a client writes (check-ins, craving logs, exercise completions) go into an outbox
// first, then to the server; an entry leaves the outbox only when the server has acknowledged
// it (201 stored, or 200 already stored) or refused it for good (a 4xx the client must fix).
// Offline, entries wait and are sent again, with the same id, when the connection returns:
// nothing is lost and the server stores each id once.
//
// Everything kept on the device is encrypted with AES-GCM under a key made here with
// extractable = false: the key object lives in IndexedDB, but its bytes can never be read out,
// only used by this origin. Only the entry id and the time it was queued are stored in clear.
// Logout deletes the database (and the server's Clear-Site-Data header wipes storage too).

import { api, ApiError } from './api.js';

const DB_NAME = 'companion-offline';
const QUEUE = 'queue';
const CACHE = 'cache';
const KEYS = 'keys';
const RETRY_MS = 20000;

let dbPromise = null;
let keyPromise = null;
let flushing = null;
let timer = null;
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
        const forget = () => { db.close(); dbPromise = null; keyPromise = null; };
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

async function getKey() {
  if (!keyPromise) {
    keyPromise = (async () => {
      const found = await request((await store(KEYS, 'readonly')).get('main'));
      if (found) return found;
      const key = await crypto.subtle.generateKey(
        { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'],
      );
      try {
        await request((await store(KEYS, 'readwrite')).add(key, 'main'));
        return key;
      } catch (err) {
        // Another tab made one first: use theirs.
        return request((await store(KEYS, 'readonly')).get('main'));
      }
    })().catch((err) => { keyPromise = null; throw err; });
  }
  return keyPromise;
}

async function seal(value) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = new TextEncoder().encode(JSON.stringify(value));
  const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await getKey(), data);
  return { iv, ct };
}

async function unseal({ iv, ct }) {
  const data = await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, await getKey(), ct);
  return JSON.parse(new TextDecoder().decode(data));
}

function changed() { listeners.forEach((fn) => fn()); }

// Called with no argument whenever the queue changes (queued, sent, refused).
export function onQueueChange(fn) { listeners.add(fn); return () => listeners.delete(fn); }

// The signed-in client: their waiting entries are sent; anyone else's are left alone.
export function startOffline(me) {
  if (!me || me.role !== 'client' || !('indexedDB' in window) || !crypto.subtle) return;
  const first = userId !== me.id;
  userId = me.id;
  if (first) {
    putCache('me', { id: me.id, role: me.role, display_name: me.display_name, timezone: me.timezone }).catch(() => {});
  }
  flush();
}

async function queueItems() {
  const rows = await request((await store(QUEUE, 'readonly')).getAll());
  rows.sort((a, b) => a.queued_at - b.queued_at);
  const out = [];
  for (const row of rows) {
    try {
      const item = await unseal(row.box);
      if (item.user === userId) out.push({ ...item, id: row.id, queued_at: row.queued_at });
    } catch (err) { /* sealed under a key that is gone: unreadable, skip */ }
  }
  return out;
}

// The waiting entries of the signed-in client: [{id, kind, label, body, queued_at}].
export async function pending() {
  if (userId === null) return [];
  try { return await queueItems(); } catch (err) { return []; }
}

async function dequeue(id) {
  await request((await store(QUEUE, 'readwrite')).delete(id));
}

// What to do with an answer: 'done' (stored), 'keep' (try again later), 'refused' (drop).
function outcome(err) {
  if (!err) return 'done';
  const s = err instanceof ApiError ? err.status : 0;
  if (s === 0 || s === 401 || s === 408 || s === 429 || s >= 500) return 'keep';
  return 'refused';
}

// Keep the entry on the device, then try to send it. Resolves to {sent: true, entry} once the
// server has stored it, or {sent: false} when it waits for the connection; rejects with the
// server's problem when the entry is refused (invalid), after removing it from the queue.
export async function send(kind, path, body, label) {
  if (userId === null) throw new Error('Not ready to save entries yet.');
  const box = await seal({ kind, path, body, label, user: userId });
  await request((await store(QUEUE, 'readwrite')).put({ id: body.id, queued_at: Date.now(), box }));
  changed();
  if (!navigator.onLine) { schedule(); return { sent: false }; }
  try {
    const entry = await api('POST', path, body);
    await dequeue(body.id);
    changed();
    flush();
    return { sent: true, entry };
  } catch (err) {
    if (outcome(err) === 'keep') { schedule(); return { sent: false }; }
    await dequeue(body.id);
    changed();
    throw err;
  }
}

function schedule() {
  if (timer) return;
  timer = setTimeout(() => { timer = null; flush(); }, RETRY_MS);
}

// Send every waiting entry, oldest first, with its own id; stop at the first network failure.
export function flush() {
  if (flushing || userId === null) return flushing;
  flushing = (async () => {
    let items;
    try { items = await queueItems(); } catch (err) { return; }
    for (const item of items) {
      if (!navigator.onLine) { schedule(); return; }
      let err = null;
      try { await api('POST', item.path, item.body); } catch (e) { err = e; }
      const what = outcome(err);
      if (what === 'keep') { schedule(); return; }
      await dequeue(item.id);
      changed();
    }
  })().finally(() => { flushing = null; });
  return flushing;
}

// An encrypted copy of something the client must be able to open offline (the safety plan).
export async function putCache(name, value) {
  if (!('indexedDB' in window)) return;
  const box = await seal(value);
  await request((await store(CACHE, 'readwrite')).put(box, name));
}

export async function getCache(name) {
  try {
    const box = await request((await store(CACHE, 'readonly')).get(name));
    return box ? await unseal(box) : null;
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

// The profile kept for opening the app with no connection (no tokens, no records).
export async function cachedMe() {
  if (!('indexedDB' in window)) return null;
  // Do not create the database just to find it empty (the login page, after a logout).
  if (indexedDB.databases && !(await indexedDB.databases()).some((d) => d.name === DB_NAME)) return null;
  return getCache('me');
}

// Logout: delete everything this module keeps on the device.
export async function wipeOffline() {
  userId = null;
  if (timer) { clearTimeout(timer); timer = null; }
  if (dbPromise) {
    try { (await dbPromise).close(); } catch (err) { /* never opened */ }
  }
  dbPromise = null;
  keyPromise = null;
  if (!('indexedDB' in window)) return;
  await new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = resolve;
    req.onerror = resolve;
    req.onblocked = resolve;
  });
  changed();
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

window.addEventListener('online', () => flush());
