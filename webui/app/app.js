// The app shell: who is logged in, which page to draw, the crisis panel, offline status.
import { get, post, setSession, refreshSession, onAuthChange } from './api.js';
import { h, telHref } from './dom.js';
import { loginView } from './views/login.js';
import {
  wipeOffline, pending as offlinePending, cachedMe, startOffline, stopOffline, getCache, cachedGet,
} from './offline.js';

// me: the signed-in person; fromCache: the profile kept on the device (opened offline, so no
// CSRF token yet and the login may have ended meanwhile); next: the page asked for before
// logging in (a notification's link), opened after it.
const state = { me: null, fromCache: false, notice: null, next: null };

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
  '/attendance': page('attendance', 'attendanceView'),
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
  '/profile': page('profile', 'profileView'),
  // the clinic's own setup (issue 15): programs, groups, admissions
  '/programs': page('setup', 'programsView'),
  '/groups/': page('setup', 'groupView'),
  '/enrollments': page('setup', 'enrollmentsView'),
  // clinical notes and the claims made from them (docs/notes.md)
  '/session-notes/': page('notes', 'sessionNoteView'),
  '/billing': page('billing', 'billingView'),
  // reminders and alerts outside the app (issue 16): the list, preferences, this device's push
  '/notifications': page('notifications', 'notificationsView'),
};
// Top-bar links per role: [path, label].
const NAV = {
  client: [['/home', 'Home'], ['/checkin', 'Check in'], ['/craving', 'Craving'], ['/coping', 'Coping'],
    ['/safety-plan', 'Safety plan'], ['/meetings', 'Meetings']],
  counselor: [['/home', 'Home'], ['/attendance', 'Attendance'], ['/meetings', 'Meetings']],
  peer_supporter: [['/home', 'Home']],
  admin: [['/home', 'Home'], ['/programs', 'Programs'], ['/enrollments', 'Admissions'],
    ['/reports', 'Reports'], ['/billing', 'Billing'], ['/meeting-sources', 'Meetings'],
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
  closeCrisis({ restoreFocus: false }); // a link in the panel opens another page
  if (replace) history.replaceState({}, '', path); else history.pushState({}, '', path);
  render();
}

export function currentUser() { return state.me; }

// A client's safety plan, kept encrypted on the phone for the crisis panel (and its page).
function keepSafetyPlan() {
  if (state.me?.role !== 'client') return;
  cachedGet('/api/v1/safety-plan', 'safety-plan')
    .then(() => { if (crisisPanel().classList.contains('open')) drawCrisisContacts(); })
    .catch(() => {});
}

export async function signedIn(data) {
  setSession(data.csrf_token, data.me.id);
  state.me = data.me; // the full profile: time zone, clinic, idle timeout
  state.fromCache = false;
  startOffline(state.me); // entries kept from before the login are sent now
  keepSafetyPlan();
  const next = state.next;
  state.next = null;
  navigate(next || '/home', { replace: true });
}

async function loadMe() {
  try {
    const me = await get('/api/v1/me');
    setSession(me.csrf_token, me.id);
    state.me = me;
    state.fromCache = false;
  } catch (err) {
    // No connection: a client can still open their safety plan and queue entries offline.
    state.me = err.status === 0 ? await cachedMe() : null;
    state.fromCache = state.me !== null;
    if (state.me) setSession(null, state.me.id);
  }
  startOffline(state.me);
  if (state.me && !state.fromCache && !(await getCache('safety-plan'))) keepSafetyPlan();
}

// Back online after opening the app offline: the real profile and a CSRF token, or (the login
// ended meanwhile) the login page, which says what waits to be sent.
async function resumeOnline() {
  if (!state.me || !state.fromCache) return;
  try {
    state.me = await refreshSession();
    state.fromCache = false;
  } catch (err) { /* still offline, or signed out (onAuthChange shows the login page) */ }
}

function drawNav() {
  const nav = document.getElementById('topnav');
  nav.replaceChildren();
  if (!state.me) return;
  for (const [path, label] of [...(NAV[state.me.role] || []), ['/notifications', 'Notifications'], ['/profile', 'Profile']]) {
    nav.append(h('a', { href: path, 'aria-current': location.pathname === path ? 'page' : null }, label));
  }
  nav.append(h('button', { type: 'button', onclick: logout }, 'Log out'));
  // On a phone the links scroll sideways in one line: keep this page's link in sight.
  nav.querySelector('[aria-current]')?.scrollIntoView({ block: 'nearest', inline: 'center' });
}

const entries = (n) => (n === 1 ? '1 entry' : `${n} entries`);

async function logout() {
  window.dispatchEvent(new Event('companion:logout')); // live channels close
  const waiting = (await offlinePending()).length;
  if (waiting && !window.confirm(`${entries(waiting)} saved on this phone ${waiting === 1 ? 'has' : 'have'} not been sent yet and will be deleted. Log out anyway?`)) return;
  try { await post('/api/v1/auth/logout'); } catch (err) { /* already gone */ }
  await wipeOffline(); // the encrypted offline queue and cache (Clear-Site-Data does it too)
  // This device's push subscription goes with the login (the server drops it too): a phone
  // handed on receives nothing more of this person's.
  localStorage.removeItem('companion-push-device');
  navigator.serviceWorker?.getRegistration().then((r) => r?.pushManager?.getSubscription())
    .then((s) => s?.unsubscribe()).catch(() => {});
  state.me = null;
  state.fromCache = false;
  setSession(null, null);
  navigate('/login', { replace: true });
}

async function render() {
  const app = document.getElementById('app');
  // A page's sockets (a room, the live channel) live only while it is shown.
  window.dispatchEvent(new Event('companion:navigate'));
  const path = location.pathname;
  if (!state.me && !PUBLIC_ROUTES[path]) {
    if (path !== '/') state.next = path + location.search;
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
  try {
    app.replaceChildren(await view);
  } catch (err) {
    // A page that cannot load says so, rather than "Loading…" for good.
    app.replaceChildren(h('section', {}, h('h1', {}, 'This page could not be shown'),
      h('p', { class: 'error', role: 'alert' }, err.message || 'Something went wrong.'),
      h('p', {}, h('a', { href: '/home' }, 'Back to home'))));
  }
  const heading = app.querySelector('h1');
  if (heading) document.title = `${heading.textContent} · Companion`;
}

// --- the crisis panel -------------------------------------------------------------------
// Every opener (the top bar's button, "Get help now" links inside pages) is a link to #crisis;
// with no script the panel opens by :target. With script, one pair of functions opens and
// closes it from everywhere: the address is left alone (a :target would keep it open), focus
// moves into the panel and back to the opener, and the page behind is inert until it closes.
let crisisOpener = null;

const crisisPanel = () => document.getElementById('crisis');

function openCrisis(opener = null) {
  const panel = crisisPanel();
  if (!panel.classList.contains('open')) {
    crisisOpener = opener || document.activeElement;
    panel.classList.add('open');
    panel.setAttribute('aria-modal', 'true');
    for (const el of document.querySelectorAll('body > :not(#crisis)')) el.inert = true;
  }
  drawCrisisContacts();
  panel.focus();
}

function closeCrisis({ restoreFocus = true } = {}) {
  const panel = crisisPanel();
  if (location.hash === '#crisis') history.replaceState(history.state, '', location.pathname + location.search);
  if (!panel.classList.contains('open')) return;
  panel.classList.remove('open');
  panel.removeAttribute('aria-modal');
  for (const el of document.querySelectorAll('body > :not(#crisis)')) el.inert = false;
  const back = crisisOpener?.isConnected ? crisisOpener : document.getElementById('crisis-button');
  crisisOpener = null;
  if (restoreFocus) back.focus();
}

function contactList(contacts) {
  return h('ul', { class: 'crisis-list' }, contacts.map((c) => h('li', {},
    h('strong', {}, c.name || c.phone),
    c.phone ? h('span', { class: 'crisis-actions' },
      h('a', { class: 'btn call', href: telHref(c.phone) }, `Call ${c.phone}`)) : null)));
}

// The client's own people, places and professionals (steps 4, 5 and 3 of their safety plan)
// and their counselor, from the encrypted copy on the phone, so offline too.
async function drawCrisisContacts() {
  const box = document.getElementById('crisis-personal');
  if (state.me?.role !== 'client') { box.replaceChildren(); return; }
  let plan = await getCache('safety-plan');
  if (!plan && navigator.onLine) {
    plan = await cachedGet('/api/v1/safety-plan', 'safety-plan').then((r) => r.data).catch(() => null);
  }
  if (!crisisPanel().classList.contains('open')) return;
  const parts = [h('h3', {}, 'Your safety plan')];
  const steps = plan ? plan.steps.steps : [];
  // A crisis line the client also wrote in their plan (988, often) is listed once, above.
  const lines = new Set([...crisisPanel().querySelectorAll('.crisis-lines a[href^="tel:"]')].map((a) => a.getAttribute('href')));
  const own = (key) => (plan?.[key] || []).filter((c) => !c.phone || !lines.has(telHref(c.phone)));
  const groups = ['help_contacts', 'professionals', 'distractions']
    .map((key) => [steps.find((s) => s.key === key), own(key)])
    .filter(([step, contacts]) => step && contacts.length);
  for (const [step, contacts] of groups) parts.push(h('h4', {}, step.title), contactList(contacts));
  if (!groups.length) parts.push(h('p', {}, 'No people or places are written in your safety plan on this phone yet.'));
  if (plan?.counselor) {
    parts.push(h('h4', {}, 'Your counselor'),
      h('p', {}, `${plan.counselor} is your counselor. Check in with "I need to talk to someone" and they are alerted at once.`),
      h('p', {}, h('a', { class: 'btn', href: '/checkin?talk=1' }, `Ask ${plan.counselor} to reach out`)));
  }
  parts.push(h('p', {}, h('a', { href: '/safety-plan' }, 'Open my safety plan')));
  box.replaceChildren(...parts);
}

function setupCrisis() {
  document.documentElement.classList.add('js'); // the panel follows .open, not :target
  const panel = crisisPanel();
  document.addEventListener('click', (e) => {
    const opener = e.target.closest('a[href="#crisis"]');
    if (opener) { e.preventDefault(); openCrisis(opener); return; }
    if (e.target.closest('#crisis-close')) { e.preventDefault(); closeCrisis(); }
  });
  document.addEventListener('keydown', (e) => {
    if (!panel.classList.contains('open')) return;
    if (e.key === 'Escape') { e.preventDefault(); closeCrisis(); return; }
    if (e.key !== 'Tab') return;
    // Keep Tab inside the panel while it is open.
    const stops = [...panel.querySelectorAll('a[href], button:not([disabled])')];
    if (!stops.length) return;
    const [first, last] = [stops[0], stops[stops.length - 1]];
    if (e.shiftKey && (document.activeElement === first || document.activeElement === panel)) {
      e.preventDefault(); last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault(); first.focus();
    }
  });
  if (location.hash === '#crisis') openCrisis(document.getElementById('crisis-button'));
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
window.addEventListener('popstate', () => {
  // An address ending in #crisis (typed, or a link from outside the app) opens the panel.
  if (location.hash === '#crisis') { openCrisis(document.getElementById('crisis-button')); return; }
  closeCrisis({ restoreFocus: false });
  render();
});

// The login ended (idle timeout, a restart with a new key, someone else signed in): entries
// kept on the phone stay, and are sent when this person logs in again.
onAuthChange(async () => {
  if (!state.me) return;
  state.me = null;
  state.fromCache = false;
  const waiting = (await offlinePending()).length;
  stopOffline();
  state.notice = 'You were signed out. Please log in again.'
    + (waiting ? ` ${entries(waiting)} saved on this phone will be sent after you log in.` : '');
  navigate('/login', { replace: true });
});
window.addEventListener('online', resumeOnline);

// The service worker caches the whole shell for offline use; on a slow link that download
// must not compete with the first page, so it starts once the page has loaded.
if ('serviceWorker' in navigator) {
  const register = () => navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
  if (document.readyState === 'complete') register(); else window.addEventListener('load', register);
}

setupCrisis();
setupNetworkStatus();
await loadMe();
if (crisisPanel().classList.contains('open')) drawCrisisContacts();
render();
