// The app shell: who is logged in, which page to draw, the crisis panel, offline status.
import { get, post, setCsrf, onAuthChange } from './api.js';
import { h } from './dom.js';
import { loginView } from './views/login.js';
import { wipeOffline, pending as offlinePending, cachedMe } from './offline.js';

const state = { me: null, notice: null };

// Pages: path -> view(me, params). Views are async functions returning an element.
// A feature adds its page here and, if it belongs in the top bar, to NAV.
// Pages other than login load on first visit (a rural link pays for what it uses); the service
// worker still caches them all for offline use.
const page = (file, name) => async (...args) => (await import(`./views/${file}.js`))[name](...args);
const PUBLIC_ROUTES = {
  '/login': () => loginView({ notice: state.notice }),
  '/invite': page('invite', 'inviteView'),
};
const ROUTES = {
  '/home': page('home', 'homeView'),
  '/checkin': page('selfcare', 'checkinView'),
  '/craving': page('selfcare', 'cravingView'),
  '/coping': page('coping', 'copingListView'),
  '/coping/': page('coping', 'exerciseView'),
  '/safety-plan': page('safetyplan', 'safetyPlanView'),
  '/trends': page('trends', 'trendsView'),
  '/clients/': page('trends', 'clientView'),
  '/sessions/': page('room', 'roomView'),
  '/measures': page('measures', 'measuresView'),
  '/measures/': page('measures', 'measuresView'),
  '/reports': page('reports', 'reportsView'),
  '/meetings': page('meetings', 'meetingsView'),
  '/meeting-sources': page('meetings', 'meetingSourcesView'),
  // care team (issue 7): rewards, education, family and consents, the client's own record
  '/rewards': page('care', 'rewardsView'),
  '/program-rewards': page('care', 'rewardSettingsView'),
  '/learn': page('care', 'learnView'),
  '/learn/': page('care', 'learnView'),
  '/consents': page('care', 'consentsView'),
  '/my-record': page('care', 'myRecordView'),
  '/care/': page('care', 'clientCareView'),
};
// Top-bar links per role: [path, label].
const NAV = {
  client: [['/home', 'Home'], ['/checkin', 'Check in'], ['/craving', 'Craving'], ['/coping', 'Coping'],
    ['/safety-plan', 'Safety plan'], ['/meetings', 'Meetings']],
  counselor: [['/home', 'Home'], ['/meetings', 'Meetings']],
  peer_supporter: [['/home', 'Home']],
  admin: [['/home', 'Home'], ['/reports', 'Reports'], ['/meeting-sources', 'Meetings'],
    ['/program-rewards', 'Rewards']],
  // a guest a client invited: education, what the client consented to share, and meetings
  // for families (Al-Anon, Nar-Anon)
  family: [['/home', 'Home'], ['/learn', 'Learn'], ['/meetings', 'Meetings']],
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

export async function signedIn(data) {
  setCsrf(data.csrf_token);
  state.me = data.me; // the full profile: time zone, clinic, idle timeout
  navigate('/home', { replace: true });
}

async function loadMe() {
  try {
    const me = await get('/api/v1/me');
    setCsrf(me.csrf_token);
    state.me = me;
  } catch (err) {
    // No connection: a client can still open their safety plan and queue entries offline.
    state.me = err.status === 0 ? await cachedMe() : null;
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
  window.dispatchEvent(new Event('companion:logout')); // live channels close
  const waiting = (await offlinePending()).length;
  if (waiting && !window.confirm(`${waiting} saved entries have not been sent yet and will be deleted from this phone. Log out anyway?`)) return;
  try { await post('/api/v1/auth/logout'); } catch (err) { /* already gone */ }
  await wipeOffline(); // the encrypted offline queue and cache (Clear-Site-Data does it too)
  state.me = null;
  setCsrf(null);
  navigate('/login', { replace: true });
}

async function render() {
  const app = document.getElementById('app');
  // A page's sockets (a room, the live channel) live only while it is shown.
  window.dispatchEvent(new Event('companion:navigate'));
  const path = location.pathname;
  if (!state.me && !PUBLIC_ROUTES[path]) {
    history.replaceState({}, '', '/login');
  } else if (state.me && (path === '/' || path === '/login')) {
    history.replaceState({}, '', '/home');
  }
  drawNav();
  let view;
  if (PUBLIC_ROUTES[location.pathname]) {
    view = PUBLIC_ROUTES[location.pathname](state.me);
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

// The service worker caches the whole shell for offline use; on a slow link that download
// must not compete with the first page, so it starts once the page has loaded.
if ('serviceWorker' in navigator) {
  const register = () => navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  if (document.readyState === 'complete') register(); else window.addEventListener('load', register);
}

setupCrisis();
setupNetworkStatus();
await loadMe();
render();
