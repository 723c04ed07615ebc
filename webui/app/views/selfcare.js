// Daily check-in, craving log, the "waiting to send" list, and the home-page cards.
import { onLive } from '../live.js';
import { get, post, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, formatWhen, say, formActions } from '../dom.js';
import {
  send, pending, onQueueChange, startOffline, newId, deviceNow, cachedGet, flush, removePending,
  waitsFor,
} from '../offline.js';

const KIND_TEXT = { checkin: 'Check-in', craving: 'Craving log', completion: 'Coping exercise' };
export const ALERT_TEXT = {
  craving_high: 'High craving', need_to_talk: 'Needs to talk', use_reported: 'Reported use',
  phq9_item9: 'PHQ-9 item 9 (self-harm thoughts)', missed_checkins: 'Missed check-ins',
};

// A 0-10 slider with its value shown and the meaning of both ends.
export function scale(label, name, { value = 0, low = '0', high = '10', max = 10 } = {}) {
  const id = `f-${name}`;
  const out = h('output', { for: id, id: `${id}-value` }, String(value));
  const input = h('input', {
    type: 'range', name, id, min: 0, max, step: 1, value, 'aria-describedby': `${id}-ends ${id}-error`,
  });
  input.addEventListener('input', () => { out.textContent = input.value; });
  return h('div', { class: 'field scale' },
    h('label', { for: id }, label), input, out,
    h('div', { class: 'ends', id: `${id}-ends` }, h('span', {}, low), h('span', {}, high)),
    h('p', { class: 'field-error', id: `${id}-error` }));
}

function radios(legend, name, options, hint) {
  const described = [hint ? `f-${name}-hint` : null, `f-${name}-error`].filter(Boolean).join(' ');
  return h('fieldset', { class: 'field' },
    h('legend', {}, legend),
    hint ? h('p', { class: 'hint', id: `f-${name}-hint` }, hint) : null,
    h('div', { class: 'radios' }, options.map(([value, text]) => h('label', {},
      h('input', { type: 'radio', name, value, id: `f-${name}-${value}`, 'aria-describedby': described }), text))),
    h('p', { class: 'field-error', id: `f-${name}-error` }));
}

function checkboxes(legend, name, options) {
  return h('fieldset', {},
    h('legend', {}, legend),
    h('div', { class: 'choices' }, options.map(([value, text, hint]) => h('label', { title: hint || null },
      h('input', { type: 'checkbox', name, value, 'aria-describedby': `f-${name}-error` }), text))));
}

function checked(form, name) {
  return [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((i) => i.value);
}

function radioValue(form, name) {
  return form.querySelector(`input[name="${name}"]:checked`)?.value ?? null;
}

function optionalNumber(value) {
  return value === '' || value === null ? null : Number(value);
}

function requireChoice(form, name, message, detail) {
  if (radioValue(form, name) !== null) return true;
  showProblem(form, { detail, errors: [{ field: name, message }] });
  return false;
}

// Listen to the outbox while el is on the page (and stop once it has left it).
function onQueueWhileShown(el, fn) {
  let shown = false;
  const stop = onQueueChange((event) => {
    if (el.isConnected) { shown = true; fn(event); } else if (shown) stop();
  });
}

// Says, next to the button, where an entry went: stored on the server, or kept on the phone for
// later (and then, once the outbox has sent it, that it was sent).
function sayWhereSaved(button, result, what, id, ...more) {
  if (result.sent) {
    say(button, `${what} saved.`, 'success', ...more);
    return;
  }
  const note = say(button, `${what} saved on this phone. ${WAITS_TEXT[result.waitsFor]}`, 'notice', ...more)
    .querySelector('p');
  onQueueWhileShown(note, (event) => {
    if (event.id !== id) return;
    if (event.type === 'stored') {
      note.className = 'success';
      note.textContent = `${what} sent.`;
    } else if (event.type === 'deleted') {
      note.textContent = `${what} deleted from this phone. It was not sent.`;
    }
  });
}

export const WAITS_TEXT = {
  connection: 'It will be sent when you are back online.',
  login: 'It will be sent after you log in again.',
  server: 'The server did not take it yet. It is sent again by itself.',
};

// What a waiting entry is waiting for, in the list of entries kept on the phone.
function waitingText(item) {
  if (!navigator.onLine) return ['wait', 'Waiting for a connection'];
  const status = item.last_status;
  if (status === null || status === undefined) return ['wait', 'Waiting to be sent'];
  if (waitsFor(status) === 'login') return ['failed', 'Log in again to send it'];
  if (status === 0) return ['failed', 'Not sent yet: no connection. Trying again'];
  if (status >= 400 && status < 500 && ![403, 408, 429].includes(status)) {
    return ['failed', 'The server did not accept it. You can delete it'];
  }
  return ['failed', 'Not sent yet: the server had a problem. Trying again'];
}

const whenQueued = (ms) => formatWhen(new Date(ms).toISOString());

// "Waiting to send: 2": each entry kept on the phone, what it waits for, a delete for each,
// and "Send now".
export function waitingCard() {
  const card = h('div', { class: 'card waiting', hidden: true });
  let draws = 0;
  const draw = async () => {
    // Draws overlap (a change while the queue is read): only the latest one's reading is
    // shown, or an entry sent meanwhile would come back as "Waiting to send: 1".
    const mine = ++draws;
    const items = await pending();
    if (mine !== draws) return;
    card.hidden = items.length === 0;
    if (!items.length) { card.replaceChildren(); return; }
    const heading = h('h2', { tabindex: '-1' }, `Waiting to send: ${items.length}`);
    const sendNow = h('button', { type: 'button', class: 'secondary' }, 'Send now');
    sendNow.addEventListener('click', async () => {
      sendNow.disabled = true;
      await flush();
      draw();
    });
    card.replaceChildren(...[
      heading,
      h('p', { class: 'hint' }, 'Kept safely on this phone, encrypted, even if you close the app. They are sent by themselves as soon as they can be.'),
      h('ul', { class: 'list' }, items.map((item) => {
        const what = KIND_TEXT[item.kind] || 'Entry';
        const when = whenQueued(item.queued_at);
        const [tag, status] = waitingText(item);
        const remove = h('button', { type: 'button', class: 'secondary', 'aria-label': `Delete ${what.toLowerCase()} of ${when}` }, 'Delete');
        remove.addEventListener('click', async () => {
          if (!window.confirm(`Delete this ${what.toLowerCase()} of ${when} from this phone? It has not been sent and will be lost.`)) return;
          await removePending(item.id);
          await draw();
          (card.hidden ? document.getElementById('main') : card.querySelector('h2')).focus();
        });
        return h('li', { dataset: { id: item.id } },
          h('span', {}, h('strong', {}, what), ` · ${when}`, item.label ? ` · ${item.label}` : ''),
          h('span', { class: `tag ${tag}` }, status),
          remove);
      })),
      navigator.onLine ? h('div', { class: 'form-actions' }, sendNow) : null,
    ].filter(Boolean));
  };
  onQueueWhileShown(card, draw);
  const redraw = () => { if (card.isConnected) draw(); else { window.removeEventListener('online', redraw); window.removeEventListener('offline', redraw); } };
  window.addEventListener('online', redraw);
  window.addEventListener('offline', redraw);
  draw();
  return card;
}

function supportCard(reasons) {
  return h('div', { class: 'card support', role: 'status' },
    h('h2', {}, 'You are not alone'),
    h('p', {}, reasons.talk
      ? 'Your counselor will see that you want to talk and will reach out.'
      : 'Strong cravings pass. Your counselor will see this and may reach out.'),
    h('p', {}, 'While you wait, try one of these:'),
    h('div', { class: 'big-actions' },
      h('a', { class: 'btn', href: '/coping/urge_surfing' }, 'Urge surfing'),
      h('a', { class: 'btn', href: '/coping/call_support' }, 'Call my support list')),
    h('p', {}, 'If you are in danger, use ', h('a', { href: '#crisis' }, 'Get help now'), '.'));
}

export async function checkinView(me) {
  startOffline(me);
  const form = h('form', { class: 'card', novalidate: true },
    scale('Mood right now', 'mood', { value: 5, low: '0 = very low', high: '10 = very good' }),
    scale('Craving right now', 'craving', { value: 0, low: '0 = none', high: '10 = the strongest you can imagine' }),
    field('Hours of sleep last night', { name: 'sleep_hours', type: 'number', min: 0, max: 24, step: 0.5, inputmode: 'decimal' }),
    field('How well did you sleep?', {
      name: 'sleep_quality', tag: 'select',
      options: [['', 'Choose (optional)'], ['very_poor', 'Very poor'], ['poor', 'Poor'], ['fair', 'Fair'], ['good', 'Good'], ['very_good', 'Very good']],
    }),
    radios('Used alcohol or drugs since your last check-in?', 'used',
      [['no', 'No'], ['yes', 'Yes'], ['prefer_not_to_say', 'Prefer not to say']],
      'An honest answer helps your counselor help you. It will not be held against you.'),
    field('Medication for opioid use (MOUD) today', {
      name: 'medication_taken', tag: 'select',
      options: [['', 'I am not on this medication'], ['yes', 'Yes, I took it'], ['no', 'No, I missed it']],
    }),
    field('Anything else? (one line, optional)', { name: 'note', maxlength: 280, autocomplete: 'off' }),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'need_to_talk', id: 'f-need_to_talk', 'aria-describedby': 'f-need_to_talk-hint' }),
      'I need to talk to someone'),
    h('p', { class: 'hint', id: 'f-need_to_talk-hint' }, 'Your counselor is alerted. In an emergency use Get help now at the top.'),
    formActions(h('button', { type: 'submit' }, 'Save check-in')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    if (!requireChoice(form, 'used', 'Choose one answer.', 'One question has no answer yet: used alcohol or drugs since your last check-in?')) return;
    const med = form.medication_taken.value;
    const body = {
      id: newId(),
      occurred_at: deviceNow(),
      mood: Number(form.mood.value),
      craving: Number(form.craving.value),
      sleep_hours: optionalNumber(form.sleep_hours.value),
      sleep_quality: form.sleep_quality.value || null,
      used: radioValue(form, 'used'),
      medication_taken: med === '' ? null : med === 'yes',
      note: form.note.value.trim(),
      need_to_talk: form.need_to_talk.checked,
    };
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const saved = await send('checkin', '/api/v1/checkins', body, '');
      form.reset();
      sayWhereSaved(button, saved, 'Check-in', body.id,
        body.need_to_talk || body.craving >= 8 ? supportCard({ talk: body.need_to_talk }) : null);
      form.querySelectorAll('output').forEach((o) => { o.textContent = document.getElementById(o.htmlFor.value)?.value ?? ''; });
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    } finally {
      button.disabled = false;
    }
  });
  // From the crisis panel's "Ask my counselor to reach out".
  const askToTalk = new URLSearchParams(location.search).has('talk');
  if (askToTalk) form.need_to_talk.checked = true;
  return h('section', {}, h('h1', {}, 'Daily check-in'),
    h('p', { class: 'muted' }, 'About 30 seconds. You can check in more than once a day; the latest counts.'),
    askToTalk ? h('p', { class: 'notice' }, '"I need to talk to someone" is ticked below: save the check-in and your counselor is alerted at once.') : null,
    waitingCard(), form);
}

export async function cravingView(me) {
  startOffline(me);
  const [triggers, library] = await Promise.all([
    cachedGet('/api/v1/triggers', 'triggers').then((r) => r.data).catch(() => ({ groups: [], items: [] })),
    cachedGet('/api/v1/coping/exercises', 'exercises').then((r) => r.data).catch(() => ({ items: [] })),
  ]);
  const form = h('form', { class: 'card', novalidate: true },
    scale('How strong is the craving?', 'intensity', { value: 5, low: '0 = none', high: '10 = the strongest you can imagine' }),
    triggers.groups.map((g) => checkboxes(g.label, 'triggers',
      triggers.items.filter((t) => t.group === g.code).map((t) => [t.code, t.label, t.hint])))
      .concat(h('p', { class: 'field-error', id: 'f-triggers-error' })),
    field('Another trigger, in your words (optional)', { name: 'trigger_other', maxlength: 200, autocomplete: 'off' }),
    field('Where were you? (optional)', { name: 'where', maxlength: 200, autocomplete: 'off' }),
    field('Who were you with? (optional)', { name: 'with_whom', maxlength: 200, autocomplete: 'off' }),
    checkboxes('What did you do to cope?', 'coping', library.items.map((x) => [x.code, x.title])),
    radios('Did you use?', 'used', [['no', 'No'], ['yes', 'Yes']]),
    field('How long did it last, in minutes? (optional)', { name: 'duration_minutes', type: 'number', min: 0, max: 1440, inputmode: 'numeric' }),
    field('Notes (optional)', { name: 'notes', tag: 'textarea', maxlength: 2000, rows: 3 }),
    formActions(h('button', { type: 'submit' }, 'Save craving')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    if (!requireChoice(form, 'used', 'Choose yes or no.', 'One question has no answer yet: did you use?')) return;
    const body = {
      id: newId(),
      occurred_at: deviceNow(),
      intensity: Number(form.intensity.value),
      triggers: checked(form, 'triggers'),
      trigger_other: form.trigger_other.value.trim(),
      where: form.where.value.trim(),
      with_whom: form.with_whom.value.trim(),
      coping: checked(form, 'coping'),
      used: radioValue(form, 'used') === 'yes',
      duration_minutes: optionalNumber(form.duration_minutes.value),
      notes: form.notes.value.trim(),
    };
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      const saved = await send('craving', '/api/v1/cravings', body, `strength ${body.intensity} of 10`);
      form.reset();
      form.querySelector('output').textContent = form.intensity.value;
      sayWhereSaved(button, saved, 'Craving', body.id, body.intensity >= 8 ? supportCard({ talk: false }) : null);
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    } finally {
      button.disabled = false;
    }
  });
  return h('section', {}, h('h1', {}, 'Log a craving'),
    h('p', { class: 'muted' }, 'Trigger → thought → craving → action. Noticing the chain is how you learn to break it.'),
    waitingCard(), form);
}

// Home page, client: today's check-in reminder (in the client's time zone), quick actions.
export async function clientSelfCareCards(me) {
  startOffline(me);
  const today = h('div', { class: 'card' });
  try {
    const t = await get('/api/v1/selfcare/today');
    if (t.checked_in) {
      today.classList.add('done');
      today.append(h('h2', {}, 'Checked in today'),
        h('p', {}, `Mood ${t.checkin.mood}/10, craving ${t.checkin.craving}/10. Thank you.`));
    } else {
      today.classList.add('reminder');
      today.append(h('h2', {}, 'Daily check-in'),
        h('p', {}, 'You have not checked in today. It takes about 30 seconds.'),
        h('a', { class: 'btn', href: '/checkin' }, 'Check in now'));
    }
  } catch (err) {
    const waiting = (await pending()).some((i) => i.kind === 'checkin');
    today.append(h('h2', {}, 'Daily check-in'), waiting
      ? h('p', {}, 'Your check-in is saved on this phone and will be sent when you are back online.')
      : h('a', { class: 'btn', href: '/checkin' }, 'Check in now'));
  }
  const actions = h('div', { class: 'card' }, h('h2', {}, 'Right now'),
    h('div', { class: 'big-actions' },
      h('a', { class: 'btn', href: '/craving' }, 'Log a craving'),
      h('a', { class: 'btn', href: '/coping' }, 'Coping exercises'),
      h('a', { class: 'btn secondary', href: '/safety-plan' }, 'My safety plan'),
      h('a', { class: 'btn secondary', href: '/trends' }, 'My trends')));
  return [today, waitingCard(), actions];
}

// Home page, counselor: open alerts of the clients they treat, acknowledged with a note.
export async function alertsCard(me, { clientId = null } = {}) {
  const card = h('div', { class: 'card', id: 'alerts' });
  const draw = async () => {
    card.replaceChildren(h('h2', {}, 'Open alerts'));
    let items;
    try {
      ({ items } = await get(`/api/v1/alerts?limit=50${clientId ? `&client_id=${clientId}` : ''}`));
    } catch (err) {
      card.append(h('p', { class: 'error', role: 'alert' }, err.message));
      return;
    }
    if (!items.length) { card.append(h('p', { class: 'muted' }, 'No open alerts.')); return; }
    card.append(h('ul', { class: 'list' }, items.map((a) => {
      const form = h('form', { class: 'row', novalidate: true },
        field(`Note for alert ${a.id} (optional)`, { name: 'note', id: `ack-${a.id}`, maxlength: 1000, autocomplete: 'off' }),
        h('button', { type: 'submit' }, 'Acknowledge'));
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        try {
          await post(`/api/v1/alerts/${a.id}/ack`, { note: form.note.value.trim() || null });
          await draw();
        } catch (err) {
          showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
        }
      });
      return h('li', { dataset: { alert: a.id } },
        h('div', { class: 'row' },
          h('span', {}, h('a', { href: `/clients/${a.client.id}` }, a.client.display_name), ' · ', ALERT_TEXT[a.kind] || a.kind),
          h('span', { class: `tag ${a.urgency}` }, a.urgency)),
        h('div', { class: 'muted' }, formatWhen(a.created_at, me.timezone)),
        form);
    })));
  };
  await draw();
  // Live: a new alert for one of this counselor's clients redraws the list at once.
  const live = h('p', { class: 'notice', role: 'alert', hidden: true });
  card.after(live);
  onLive('alert', (a) => {
    if (!card.isConnected) return false;
    if (clientId && a.client.id !== Number(clientId)) return true;
    card.before(live);
    live.hidden = false;
    live.textContent = `New ${a.urgency} alert: ${a.client.display_name}, ${ALERT_TEXT[a.kind] || a.kind}.`;
    draw();
    return true;
  });
  return card;
}
