// The care team's side for clients, counselors, admins and family members: rewards, education
// modules, family members and Part 2 consents, and the client's own record.
import { get, post, put, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, formatWhen } from '../dom.js';

const PRIZE_TEXT = { good_job: '"Good job"', small: 'small prizes', large: 'large prizes', jumbo: 'jumbo prizes' };
const PRIZE_ONE = { good_job: '"good job"', small: 'small prize', large: 'large prize', jumbo: 'jumbo prize' };
const BEHAVIOUR_TEXT = { checkin: 'Daily check-in', attendance: 'Attending sessions', negative_test: 'Negative test' };
const RESULT_TEXT = { negative: 'Negative', positive: 'Positive', missed: 'Missed or refused' };

function problemOf(err) { return err instanceof ApiError ? err.problem : { detail: String(err) }; }
function errorCard(title, err) {
  return h('section', {}, h('h1', {}, title), h('p', { class: 'error', role: 'alert' }, err.message),
    h('p', {}, h('a', { href: '/home' }, 'Back to home')));
}
function dateOnly(iso, timeZone) {
  return new Date(iso).toLocaleDateString([], { month: 'short', day: 'numeric', year: 'numeric', timeZone });
}

// --- client's home: one small card of links ----------------------------------------------

export function careLinksCard() {
  return h('div', { class: 'card' }, h('h2', {}, 'More for you'),
    h('ul', { class: 'list' },
      h('li', {}, h('a', { href: '/rewards' }, 'Your rewards')),
      h('li', {}, h('a', { href: '/learn' }, 'Learn: short reads from your counselor')),
      h('li', {}, h('a', { href: '/consents' }, 'Family and sharing (consents)')),
      h('li', {}, h('a', { href: '/my-record' }, 'Your record and who looked at it'))));
}

// --- rewards -----------------------------------------------------------------------------

function rewardsSummary(summary) {
  const parts = [];
  if (summary.scheme === 'points') {
    parts.push(h('p', {}, h('strong', {}, String(summary.points_total)), ' points earned'));
  } else {
    const won = Object.entries(summary.prizes).filter(([tier, n]) => tier !== 'good_job' && n);
    parts.push(h('p', {}, h('strong', {}, String(summary.draws_total)), ' draws from the prize bowl'),
      h('p', {}, won.length ? `You won ${won.map(([tier, n]) => `${n} ${PRIZE_TEXT[tier]}`).join(', ')}.`
        : 'No prizes yet: every draw is a chance.'));
  }
  if (summary.streaks.length) {
    parts.push(h('ul', { class: 'list' }, summary.streaks.map((s) => h('li', { class: 'row' },
      h('span', {}, BEHAVIOUR_TEXT[s.behaviour], ' ', h('span', { class: 'muted' }, `${s.streak} in a row`)),
      h('span', {}, summary.scheme === 'points' ? `next: ${s.next.points} points` : `next: ${s.next.draws} draws`)))));
  }
  return parts;
}

export async function rewardsView(me) {
  let summary; let ledger;
  try {
    [summary, ledger] = await Promise.all([get('/api/v1/rewards'), get('/api/v1/rewards/ledger?limit=30')]);
  } catch (err) { return errorCard('Your rewards', err); }
  const page = h('section', {}, h('h1', {}, 'Your rewards'));
  if (!summary.enabled && !ledger.items.length) {
    page.append(h('p', { class: 'muted' }, 'Your program does not use rewards at the moment.'));
    return page;
  }
  page.append(h('div', { class: 'card' }, h('h2', {}, 'So far'), ...rewardsSummary(summary),
    h('p', { class: 'muted' }, 'Each success in a row earns more; a missed day or session starts the count again. What you earned is never taken away.')));
  page.append(h('div', { class: 'card' }, h('h2', {}, 'History'), ledger.items.length
    ? h('ul', { class: 'list' }, ledger.items.map((e) => h('li', { class: 'row' },
      h('span', {}, BEHAVIOUR_TEXT[e.behaviour], ' ', h('span', { class: 'muted' }, dateOnly(e.occurred_on, 'UTC'))),
      h('span', {}, e.outcome === 'lapse' ? 'count starts again'
        : e.scheme === 'points' ? `+${e.points} points` : e.prizes.map((p) => PRIZE_ONE[p]).join(', ')))))
    : h('p', { class: 'muted' }, 'Nothing yet.')));
  return page;
}

// Admin: a program's reward settings.
export async function rewardSettingsView() {
  let programs;
  try { ({ items: programs } = await get('/api/v1/programs')); } catch (err) { return errorCard('Rewards', err); }
  const page = h('section', {}, h('h1', {}, 'Rewards (contingency management)'));
  for (const program of programs) page.append(await settingsForm(program));
  return page;
}

async function settingsForm(program) {
  const s = await get(`/api/v1/programs/${program.id}/rewards`);
  const id = (name) => `${name}-${program.id}`;
  const num = (label, name, min, max) => field(label, { name, id: id(name), type: 'number', min, max, value: String(s[name]), inputmode: 'numeric' });
  const status = h('p', { role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, program.name),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'enabled', checked: s.enabled }), 'Use rewards in this program'),
    field('Kind', { name: 'scheme', id: id('scheme'), tag: 'select', options: [['fishbowl', 'Prize draws (fishbowl)'], ['points', 'Escalating points']] }),
    h('fieldset', {}, h('legend', {}, 'Behaviours that earn'),
      Object.entries(BEHAVIOUR_TEXT).map(([code, text]) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'behaviours', value: code, checked: s.behaviours.includes(code) }), text))),
    h('fieldset', {}, h('legend', {}, 'Prize bowl (slips)'),
      ['good_job', 'small', 'large', 'jumbo'].map((tier) => field(PRIZE_TEXT[tier], { name: `bowl.${tier}`, id: id(`bowl-${tier}`), type: 'number', min: 0, max: 10000, value: String(s.bowl[tier] ?? 0) }))),
    num('Draws for the first success', 'draws_start', 1, 20), num('Draws added per success in a row', 'draws_step', 0, 10),
    num('Most draws at once', 'draws_max', 1, 50), num('Points for the first success', 'points_start', 1, 1000),
    num('Points added per success in a row', 'points_step', 0, 1000), num('Most points at once', 'points_max', 1, 10000),
    num('Minutes in a session to count as attended', 'attendance_min_minutes', 1, 600),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Save')), status);
  form.scheme.value = s.scheme;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    status.textContent = '';
    const int = (name) => Number.parseInt(form.elements[name].value, 10);
    try {
      await put(`/api/v1/programs/${program.id}/rewards`, {
        enabled: form.enabled.checked, scheme: form.scheme.value,
        behaviours: [...form.querySelectorAll('input[name="behaviours"]:checked')].map((i) => i.value),
        bowl: Object.fromEntries(['good_job', 'small', 'large', 'jumbo'].map((t) => [t, int(`bowl.${t}`)])),
        draws_start: int('draws_start'), draws_step: int('draws_step'), draws_max: int('draws_max'),
        points_start: int('points_start'), points_step: int('points_step'), points_max: int('points_max'),
        attendance_min_minutes: int('attendance_min_minutes'),
      });
      status.textContent = 'Saved.';
    } catch (err) { showProblem(form, problemOf(err)); }
  });
  return form;
}

// --- psychoeducation ---------------------------------------------------------------------

function moduleBody(module) {
  return [h('p', { class: 'muted' }, `About ${module.minutes} minutes`),
    ...module.sections.map((s) => h('div', {}, h('h2', {}, s.heading), s.text.map((t) => h('p', {}, t)))),
    h('div', { class: 'card' }, h('h2', {}, 'Key points'), h('ul', {}, module.key_points.map((k) => h('li', {}, k))))];
}

export async function learnView(me, code) {
  let modules;
  try { ({ items: modules } = await get('/api/v1/psychoed/modules')); } catch (err) { return errorCard('Learn', err); }
  const assigned = me.role === 'client' ? (await get('/api/v1/psychoed/assignments?limit=50')).items : [];
  if (code) {
    const module = modules.find((m) => m.code === code);
    if (!module) return errorCard('Learn', new Error('No such module.'));
    const page = h('section', {}, h('h1', {}, module.title), ...moduleBody(module));
    const mine = assigned.find((a) => a.module === code);
    if (mine) {
      const status = h('p', { role: 'status', 'aria-live': 'polite' }, mine.completed_at ? 'Marked as done. Well done.' : '');
      const button = h('button', { type: 'button', disabled: Boolean(mine.completed_at) }, 'Mark as done');
      button.addEventListener('click', async () => {
        try {
          await post(`/api/v1/psychoed/assignments/${mine.id}/done`);
          status.textContent = 'Marked as done. Well done.';
          button.disabled = true;
        } catch (err) { status.textContent = err.message; }
      });
      page.append(h('div', { class: 'form-actions' }, button), status);
    }
    page.append(h('p', {}, h('a', { href: '/learn' }, 'All modules')));
    return page;
  }
  const page = h('section', {}, h('h1', {}, 'Learn'));
  if (me.role === 'client') {
    page.append(h('div', { class: 'card' }, h('h2', {}, 'From your counselor'), assigned.length
      ? h('ul', { class: 'list' }, assigned.map((a) => h('li', { class: 'row' },
        h('a', { href: `/learn/${a.module}` }, a.title),
        h('span', { class: a.completed_at ? 'tag live' : 'tag' }, a.completed_at ? 'done' : 'to read'))))
      : h('p', { class: 'muted' }, 'Nothing assigned yet.')));
  }
  const shown = me.role === 'family' ? [...modules].sort((a, b) => (a.audience === 'family' ? -1 : 0) - (b.audience === 'family' ? -1 : 0)) : modules;
  page.append(h('div', { class: 'card' }, h('h2', {}, 'All modules'),
    h('ul', { class: 'list' }, shown.map((m) => h('li', { class: 'row' },
      h('a', { href: `/learn/${m.code}` }, m.title),
      h('span', { class: 'muted' }, `${m.minutes} min${m.audience === 'family' ? ' · for families' : ''}`))))));
  return page;
}

// --- counselor: a client's care (modules, tests, rewards) --------------------------------

export async function clientCareView(me, param) {
  const clientId = Number.parseInt(param, 10);
  let data;
  try {
    data = await Promise.all([
      get(`/api/v1/psychoed/modules`), get(`/api/v1/psychoed/assignments?client_id=${clientId}&limit=50`),
      get(`/api/v1/test-results?client_id=${clientId}&limit=10`), get(`/api/v1/rewards?client_id=${clientId}`),
      get(`/api/v1/consents?client_id=${clientId}&limit=20`),
    ]);
  } catch (err) { return errorCard('Care', err); }
  const [{ items: modules }, { items: assigned }, { items: tests }, rewards, { items: consents }] = data;
  const page = h('section', {}, h('h1', {}, 'Care: modules, tests, rewards'),
    h('p', {}, h('a', { href: `/clients/${clientId}` }, 'Back to the client')));

  const assignForm = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Education modules'),
    assigned.length ? h('ul', { class: 'list' }, assigned.map((a) => h('li', { class: 'row' },
      h('span', {}, a.title), h('span', { class: a.completed_at ? 'tag live' : 'tag' },
        a.completed_at ? `done ${formatWhen(a.completed_at, me.timezone)}` : 'not yet'))))
      : h('p', { class: 'muted' }, 'None assigned.'),
    field('Module', { name: 'module', tag: 'select', options: modules.map((m) => [m.code, m.title]) }),
    field('Note for the client (optional)', { name: 'note', maxlength: 500 }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Assign')));
  assignForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(assignForm);
    try {
      await post('/api/v1/psychoed/assignments', { client_id: clientId, module: assignForm.module.value, note: assignForm.note.value });
      page.replaceWith(await clientCareView(me, param));
    } catch (err) { showProblem(assignForm, problemOf(err)); }
  });

  const testId = crypto.randomUUID(); // one id for this entry: a retry is stored once
  const testForm = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Drug tests'),
    tests.length ? h('ul', { class: 'list' }, tests.map((t) => h('li', { class: 'row' },
      h('span', {}, formatWhen(t.collected_at, me.timezone)), h('span', {}, RESULT_TEXT[t.result]))))
      : h('p', { class: 'muted' }, 'No results entered.'),
    field('Result', { name: 'result', tag: 'select', options: Object.entries(RESULT_TEXT) }),
    field('Collected (date and time)', { name: 'collected_at', type: 'datetime-local', required: true }),
    field('Note (optional)', { name: 'note', maxlength: 280 }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Enter result')));
  testForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(testForm);
    const when = testForm.collected_at.value ? new Date(testForm.collected_at.value) : null;
    if (!when) { showProblem(testForm, { detail: 'Say when the sample was collected.', errors: [{ field: 'collected_at', message: 'required' }] }); return; }
    try {
      await post('/api/v1/test-results', { id: testId, client_id: clientId, collected_at: when.toISOString(), result: testForm.result.value, note: testForm.note.value });
      page.replaceWith(await clientCareView(me, param));
    } catch (err) { showProblem(testForm, problemOf(err)); }
  });

  const active = consents.filter((c) => c.state === 'active');
  page.append(h('div', { class: 'grid' }, assignForm, testForm),
    h('div', { class: 'grid' },
      h('div', { class: 'card' }, h('h2', {}, 'Rewards'), ...rewardsSummary(rewards)),
      h('div', { class: 'card' }, h('h2', {}, 'Consents in force'), active.length
        ? h('ul', { class: 'list' }, active.map((c) => h('li', {}, h('strong', {}, c.recipient_name), ': ', c.categories.join(', '),
          h('div', { class: 'muted' }, `until ${dateOnly(c.expires_at, me.timezone)}`))))
        : h('p', { class: 'muted' }, 'None: share nothing outside the treating team.'))));
  return page;
}

// --- client: family members and consents -------------------------------------------------

const FAMILY_STATE = { pending: 'invited, not yet accepted' };

// "Shared with": family members who accepted, and those invited, not yet accepted (a consent
// needs their account, so those wait, and say so).
function sharedWith(accepted, invited) {
  const box = field('Shared with', { name: 'family_link_id', tag: 'select', options: [['', 'Someone else (type their name below)'], ...accepted.map((f) => [String(f.id), f.display_name])] });
  const select = box.querySelector('select');
  for (const f of invited) {
    select.append(h('option', { value: String(f.id), disabled: true }, `${f.display_name} (invited, not yet accepted)`));
  }
  if (invited.length) {
    const names = invited.map((f) => f.display_name).join(', ');
    const id = 'f-family_link_id-invited';
    select.setAttribute('aria-describedby', `${select.getAttribute('aria-describedby')} ${id}`);
    box.append(h('p', { class: 'muted', id }, `${names}: invited, not yet accepted. You can share with them once they accept the invitation.`));
  }
  return box;
}

export async function consentsView(me) {
  let family; let consents;
  try {
    [family, consents] = await Promise.all([get('/api/v1/family?limit=50'), get('/api/v1/consents?limit=50')]);
  } catch (err) { return errorCard('Family and sharing', err); }
  const page = h('section', {}, h('h1', {}, 'Family and sharing'),
    h('p', { class: 'muted' }, 'Family members you invite can read education for families. They see nothing about you unless you sign a consent below, and you can revoke it any time.'));

  const result = h('div', { role: 'status', 'aria-live': 'polite' });
  const invite = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Invite a family member'),
    field('Their email', { name: 'email', type: 'email', required: true, autocomplete: 'off' }),
    field('Their name', { name: 'display_name', required: true, maxlength: 80 }),
    field('Who they are to you (optional)', { name: 'relationship', maxlength: 80 }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Send invitation')), result);
  invite.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(invite);
    try {
      const made = await post('/api/v1/family', { email: invite.email.value, display_name: invite.display_name.value, relationship: invite.relationship.value });
      const again = await consentsView(me);
      page.replaceWith(again);
      again.querySelector('[role="status"]').append(h('p', { class: 'success' }, made.emailed
        ? `Invitation emailed to ${made.email}.` : `Give ${made.display_name} this link yourself:`),
      made.emailed ? '' : h('p', { class: 'copy' }, made.url));
    } catch (err) { showProblem(invite, problemOf(err)); }
  });
  const accepted = family.items.filter((f) => f.state === 'accepted');
  // Invited but not in yet: shown (not choosable) so nobody wonders where they went.
  const invited = family.items.filter((f) => f.state === 'pending');
  page.append(h('div', { class: 'grid' }, invite,
    h('div', { class: 'card' }, h('h2', {}, 'Your family members'), family.items.length
      ? h('ul', { class: 'list' }, family.items.map((f) => h('li', { class: 'row' },
        h('span', {}, f.display_name, f.relationship ? h('span', { class: 'muted' }, ` (${f.relationship})`) : ''),
        h('span', { class: 'tag' }, FAMILY_STATE[f.state] || f.state),
        // Ending the link stops their family sessions at once (consents stay yours to revoke).
        f.state === 'accepted' ? h('button', { type: 'button', class: 'link', onclick: async (ev) => {
          if (!window.confirm(`End the link with ${f.display_name}? They can no longer join your family sessions.`)) return;
          ev.target.disabled = true;
          try { await post(`/api/v1/family/${f.id}/end`); page.replaceWith(await consentsView(me)); } catch (err) { ev.target.disabled = false; window.alert(err.message); }
        } }, `End link with ${f.display_name}`) : null)))
      : h('p', { class: 'muted' }, 'No one yet.'))));

  // A new consent: every element 42 CFR §2.31 asks for.
  const soon = new Date(Date.now() + 90 * 864e5).toISOString().slice(0, 10);
  const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Sign a consent to share'),
    h('p', {}, `Who shares: your program. It shares only what you tick, only with the person you name, until the date you set.`),
    sharedWith(accepted, invited),
    field('Their name and organisation (if not a family member above)', { name: 'recipient_name', maxlength: 200 }),
    h('fieldset', {}, h('legend', {}, 'What may be shared'),
      Object.entries(consents.categories).map(([code, text]) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'categories', value: code }), text)),
      h('p', { class: 'field-error', id: 'f-categories-error' })),
    field('Why (purpose)', { name: 'purpose', required: true, maxlength: 500, value: 'To support my recovery' }),
    field('Ends on (date)', { name: 'expires_on', type: 'date', required: true, value: soon }),
    field('Or ends sooner when (optional event)', { name: 'expiry_event', maxlength: 300 }),
    h('p', { class: 'muted' }, 'You can revoke this consent here at any time; it stops at once. You can also tell or write to the program.'),
    field('Signature: type your full name', { name: 'signature', required: true, maxlength: 200, autocomplete: 'name' }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Sign and save')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const day = form.expires_on.value;
    try {
      await post('/api/v1/consents', {
        family_link_id: form.family_link_id.value ? Number(form.family_link_id.value) : null,
        recipient_name: form.recipient_name.value,
        categories: [...form.querySelectorAll('input[name="categories"]:checked')].map((i) => i.value),
        purpose: form.purpose.value,
        expires_at: day ? new Date(`${day}T23:59:00`).toISOString() : '',
        expiry_event: form.expiry_event.value,
        signature: form.signature.value,
      });
      page.replaceWith(await consentsView(me));
    } catch (err) {
      const problem = problemOf(err);
      for (const fe of problem.errors || []) if (fe.field === 'expires_at') fe.field = 'expires_on';
      showProblem(form, problem);
      const cat = (problem.errors || []).find((fe) => fe.field.startsWith('categories'));
      if (cat) form.querySelector('#f-categories-error').textContent = cat.message;
    }
  });

  page.append(form, h('div', { class: 'card' }, h('h2', {}, 'Your consents'), consents.items.length
    ? h('ul', { class: 'list' }, consents.items.map((c) => h('li', {},
      h('div', { class: 'row' }, h('strong', {}, c.recipient_name), h('span', { class: c.state === 'active' ? 'tag live' : 'tag' }, c.state)),
      h('div', {}, `What: ${c.categories.map((k) => consents.categories[k] || k).join('; ')}`),
      h('div', { class: 'muted' }, `Why: ${c.purpose} · signed ${dateOnly(c.signed_at, me.timezone)} by ${c.signature} · until ${dateOnly(c.expires_at, me.timezone)}${c.expiry_event ? ` or ${c.expiry_event}` : ''}`),
      c.state === 'active' ? h('button', { type: 'button', class: 'secondary', onclick: async (ev) => {
        ev.target.disabled = true;
        try { await post(`/api/v1/consents/${c.id}/revoke`); page.replaceWith(await consentsView(me)); } catch (err) { ev.target.disabled = false; window.alert(err.message); }
      } }, `Revoke consent for ${c.recipient_name}`) : null)))
    : h('p', { class: 'muted' }, 'None: nothing about you is shared outside your treating team.')));
  return page;
}

// --- client: my record -------------------------------------------------------------------

export async function myRecordView(me) {
  let log;
  try { log = await get('/api/v1/me/access-log?limit=30'); } catch (err) { return errorCard('Your record', err); }
  const list = h('ul', { class: 'list' });
  const more = h('div', { class: 'form-actions' });
  const draw = (page) => {
    list.append(...page.items.map((e) => h('li', {},
      h('div', {}, h('strong', {}, e.who), ` (${e.role_text}) ${e.summary}`),
      h('div', { class: 'muted' }, formatWhen(e.at, me.timezone)))));
    more.replaceChildren();
    if (page.next) {
      more.append(h('button', { type: 'button', class: 'secondary', onclick: async () => draw(await get(page.next)) }, 'Show more'));
    }
  };
  draw(log);
  return h('section', {}, h('h1', {}, 'Your record'),
    h('div', { class: 'card' }, h('h2', {}, 'Download everything we hold about you'),
      h('p', {}, 'Your check-ins, cravings, exercises, safety plan, questionnaires, alerts, attendance, what you wrote in rooms, meetings, consents, rewards and education: as a file for other apps or a page to read or print.'),
      h('p', {}, h('a', { class: 'btn', href: '/api/v1/me/export', download: 'companion-record.json' }, 'Download (JSON)'), ' ',
        h('a', { class: 'btn secondary', href: '/api/v1/me/export?format=html', download: 'companion-record.html' }, 'Download a readable page'))),
    h('div', { class: 'card' }, h('h2', {}, 'Who looked at or changed your record'),
      h('p', { class: 'muted' }, 'Other people who opened or changed your record, newest first. Your own visits are not listed here; the download holds every one.'),
      log.items.length ? list : h('p', {}, 'Nobody else has looked at your record yet.'), more));
}

// --- family member's home ----------------------------------------------------------------

const CATEGORY_VIEW = {
  enrollment: (d) => d.enrollments.map((e) => `In ${e.program} since ${e.start_date}${e.end_date ? ` until ${e.end_date}` : ''}`),
  attendance: (d) => d.weeks.map((w) => `Week of ${w.week_start}: ${w.hours} of ${w.target_hours} hours`),
  checkins: (d) => [`Checked in on ${d.days_checked_in.length} of the last 14 days`],
  rewards: (d) => [`${d.points_total} points`, ...Object.entries(d.prizes).filter(([t, n]) => n && t !== 'good_job').map(([t, n]) => `${n} ${PRIZE_TEXT[t]}`)],
  psychoeducation: (d) => (d.completed.length ? d.completed.map((c) => `Read "${c.title}"`) : ['No modules completed yet']),
  family_sessions: (d) => [d.upcoming.length
    ? `You may join their family sessions: ${d.upcoming.length} coming up (see "Your family sessions")`
    : 'You may join their family sessions; none is scheduled at the moment'],
};

export async function familyHome() {
  const parts = [h('p', { class: 'muted' }, 'Education for families, and what the person who invited you chose to share with you.')];
  let shared;
  try { shared = await get('/api/v1/family/clients'); } catch (err) { return [h('p', { class: 'error', role: 'alert' }, err.message)]; }
  if (!shared.items.length) {
    parts.push(h('div', { class: 'card' }, h('h2', {}, 'Shared with you'), h('p', { class: 'muted' }, 'Nothing is shared with you at the moment.')));
  }
  for (const client of shared.items) {
    const card = h('div', { class: 'card' }, h('h2', {}, `Shared by ${client.display_name}`));
    for (const category of client.categories) {
      try {
        const item = await get(`/api/v1/family/clients/${client.id}/${category}`);
        card.append(h('ul', { class: 'list' }, CATEGORY_VIEW[category](item.data).map((line) => h('li', {}, line))));
      } catch (err) { /* the consent ended a moment ago */ }
    }
    parts.push(card);
  }
  if (shared.items.length) parts.push(h('div', { class: 'card notice' }, h('h2', {}, 'Please keep this private'), h('p', {}, shared.notice)));
  parts.push(h('p', {}, h('a', { class: 'btn', href: '/learn/family_support' }, 'For families: supporting without enabling'), ' ', h('a', { href: '/learn' }, 'All education modules')));
  return parts;
}
