// Reminders and alerts outside the app (docs/notifications.md): web push on this device, the
// person's preferences, and what was sent to them. What a lock screen shows is always generic
// ("Companion: a reminder"); the details are here, after login.
import { get, put, patch, post, api, ApiError } from '../api.js';
import { h, showProblem, clearProblem, say, formActions, formatWhen } from '../dom.js';

const KIND_TEXT = {
  session_reminder: 'Sessions starting (an hour and 10 minutes before)',
  checkin_reminder: 'The daily check-in, at the time below',
  measure_due: 'Questionnaires due',
  module_assigned: 'Reading your counselor assigned',
  schedule_change: 'Sessions cancelled or moved',
  risk_alert: "Risk alerts of clients (when you don't have Companion open)",
};
const LIST_TEXT = {
  session_reminder: 'Session reminder', checkin_reminder: 'Check-in reminder', measure_due: 'Questionnaire due',
  module_assigned: 'Reading assigned', schedule_change: 'Schedule change', risk_alert: 'Alert',
};
const CLIENT_KINDS = ['session_reminder', 'checkin_reminder', 'measure_due', 'module_assigned', 'schedule_change'];
const kindsFor = (role) => (role === 'client' ? CLIENT_KINDS : role === 'family' ? [] : ['risk_alert']);

// This device's subscription, as this browser keeps it: whose it is and its id on the server.
const DEVICE = 'companion-push-device';
const OFFER = 'companion-push-offer-dismissed';
const device = () => { try { return JSON.parse(localStorage.getItem(DEVICE)); } catch { return null; } };

export const pushSupported = () => 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

async function browserSubscription() {
  const registration = await navigator.serviceWorker.getRegistration();
  return registration ? registration.pushManager.getSubscription() : null;
}

function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

// What to tell the person when a step failed: the server's sentence, ours, or (a fetch that
// never got an answer) their connection, never a browser's internal text.
const failure = (err, what) => (err instanceof ApiError || !(err instanceof TypeError)
  ? err.message : `${what}: check your connection and try again.`);

const sameKey = (a, b) => a && a.byteLength === b.length && new Uint8Array(a).every((v, i) => v === b[i]);

// Only after the person asked: the browser's permission prompt, then the subscription.
export async function turnOnPush(me) {
  if ((await Notification.requestPermission()) !== 'granted') {
    throw new Error('Notifications are blocked for Companion in this browser. Allow them in the browser\'s site settings to get reminders here.');
  }
  const registration = await navigator.serviceWorker.ready;
  const key = keyBytes((await get('/api/v1/push/vapid-public-key')).public_key);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe(); // made for another server's key: it would never arrive
    subscription = null;
  }
  try {
    subscription ||= await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  } catch {
    // The browser's own text ("Registration failed - ...") tells a person nothing they can do.
    throw new Error('This browser could not set up reminders: its push service did not answer. Try again later; email reminders work meanwhile.');
  }
  return remember(me, subscription);
}

async function remember(me, subscription) {
  const saved = await post('/api/v1/push-subscriptions', subscription.toJSON());
  localStorage.setItem(DEVICE, JSON.stringify({ user: me.id, id: saved.id }));
  return saved;
}

export async function turnOffPush() {
  const mine = device();
  localStorage.removeItem(DEVICE);
  if (mine) await api('DELETE', `/api/v1/push-subscriptions/${mine.id}`).catch(() => {});
  await (await browserSubscription())?.unsubscribe();
}

// On by this person on this device? A subscription still there is sent again (the server keeps
// it tied to this login, so logging out removes it).
async function pushIsOn(me) {
  if (!pushSupported() || Notification.permission !== 'granted') return false;
  const subscription = await browserSubscription();
  if (!subscription || device()?.user !== me.id) return false;
  await remember(me, subscription).catch(() => {});
  return true;
}

// The home page's offer, after a first login on a device (until they answer it).
export async function pushOfferCard(me) {
  if (!pushSupported() || Notification.permission === 'denied') return null;
  if (localStorage.getItem(`${OFFER}:${me.id}`) || await pushIsOn(me)) return null;
  const staff = me.role !== 'client' && me.role !== 'family';
  const yes = h('button', { type: 'button' }, staff ? 'Turn on alerts' : 'Turn on reminders');
  const no = h('button', { type: 'button', class: 'secondary' }, 'Not now');
  const card = h('div', { class: 'card', id: 'push-offer' },
    h('h2', {}, staff ? 'Alerts on this device?' : 'Reminders on this phone?'),
    h('p', {}, staff
      ? 'Companion can tell you on this device when a client needs attention and Companion is not open.'
      : 'Companion can remind you of your sessions and check-ins, even when it is closed.'),
    h('p', { class: 'muted' }, 'They only ever say "Companion: a reminder" (nothing about what it is), so nobody who sees your screen learns more. Choose what you get under Notifications.'),
    ...formActions(yes, no));
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try {
      await turnOnPush(me);
      say(yes, 'Done: reminders will come to this device.');
      no.remove();
      yes.remove();
    } catch (err) {
      say(yes, failure(err, 'Not turned on'), 'error');
      yes.disabled = false;
    }
  });
  no.addEventListener('click', () => {
    localStorage.setItem(`${OFFER}:${me.id}`, '1');
    card.remove();
  });
  return card;
}

function check(name, label, checked) {
  const id = `f-${name.replace('.', '-')}`;
  return h('div', { class: 'field' },
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name, id, checked, 'aria-describedby': `${id}-error` }), label),
    h('p', { class: 'field-error', id: `${id}-error` }));
}

function timeField(name, label, value, help) {
  const id = `f-${name.replace('.', '-')}`;
  return h('div', { class: 'field' }, h('label', { for: id }, label),
    h('input', { type: 'time', name, id, value: value || '', 'aria-describedby': `${id}-error${help ? ` ${id}-help` : ''}` }),
    help ? h('p', { class: 'muted', id: `${id}-help` }, help) : null,
    h('p', { class: 'field-error', id: `${id}-error` }));
}

function preferencesForm(me, prefs) {
  const quiet = prefs.quiet_hours;
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'prefs-title' },
    h('h2', { id: 'prefs-title' }, 'What you get, and how'),
    h('fieldset', {}, h('legend', {}, 'Channels'),
      check('channels.push', 'Web push on the devices where I turned it on', prefs.channels.push),
      check('channels.email', `Email to ${me.email}`, prefs.channels.email)),
    kindsFor(me.role).length ? h('fieldset', {}, h('legend', {}, 'Reminders and alerts'),
      kindsFor(me.role).map((k) => check(`kinds.${k}`, KIND_TEXT[k], prefs.kinds[k]))) : null,
    me.role === 'client' ? timeField('checkin_reminder_at', 'Daily check-in reminder at', prefs.checkin_reminder_at,
      'Leave empty for none. Not sent on a day you have checked in already.') : null,
    h('fieldset', {}, h('legend', {}, 'Quiet hours'),
      h('p', { class: 'muted' }, 'Nothing is sent between these times; what waits goes out after, if it still matters.'),
      timeField('quiet_hours.start', 'Quiet from', quiet?.start),
      timeField('quiet_hours.end', 'Quiet until', quiet?.end)),
    h('p', { class: 'muted' }, 'The crisis lines and your safety plan never depend on any of this.'),
    ...formActions(h('button', { type: 'submit' }, 'Save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const button = form.querySelector('button[type="submit"]');
    const value = (name) => form.elements[name]?.value || null;
    const [start, end] = [value('quiet_hours.start'), value('quiet_hours.end')];
    if (Boolean(start) !== Boolean(end)) {
      // Half a range is a slip, not a time in the wrong format: say which end is missing.
      const missing = start ? 'quiet_hours.end' : 'quiet_hours.start';
      showProblem(form, {
        detail: 'Not saved: quiet hours need both times, or neither.',
        errors: [{ field: missing, message: start ? 'Choose when quiet hours end, or clear "Quiet from".' : 'Choose when quiet hours start, or clear "Quiet until".' }],
      });
      return;
    }
    const body = {
      channels: { push: form.elements['channels.push'].checked, email: form.elements['channels.email'].checked },
      quiet_hours: start || end ? { start: start || '', end: end || '' } : null,
      checkin_reminder_at: me.role === 'client' ? value('checkin_reminder_at') : prefs.checkin_reminder_at,
      // kinds this role has no box for keep their value
      kinds: Object.fromEntries(Object.keys(prefs.kinds).map((k) => [k, form.elements[`kinds.${k}`]?.checked ?? prefs.kinds[k]])),
    };
    button.disabled = true;
    try {
      Object.assign(prefs, await put('/api/v1/me/notification-preferences', body));
      say(button, 'Saved.');
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: 'Not saved: check your connection and try again.' });
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

async function deviceCard(me) {
  const card = h('div', { class: 'card' }, h('h2', {}, 'On this device'));
  if (!pushSupported()) {
    card.append(h('p', {}, 'This browser cannot receive web push. On an iPhone, add Companion to the home screen first (Share, then Add to Home Screen). Email still works.'));
    return card;
  }
  const status = h('p', { role: 'status' });
  const button = h('button', { type: 'button' });
  const draw = (on) => {
    status.textContent = on ? 'Web push is on for this device.' : 'Web push is off for this device.';
    button.textContent = on ? 'Turn off on this device' : 'Turn on on this device';
    button.classList.toggle('secondary', on);
    button.dataset.on = on ? '1' : '';
  };
  draw(await pushIsOn(me).catch(() => false));
  button.addEventListener('click', async () => {
    button.disabled = true;
    try {
      if (button.dataset.on) await turnOffPush(); else await turnOnPush(me);
      draw(!button.dataset.on);
    } catch (err) {
      say(button, failure(err, button.dataset.on ? 'Not turned off' : 'Not turned on'), 'error');
    } finally {
      button.disabled = false;
    }
  });
  card.append(status, ...formActions(button));
  return card;
}

const HOW = {
  sent: (d) => `sent by ${d.channel === 'push' ? 'web push' : 'email'}`,
  pending: (d) => `${d.channel === 'push' ? 'web push' : 'email'} waiting`,
  failed: (d) => `${d.channel === 'push' ? 'web push' : 'email'} could not be sent`,
  gone: () => 'that device no longer receives push',
};

function listItem(me, n) {
  const how = n.deliveries.length ? n.deliveries.map((d) => HOW[d.status](d)).join(', ') : 'in the app only';
  const toggle = h('button', { type: 'button', class: 'secondary' }, n.read_at ? 'Mark unread' : 'Mark read');
  const item = h('li', { class: n.read_at ? 'read' : 'unread' },
    h('div', { class: 'row' }, h('strong', {}, LIST_TEXT[n.kind] || n.title),
      h('span', { class: n.read_at ? 'tag' : 'tag live' }, n.read_at ? 'read' : 'new')),
    h('div', {}, n.body),
    h('div', { class: 'muted' }, `${formatWhen(n.created_at, me.timezone)}: ${how}`),
    h('div', { class: 'form-actions' },
      h('a', { class: 'btn', href: n.url, onclick: () => { if (!n.read_at) patch(`/api/v1/notifications/${n.id}`, { read: true }).catch(() => {}); } }, 'Open'),
      toggle));
  toggle.addEventListener('click', async () => {
    toggle.disabled = true;
    try {
      const saved = await patch(`/api/v1/notifications/${n.id}`, { read: !n.read_at });
      item.replaceWith(listItem(me, saved));
    } catch (err) {
      say(toggle, failure(err, 'Not changed'), 'error');
      toggle.disabled = false;
    }
  });
  return item;
}

export async function notificationsView(me) {
  const [prefs, sent] = await Promise.all([
    get('/api/v1/me/notification-preferences'), get('/api/v1/notifications?limit=50')]);
  const list = h('div', { class: 'card' }, h('h2', {}, 'Sent to you'),
    sent.items.length ? h('ul', { class: 'list', id: 'notification-list' }, sent.items.map((n) => listItem(me, n)))
      : h('p', { class: 'muted' }, 'Nothing yet.'));
  return h('section', {}, h('h1', {}, 'Notifications'),
    await deviceCard(me), preferencesForm(me, prefs), list);
}
