// The coping-skills library and the exercise player: craving before, the guided pace (breathing,
// timer with check-ins, one step at a time, a form), craving after, saved through the outbox.
import { ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, formActions } from '../dom.js';
import { send, startOffline, newId, deviceNow, cachedGet } from '../offline.js';
import { scale, waitingCard, WAITS_TEXT } from './selfcare.js';

async function library() {
  return (await cachedGet('/api/v1/coping/exercises', 'exercises')).data;
}

export async function copingListView(me) {
  startOffline(me);
  let lib;
  try { lib = await library(); } catch (err) {
    return h('section', {}, h('h1', {}, 'Coping exercises'), h('p', { class: 'error', role: 'alert' }, err.message));
  }
  return h('section', {}, h('h1', {}, 'Coping exercises'),
    h('p', { class: 'muted' }, 'Rate your craving before and after, so you and your counselor can see which skills work for you.'),
    waitingCard(),
    h('ul', { class: 'exercise-list' }, lib.items.map((x) => h('li', { class: 'card' },
      h('a', { href: `/coping/${x.code}` }, h('strong', {}, x.title),
        h('span', { class: 'muted' }, ` · about ${x.minutes} min`),
        h('p', {}, x.summary))))));
}

const pad = (n) => String(n).padStart(2, '0');
const clockText = (secs) => `${pad(Math.floor(secs / 60))}:${pad(secs % 60)}`;

// A pacer's interval, stopped when the page is left (it would tick on, unseen, for minutes).
function ticker(onTick) {
  let id = null;
  const stop = () => {
    clearInterval(id); id = null;
    window.removeEventListener('companion:navigate', stop);
  };
  return {
    get running() { return id !== null; },
    start() {
      if (id !== null) return false; // one pace at a time, however often Start is pressed
      id = setInterval(onTick, 1000);
      window.addEventListener('companion:navigate', stop);
      return true;
    },
    stop,
  };
}

// Box breathing (and TIPP's paced breathing): phases of N seconds, shown as a growing box.
// One button starts and stops it.
function breathPacer(pace, onDone) {
  const phaseText = h('p', { class: 'breath-phase', 'aria-live': 'polite', id: 'breath-phase' }, 'Ready when you are');
  const count = h('span', { class: 'breath-count', 'aria-hidden': 'true' }, '');
  const box = h('div', { class: 'breath-box' }, count);
  const round = h('p', { class: 'muted', id: 'breath-round' }, `${pace.rounds} rounds`);
  const toggle = h('button', { type: 'button', 'aria-controls': 'breath-phase' }, 'Start breathing');
  const shapes = { 'Breathe in': 'grow', Hold: 'full', 'Breathe out': 'shrink', 'Breathe out slowly': 'shrink' };
  let r = 0; let p = 0; let left = 0; let lastHoldFull = true;
  const show = () => {
    const phase = pace.phases[p];
    phaseText.textContent = phase.label;
    count.textContent = String(left);
    // Hold after breathing in keeps the box full; hold after breathing out keeps it empty.
    let shape = shapes[phase.label] || 'full';
    if (phase.label === 'Hold') shape = lastHoldFull ? 'full' : 'empty';
    box.className = `breath-box ${shape}`;
    round.textContent = `Round ${r + 1} of ${pace.rounds}`;
  };
  const timer = ticker(() => {
    left -= 1;
    if (left > 0) { count.textContent = String(left); return; }
    const was = pace.phases[p].label;
    if (was.startsWith('Breathe in')) lastHoldFull = true;
    if (was.startsWith('Breathe out')) lastHoldFull = false;
    p += 1;
    if (p === pace.phases.length) { p = 0; r += 1; }
    if (r === pace.rounds) { finish(`Well done: ${pace.rounds} rounds finished.`, 'Breathe again'); onDone(); return; }
    left = pace.phases[p].seconds;
    show();
  });
  function finish(text, label) {
    timer.stop();
    phaseText.textContent = text; count.textContent = '';
    box.className = 'breath-box';
    toggle.textContent = label;
  }
  toggle.addEventListener('click', () => {
    if (timer.running) { finish('Stopped. You can start again any time.', 'Start breathing'); return; }
    r = 0; p = 0; left = pace.phases[0].seconds; lastHoldFull = true;
    timer.start();
    show();
    toggle.textContent = 'Stop the exercise';
  });
  return h('div', { class: 'pacer' }, phaseText, box, round, h('div', { class: 'form-actions' }, toggle));
}

// Urge surfing, delay and distract: a countdown with check-ins every few minutes.
function timerPacer(pace, checkins, ratings, onDone) {
  let total = pace.minutes * 60;
  let left = total;
  const display = h('p', { class: 'timer-display', role: 'timer', 'aria-live': 'off' }, clockText(left));
  const status = h('p', { 'aria-live': 'polite' });
  const checkinBox = h('div', {});
  const start = h('button', { type: 'button' }, 'Start timer');
  const more = h('button', { type: 'button', class: 'secondary' }, 'Add 5 minutes');
  more.hidden = !pace.max_minutes || pace.max_minutes <= pace.minutes;
  const askAt = new Map(checkins.map((c) => [c.timer_checkin * 60, c]));
  const ask = (c) => {
    status.textContent = pace.checkin_prompt || 'How strong is the urge now?';
    const s = scale(c.label, c.key, { value: 5, low: '0 = none', high: '10 = strongest' });
    const input = s.querySelector('input');
    ratings[c.key] = Number(input.value);
    input.addEventListener('input', () => { ratings[c.key] = Number(input.value); });
    checkinBox.append(s);
  };
  const timer = ticker(() => {
    left -= 1;
    display.textContent = clockText(Math.max(left, 0));
    const elapsed = total - left;
    if (askAt.has(elapsed)) ask(askAt.get(elapsed));
    if (left <= 0) {
      timer.stop();
      status.textContent = 'Time is up. Notice how the urge has changed.';
      onDone();
    }
  });
  start.addEventListener('click', () => {
    if (!timer.start()) return;
    start.hidden = true;
    status.textContent = 'Timer running. Ride the wave.';
  });
  more.addEventListener('click', () => {
    if (total + 300 > pace.max_minutes * 60) return;
    total += 300; left += 300;
    display.textContent = clockText(left);
    if (total >= pace.max_minutes * 60) more.hidden = true;
  });
  return h('div', { class: 'pacer' }, display, status, h('div', { class: 'form-actions' }, start, more), checkinBox);
}

// 5-4-3-2-1 grounding, STOP: one step at a time.
function stepPacer(steps, onDone) {
  let i = 0;
  const current = h('p', { class: 'step-current', 'aria-live': 'polite', id: 'step-current' }, steps[0]);
  const counter = h('p', { class: 'muted' }, `Step 1 of ${steps.length}`);
  const next = h('button', { type: 'button' }, 'Next step');
  next.addEventListener('click', () => {
    i += 1;
    if (i >= steps.length) {
      current.textContent = 'Done. Notice how you feel now.';
      counter.textContent = `All ${steps.length} steps done`;
      next.hidden = true;
      onDone();
      return;
    }
    current.textContent = steps[i];
    counter.textContent = `Step ${i + 1} of ${steps.length}`;
  });
  return h('div', { class: 'pacer' }, counter, current, h('div', { class: 'form-actions' }, next));
}

async function contactsBlock() {
  try {
    const plan = (await cachedGet('/api/v1/safety-plan', 'safety-plan')).data;
    const people = [...plan.help_contacts, ...plan.distractions].filter((c) => c.phone);
    if (!people.length) {
      return h('p', {}, 'Your safety plan has no phone numbers yet. ', h('a', { href: '/safety-plan' }, 'Add people to your safety plan'), '.');
    }
    return h('ul', { class: 'list' }, people.map((c) => h('li', { class: 'row' },
      h('strong', {}, c.name),
      h('span', {}, h('a', { class: 'btn', href: `tel:${c.phone.replace(/[^0-9+*#]/g, '')}` }, `Call ${c.name}`), ' ',
        h('a', { class: 'btn secondary', href: `sms:${c.phone.replace(/[^0-9+]/g, '')}` }, 'Text')))));
  } catch (err) {
    return h('p', { class: 'error', role: 'alert' }, err.message);
  }
}

function formInput(f) {
  if (f.type === 'rating_100') {
    return field(f.label, { name: f.key, type: 'number', min: 0, max: 100, step: 1, inputmode: 'numeric', required: f.required || null });
  }
  if (f.type === 'yes_no') {
    return h('label', { class: 'check' }, h('input', { type: 'checkbox', name: f.key, id: `f-${f.key}` }), f.label);
  }
  const el = field(f.label, {
    name: f.key, tag: f.type === 'textarea' ? 'textarea' : 'input', rows: f.type === 'textarea' ? 3 : null,
    maxlength: 2000, required: f.required || null, autocomplete: 'off',
  });
  if (f.help) el.querySelector('label').after(h('p', { class: 'hint' }, f.help));
  return el;
}

export async function exerciseView(me, code) {
  startOffline(me);
  let lib;
  try { lib = await library(); } catch (err) {
    return h('section', {}, h('h1', {}, 'Coping exercise'), h('p', { class: 'error', role: 'alert' }, err.message));
  }
  const x = lib.items.find((e) => e.code === code);
  if (!x) return h('section', {}, h('h1', {}, 'Exercise not found'), h('a', { href: '/coping' }, 'All exercises'));
  const startedAt = Date.now();
  const ratings = {};
  const pace = x.pace || { kind: 'steps' };
  const formFields = (x.form || []).filter((f) => !f.timer_checkin);
  const checkins = (x.form || []).filter((f) => f.timer_checkin);
  const result = h('div', { 'aria-live': 'polite' });
  const finishButton = h('button', { type: 'submit' }, 'Finish and save');
  const after = h('div', { class: 'card' }, h('h2', {}, 'After'),
    scale('How strong is your craving now?', 'craving_after', { value: 5, low: lib.rating.min_label, high: lib.rating.max_label }),
    formActions(finishButton));
  const reveal = () => { after.querySelector('input').focus({ preventScroll: true }); };
  let guide = null;
  if (pace.kind === 'breath') guide = breathPacer(pace, reveal);
  else if (pace.kind === 'timer') guide = timerPacer(pace, checkins, ratings, reveal);
  else if (pace.one_at_a_time) guide = stepPacer(x.steps, reveal);
  else if (pace.kind === 'contacts') guide = await contactsBlock();
  else if (pace.kind === 'link') guide = h('p', {}, h('a', { class: 'btn', href: pace.href }, pace.label));
  const form = h('form', { novalidate: true },
    h('div', { class: 'card' }, h('h2', {}, 'Before you start'),
      scale(lib.rating.label, 'craving_before', { value: 5, low: lib.rating.min_label, high: lib.rating.max_label })),
    x.caution ? h('p', { class: 'caution', role: 'note' }, x.caution) : null,
    h('div', { class: 'card' }, h('h2', {}, 'Steps'),
      pace.one_at_a_time ? null : h('ol', {}, x.steps.map((s) => h('li', {}, s))),
      guide,
      formFields.length ? h('div', {}, formFields.map(formInput)) : null),
    after,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    result.replaceChildren();
    const missing = formFields.filter((f) => f.required && String(form[f.key].value).trim() === '');
    if (missing.length) {
      showProblem(form, {
        detail: 'Fill in every part of the form.',
        errors: missing.map((f) => ({ field: f.key, message: 'Please fill this in.' })),
      });
      return;
    }
    const responses = { ...ratings };
    for (const f of formFields) {
      const input = form[f.key];
      if (f.type === 'yes_no') responses[f.key] = input.checked;
      else if (f.type === 'rating_100') { if (input.value !== '') responses[f.key] = Number(input.value); }
      else if (input.value.trim()) responses[f.key] = input.value.trim();
    }
    const before = Number(form.craving_before.value);
    const afterValue = Number(form.craving_after.value);
    const body = {
      id: newId(), occurred_at: deviceNow(), exercise: x.code,
      craving_before: before, craving_after: afterValue,
      duration_seconds: Math.round((Date.now() - startedAt) / 1000), responses, notes: '',
    };
    finishButton.disabled = true;
    try {
      const saved = await send('completion', '/api/v1/coping/completions', body, x.title);
      result.append(h('div', { class: 'card done', role: 'status' },
        h('h2', {}, saved.sent ? 'Saved' : 'Saved on this phone'),
        h('p', {}, `Craving before: ${before}. After: ${afterValue}.`),
        saved.sent ? null : h('p', {}, WAITS_TEXT[saved.waitsFor]),
        h('p', {}, h('a', { href: '/coping' }, 'Another exercise'), ' · ', h('a', { href: '/trends' }, 'What works for me'))));
      form.hidden = true;
      result.querySelector('h2').setAttribute('tabindex', '-1');
      result.querySelector('h2').focus();
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    } finally {
      finishButton.disabled = false;
    }
  });
  return h('section', {}, h('h1', {}, x.title), h('p', {}, x.summary), waitingCard(), result, form,
    h('p', {}, h('a', { href: '/coping' }, 'All exercises')));
}
