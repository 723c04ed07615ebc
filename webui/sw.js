// Service worker: keeps the app shell (and so the crisis lines) available offline.
// Records are never cached here: API answers are no-store and always go to the network.
// The server fills in a digest of the client's files (companion/core/web.py), so each release
// brings a new worker and a fresh cache.
const CACHE = 'companion-shell-__SHELL_VERSION__';
const SHELL = [
  '/', '/app/app.css', '/app/app.js', '/app/api.js', '/app/dom.js',
  '/app/views/login.js', '/app/views/invite.js', '/app/views/home.js',
  '/app/views/room.js', '/app/media.js', '/app/views/measures.js', '/app/live.js', '/app/views/dashboard.js', '/app/views/reports.js', '/app/views/meetings.js', '/app/vendor/socket.io.esm.min.js',
  '/app/selfcare.css', '/app/offline.js', '/app/charts.js', '/app/views/selfcare.js',
  '/app/views/coping.js', '/app/views/safetyplan.js', '/app/views/trends.js', '/app/views/care.js',
  '/app/zones.js', '/app/days.js', '/app/views/profile.js', '/app/views/measureschedules.js',
  '/app/views/dialin.js',
  '/app/icons/icon.svg', '/manifest.webmanifest',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/socket.io/')) return;
  if (event.request.mode === 'navigate') {
    // Network first for pages (fresh shell when online), the cached shell when not.
    event.respondWith(
      fetch(event.request)
        .then((response) => {
          const copy = response.clone();
          if (response.ok) caches.open(CACHE).then((c) => c.put('/', copy));
          return response;
        })
        .catch(() => caches.match('/')),
    );
    return;
  }
  // Assets: answer from the cache at once, refresh it in the background.
  event.respondWith(
    caches.match(event.request).then((cached) => {
      const network = fetch(event.request).then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((c) => c.put(event.request, copy));
        }
        return response;
      });
      return cached || network;
    }),
  );
});

// Web push (docs/notifications.md): the server sends {title, body, url} with generic words only
// ("Companion: a reminder"); a push that cannot be read still shows the generic reminder, since
// a push must always show something.
const GENERIC = { title: 'Companion: a reminder', body: 'Open Companion to see it.', url: '/home' };
// Only a page of this app opens from a notification.
const ownPath = (url) => (typeof url === 'string' && url.startsWith('/') && !url.startsWith('//') ? url : '/home');

self.addEventListener('push', (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (err) { data = {}; }
  const title = typeof data.title === 'string' && data.title ? data.title : GENERIC.title;
  const body = typeof data.body === 'string' ? data.body : GENERIC.body;
  event.waitUntil(self.registration.showNotification(title, {
    body, icon: '/app/icons/icon-192.png', badge: '/app/icons/icon-192.png',
    data: { url: ownPath(data.url) }, tag: ownPath(data.url),
  }));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(ownPath(event.notification.data?.url), self.location.origin).href;
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
    if (open) {
      await open.focus();
      return open.navigate(url).catch(() => self.clients.openWindow(url));
    }
    return self.clients.openWindow(url);
  })());
});
