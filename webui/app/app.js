// The app shell: who is logged in, which page to draw, the crisis panel, offline status.
import { get, post, setCsrf, onAuthChange } from './api.js';
import { h } from './dom.js';
import { loginView } from './views/login.js';
import { inviteView } from './views/invite.js';
import { homeView } from './views/home.js';
import { roomView, leaveRoom } from './views/room.js';

const state = { me: null, notice: null };

// Pages: path -> view(me, params). Views are async functions returning an element.
// A feature adds its page here and, if it belongs in the top bar, to NAV.
const PUBLIC_ROUTES = {
  '/login': () => loginView({ notice: state.notice }),
  '/invite': () => inviteView(),
};
const ROUTES = {
  '/home': (me) => homeView(me),
  '/sessions/': (me, id) => roomView(me, id),
};
// Top-bar links per role: [path, label].
const NAV = {
  client: [['/home', 'Home']],
  counselor: [['/home', 'Home']],
  peer_supporter: [['/home', 'Home']],
  admin: [['/home', 'Home']],
};

// Longest-prefix match, so '/sessions/12' finds '/sessions/' with the rest as a parameter.
function findRoute(path, table) {
  if (table[path]) return [table[path], ''];
  const prefix = Object.keys(table).filter((p) => p.endsWith('/') && path.startsWith(p))
    .sort((a, b) => b.length - a.length)[0];
  return prefix ? [table[prefix], path.slice(prefix.length)] : [null, ''];
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', path); else history.pushState({}, '', path);
  render();
}

export function currentUser() { return state.me; }

export async function signedIn(csrf) {
  setCsrf(csrf);
  await loadMe(); // the full profile: time zone, clinic, idle timeout
  navigate('/home', { replace: true });
}

async function loadMe() {
  try {
    const me = await get('/api/v1/me');
    setCsrf(me.csrf_token);
    state.me = me;
  } catch (err) {
    state.me = null;
  }
}

function drawNav() {
  const nav = document.getElementById('topnav');
  nav.replaceChildren();
  if (!state.me) return;
  for (const [path, label] of NAV[state.me.role] || []) {
    nav.append(h('a', { href: path, 'aria-current': location.pathname === path ? 'page' : null }, label));
  }
  nav.append(h('button', { type: 'button', onclick: logout }, 'Log out'));
}

async function logout() {
  try { await post('/api/v1/auth/logout'); } catch (err) { /* already gone */ }
  state.me = null;
  setCsrf(null);
  navigate('/login', { replace: true });
}

async function render() {
  const app = document.getElementById('app');
  leaveRoom(); // a room's socket lives only while its page is shown
  const path = location.pathname;
  if (!state.me && !PUBLIC_ROUTES[path]) {
    history.replaceState({}, '', '/login');
  } else if (state.me && (path === '/' || path === '/login')) {
    history.replaceState({}, '', '/home');
  }
  drawNav();
  let view;
  if (PUBLIC_ROUTES[location.pathname]) {
    view = PUBLIC_ROUTES[location.pathname]();
  } else {
    const [route, param] = findRoute(location.pathname, ROUTES);
    view = route ? route(state.me, param) : h('section', {}, h('h1', {}, 'Page not found'),
      h('p', {}, h('a', { href: '/home' }, 'Back to home')));
  }
  state.notice = null;
  app.replaceChildren(await view);
  const heading = app.querySelector('h1');
  if (heading) document.title = `${heading.textContent} · Companion`;
}

function setupCrisis() {
  // The panel opens by :target with no script; with script it also traps the focus sensibly.
  const panel = document.getElementById('crisis');
  const open = () => { panel.classList.add('open'); panel.focus(); };
  const close = () => { panel.classList.remove('open'); document.getElementById('crisis-button').focus(); };
  document.getElementById('crisis-button').addEventListener('click', (e) => { e.preventDefault(); open(); });
  document.getElementById('crisis-close').addEventListener('click', (e) => { e.preventDefault(); close(); });
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && panel.classList.contains('open')) close(); });
  if (location.hash === '#crisis') open();
}

function setupNetworkStatus() {
  const el = document.getElementById('net-status');
  const update = () => { el.textContent = navigator.onLine ? '' : 'Offline'; };
  window.addEventListener('online', update);
  window.addEventListener('offline', update);
  update();
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[href^="/"]');
  if (!a || a.target || e.metaKey || e.ctrlKey || a.hasAttribute('download')) return;
  e.preventDefault();
  navigate(a.getAttribute('href'));
});
window.addEventListener('popstate', render);

onAuthChange(() => {
  if (state.me) {
    state.me = null;
    state.notice = 'You were signed out. Please log in again.';
    navigate('/login', { replace: true });
  }
});

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}

setupCrisis();
setupNetworkStatus();
await loadMe();
render();
