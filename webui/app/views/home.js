import { get, post, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, formatWhen, formatRange } from '../dom.js';
import { clientSelfCareCards, alertsCard } from './selfcare.js';
import { cachedGet } from '../offline.js';
import { instantOf, wallTimeIn, zoneLabel } from '../zones.js';
import { careLinksCard, familyHome } from './care.js';

const STATE_TEXT = {
  scheduled: 'Scheduled', open: 'Room open', in_progress: 'In progress', ended: 'Ended', cancelled: 'Cancelled',
};
const ROLE_TEXT = {
  client: 'Client', counselor: 'Counselor', peer_supporter: 'Peer supporter', admin: 'Program admin',
};
// The roles that sign in with a code from an authenticator app (companion/accounts/mfa.py).
const STAFF_ROLES = ['counselor', 'peer_supporter', 'admin'];

export async function homeView(me) {
  const page = h('section', {}, h('h1', {}, `Hello, ${me.display_name}`));
  const parts = {
    client: clientHome, counselor: counselorHome, peer_supporter: peerHome, admin: adminHome,
    family: familyGuestHome,
  }[me.role];
  page.dataset.role = me.role;
  page.append(...await parts(me));
  // Reminders outside the app: offered once per device, the browser's prompt only on a yes.
  // Added when ready, not awaited: the page is drawn (and its cards listen) at once. Below the
  // first card, where it is seen (a client's list of sessions is long), not at the page's end.
  import('./notifications.js').then((m) => m.pushOfferCard(me))
    .then((offer) => {
      const first = page.querySelector('.card');
      if (offer && first) first.after(offer); else if (offer) page.append(offer);
    }).catch(() => {});
  return page;
}

async function sessionsCard(me, title, empty = 'Nothing scheduled in the next two weeks.') {
  const card = h('div', { class: 'card' }, h('h2', {}, title));
  try {
    // A client's next sessions are kept on the phone (encrypted), to be read with no signal.
    const { data, offline } = me.role === 'client'
      ? await cachedGet('/api/v1/sessions?limit=10', `sessions:${me.id}`)
      : { data: await get('/api/v1/sessions?limit=10'), offline: false };
    const items = offline ? data.items.filter((s) => new Date(s.ends_at) > Date.now()) : data.items;
    if (offline) card.append(h('p', { class: 'notice', role: 'status' }, 'You are offline: these are your sessions as kept on this phone.'));
    if (!items.length) {
      card.append(h('p', { class: 'muted' }, empty));
      return card;
    }
    card.append(h('ul', { class: 'list' }, items.map((s) => h('li', {},
      h('div', { class: 'row' },
        h('span', {}, h('strong', {}, s.title), ' ', h('span', { class: 'muted' }, `with ${s.counselor}`),
          s.family && s.role !== 'family' ? [' ', h('span', { class: 'tag' }, 'family')] : null),
        h('span', { class: s.state === 'in_progress' ? 'tag live' : 'tag' }, STATE_TEXT[s.state])),
      h('div', { class: 'muted' }, formatRange(s.starts_at, s.ends_at, me.timezone)),
      s.state === 'cancelled' ? h('div', {}, `Cancelled: ${s.cancel_reason}`) : null,
      (!offline && (s.state === 'open' || s.state === 'in_progress'))
        ? h('a', { class: 'btn', href: `/sessions/${s.id}` }, `Join ${s.title}`) : null,
    ))));
  } catch (err) {
    card.append(h('p', { class: 'error', role: 'alert' }, err.message));
  }
  return card;
}

// Cards load side by side: on a 400 ms link each request is a round trip, so none waits for
// another.
async function clientHome(me) {
  const [selfCare, measures, sessions, dialIn] = await Promise.all([
    clientSelfCareCards(me), measuresDueCard(), sessionsCard(me, 'Your sessions'),
    import('./dialin.js').then((m) => m.dialInCard(me)).catch(() => null),
  ]);
  return [
    h('p', { class: 'muted' }, 'Your program, one day at a time. The red button up top reaches help any time.'),
    ...selfCare,
    measures,
    sessions,
    ...(dialIn ? [dialIn] : []),
    careLinksCard(),
    h('p', {}, h('a', { href: '/meetings' }, 'Find a mutual-support meeting (AA, NA, SMART, Al-Anon...)')),
  ];
}

// Questionnaires the counselor scheduled that are due now (PHQ-9, GAD-7, BAM).
async function measuresDueCard() {
  const { items } = await get('/api/v1/measure-schedules').catch(() => ({ items: [] }));
  const due = items.filter((s) => s.due_now);
  if (!due.length) return h('p', {}, h('a', { href: '/measures' }, 'Questionnaires and your results'));
  const titles = { phq9: 'PHQ-9', gad7: 'GAD-7', bam: 'BAM' };
  return h('div', { class: 'card notice' }, h('h2', {}, 'Questionnaires due'),
    h('ul', { class: 'list' }, due.map((s) => h('li', {},
      h('a', { class: 'btn', href: `/measures/${s.kind}` }, `Fill in the ${titles[s.kind]}`)))));
}

async function counselorHome(me) {
  const { dashboardCard } = await import('./dashboard.js');
  const parts = await Promise.all([alertsCard(me), dashboardCard(me),
    sessionsCard(me, 'Your groups and sessions'), scheduleCard(me)]);
  // A newly scheduled session shows in the list at once.
  parts[3].addEventListener('scheduled', async () => {
    const fresh = await sessionsCard(me, 'Your groups and sessions');
    parts[2].replaceWith(fresh);
    parts[2] = fresh;
  });
  return parts;
}

// Counselor: schedule a 1:1 (or family) session with a client of their caseload.
async function scheduleCard(me) {
  const { items: clients } = await get('/api/v1/caseload?limit=200').catch(() => ({ items: [] }));
  const result = h('div', { role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'Schedule a session'),
    field('With', { name: 'client_id', tag: 'select', options: clients.map((c) => [String(c.id), c.display_name]) }),
    field('Title (optional)', { name: 'title', maxlength: 200 }),
    field(`Starts (${zoneLabel(me.timezone)})`, { name: 'starts_at', type: 'datetime-local', required: true, value: wallTimeIn(me.timezone) }),
    h('p', { class: 'muted' }, 'Times are in your time zone; ', h('a', { href: '/profile' }, 'change it on your profile'), '.'),
    field('Length in minutes', { name: 'duration_minutes', type: 'number', min: 15, max: 600, step: 5, value: 60, inputmode: 'numeric' }),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'family', id: 'f-family', 'aria-describedby': 'f-family-help' }),
      'Family session'),
    h('p', { class: 'muted', id: 'f-family-help' }, 'Family members the client invited may join, only while the client\'s consent for family sessions is in force. They are admitted from the waiting room like anyone.'),
    h('p', { class: 'field-error', id: 'f-family-error' }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Schedule')),
    result);
  if (!clients.length) form.querySelector('button[type="submit"]').disabled = true;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    result.replaceChildren();
    const when = instantOf(form.starts_at.value, me.timezone);
    if (!when) { showProblem(form, { detail: 'Say when it starts.', errors: [{ field: 'starts_at', message: 'required' }] }); return; }
    try {
      const made = await post('/api/v1/sessions', {
        client_id: Number(form.client_id.value),
        title: form.title.value,
        starts_at: when.toISOString(),
        duration_minutes: Number(form.duration_minutes.value),
        family: form.family.checked,
      });
      result.append(h('p', { class: 'success' }, `Scheduled: ${made.title}, ${formatWhen(made.starts_at, me.timezone)}${made.family ? ' (family session)' : ''}.`));
      form.title.value = '';
      form.family.checked = false;
      form.dispatchEvent(new Event('scheduled'));
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });
  return form;
}

// A family member: their family sessions (Join opens the same room clients use), then what the
// client shares and education.
async function familyGuestHome(me) {
  const [intro, ...rest] = await familyHome(me);
  return [intro, await sessionsCard(me, 'Your family sessions', 'No family session is open to you at the moment.'), ...rest];
}

async function peerHome(me) {
  return [
    h('p', { class: 'muted' }, 'You moderate rooms; client records are not shown to peer supporters.'),
    await sessionsCard(me, 'Rooms you help run'),
  ];
}

async function adminHome(me) {
  const [{ items: programs }, staff] = await Promise.all([get('/api/v1/programs'), staffCodesCard(me)]);
  const result = h('div', { role: 'status', 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'Invite someone'),
    field('Email address', { name: 'email', type: 'email', required: true, autocomplete: 'off' }),
    field('Role', {
      name: 'role', tag: 'select',
      options: Object.entries(ROLE_TEXT),
    }),
    field('Program', { name: 'program_id', tag: 'select', options: programs.map((p) => [String(p.id), p.name]) }),
    field('Name to show (optional; they can change it)', { name: 'display_name', maxlength: 80 }),
    h('label', { class: 'check', id: 'adolescent-choice' }, h('input', { type: 'checkbox', name: 'adolescent' }), 'Adolescent client (6-hour weekly target)'),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Send invitation')),
    result,
  );
  // Only a client has a weekly target: the choice shows for clients alone.
  const adolescent = form.querySelector('#adolescent-choice');
  const showAdolescent = () => {
    adolescent.hidden = form.role.value !== 'client';
    if (adolescent.hidden) form.adolescent.checked = false;
  };
  form.role.addEventListener('change', showAdolescent);
  showAdolescent();
  const invitations = h('div', { class: 'card' }, h('h2', {}, 'Invitations'));
  const drawInvitations = async () => {
    const { items } = await get('/api/v1/invitations?limit=20');
    invitations.replaceChildren(h('h2', {}, 'Invitations'), items.length
      ? h('ul', { class: 'list' }, items.map((i) => h('li', {}, h('div', { class: 'row' },
        h('span', {}, i.email, ' ', h('span', { class: 'muted' }, i.purpose === 'mfa_reset' ? 'new sign-in code' : i.role.replace('_', ' '))),
        h('span', { class: 'tag' }, i.state)))))
      : h('p', { class: 'muted' }, 'No invitations yet.'));
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    result.replaceChildren();
    const role = form.role.value;
    try {
      const inv = await post('/api/v1/invitations', {
        email: form.email.value,
        role,
        display_name: form.display_name.value,
        program_id: Number(form.program_id.value),
        adolescent: role === 'client' && form.adolescent.checked,
      });
      result.append(h('p', { class: 'success' }, inv.emailed
        ? `Invitation emailed to ${inv.email}.`
        : `No mail server is set up: give ${inv.email} this link yourself.`),
      h('p', { class: 'copy' }, inv.url));
      form.email.value = '';
      form.display_name.value = '';
      await drawInvitations();
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });
  // A reset issues a link too: it shows in the invitations at once.
  staff.addEventListener('reset', drawInvitations);
  await drawInvitations();
  return [h('div', { class: 'grid' }, form, invitations, staff)];
}

// Admin: a staff member who lost the phone with their authenticator app gets a link to set up
// a new sign-in code. Not for one's own account: the reset would sign the admin out.
async function staffCodesCard(me) {
  const card = h('div', { class: 'card' }, h('h2', {}, 'Staff sign-in codes'),
    h('p', { class: 'muted' }, 'Someone lost the phone with their authenticator app? Reset their sign-in code: they are signed out everywhere and get a link to set up the app again.'));
  let staff;
  try {
    staff = await get(`/api/v1/users?${STAFF_ROLES.map((r) => `role=${r}`).join('&')}&limit=200`);
  } catch (err) {
    card.append(h('p', { class: 'error', role: 'alert' }, err.message));
    return card;
  }
  const result = h('div', { role: 'status', 'aria-live': 'polite' });
  let busy = false;
  // Not disabling the button while it works: a disabled button drops the keyboard focus.
  const reset = async (person) => {
    if (busy) return;
    if (!window.confirm(`Reset the sign-in code of ${person.display_name} (${person.email})?\n\n`
      + 'This signs them out everywhere at once. They get a link to set up their authenticator app again, and cannot sign in until they do.')) return;
    busy = true;
    clearProblem(card);
    result.replaceChildren();
    try {
      const link = await post(`/api/v1/users/${person.id}/mfa-reset`);
      result.append(h('p', { class: 'success' }, link.emailed
        ? `Emailed a link to ${person.display_name} (${link.email}).`
        : `No mail server is set up: give ${person.display_name} this link yourself.`),
      h('p', { class: 'copy' }, link.url));
      card.dispatchEvent(new Event('reset'));
    } catch (err) {
      showProblem(card, err instanceof ApiError ? err.problem : { detail: String(err) });
    } finally {
      busy = false;
    }
  };
  const people = [...staff.items].sort((a, b) => a.display_name.localeCompare(b.display_name));
  card.append(result, h('ul', { class: 'list' }, people.map((p) => h('li', { class: 'row' },
    h('div', { class: 'who' }, h('strong', {}, p.display_name), ' ', h('span', { class: 'muted' }, ROLE_TEXT[p.role]),
      h('div', { class: 'muted' }, p.email)),
    p.id === me.id
      ? h('span', { class: 'muted' }, 'You: another admin can reset yours')
      : h('button', {
        type: 'button', class: 'secondary', 'aria-label': `Reset sign-in code for ${p.display_name}`,
        onclick: () => reset(p),
      }, 'Reset sign-in code')))));
  if (staff.next) card.append(h('p', { class: 'muted' }, 'Showing the first 200 staff.'));
  return card;
}
