// The counselor's attendance: the sessions they ran in a week, each client's minutes as the
// server saw them, and each session's note (signing it attests the attendance, the clinical
// signature the program bills from); then their clients' hours for the week against the target.
import { get } from '../api.js';
import { h, formatWhen } from '../dom.js';
import { addDays, weekText } from '../days.js';
import { hoursCard, weekForm } from './reports.js';

const MODALITY_TEXT = { video: 'video', audio_only: 'audio only', chat_only: 'chat only', phone: 'phone' };

function attestedText(me, signed) {
  return `Attested by ${signed.attested_by.display_name}, ${formatWhen(signed.attested_at, me.timezone)}.`;
}

function sessionItem(me, session, attendance, note) {
  const when = formatWhen(session.starts_at, me.timezone);
  const status = h('p', { role: 'status' });
  const slot = h('div', { class: 'form-actions' }, status);
  if (attendance.attested_by) {
    status.className = 'success';
    status.textContent = attestedText(me, attendance);
  } else if (session.state === 'cancelled') {
    status.className = 'muted';
    status.textContent = 'Cancelled: no note.';
  } else if (session.state !== 'ended') {
    status.className = 'muted';
    status.textContent = 'You can write the note once the session has ended.';
  } else {
    status.className = 'muted';
    status.textContent = note ? 'Note drafted, not signed yet: signing it attests the attendance.'
      : 'No note yet: signing its note attests the attendance.';
  }
  if (session.state === 'ended' || note) {
    const action = note ? 'Open the note' : 'Write the note';
    slot.prepend(h('a', { class: 'btn', href: `/session-notes/${session.id}`, 'aria-label': `${action} of ${session.title}, ${when}` }, action));
  }
  const rows = attendance.items;
  return h('li', { dataset: { session: session.id } },
    h('h3', {}, session.title, ' ', h('span', { class: 'muted' }, when)),
    rows.length ? h('table', { class: 'board' },
      h('caption', {}, `Who attended ${session.title}`),
      h('thead', {}, h('tr', {}, ['Client', 'Minutes', 'How'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('th', { scope: 'row' }, r.client.display_name), h('td', {}, r.minutes),
        h('td', {}, MODALITY_TEXT[r.modality] || r.modality)))))
      : h('p', { class: 'muted' }, 'No client attended.'),
    slot);
}

async function sessionsCard(me, week) {
  const card = h('div', { class: 'card', id: 'sessions-ran' }, h('h2', {}, 'Sessions you ran'));
  const { items } = await get(`/api/v1/sessions?from=${week}&to=${addDays(week, 6)}&limit=200`);
  const now = Date.now();
  const ran = items.filter((s) => s.role === 'staff' && new Date(s.starts_at).getTime() <= now);
  if (!ran.length) {
    card.append(h('p', { class: 'muted' }, `None in the week of ${weekText(week)}.`));
    return card;
  }
  // A sheet the server refuses (no longer co-leading that group) is left out, not the page.
  const [sheets, notes] = await Promise.all([
    Promise.all(ran.map((s) => get(`/api/v1/sessions/${s.id}/attendance`).catch(() => null))),
    Promise.all(ran.map((s) => get(`/api/v1/sessions/${s.id}/notes`).then((r) => r.items[0] || null).catch(() => null))),
  ]);
  card.append(h('ul', { class: 'list' },
    ran.map((s, i) => (sheets[i] ? sessionItem(me, s, sheets[i], notes[i]) : null))));
  return card;
}

export async function attendanceView(me) {
  const page = h('section', {}, h('h1', {}, 'Attendance'),
    h('p', { class: 'muted' }, 'Write the note of each session you ran once it has ended: signing it attests the attendance, the record the program bills from.'));
  let programs;
  try { ({ items: programs } = await get('/api/v1/programs')); } catch (err) {
    page.append(h('p', { class: 'error', role: 'alert' }, err.message));
    return page;
  }
  if (!programs.length) { page.append(h('p', { class: 'muted' }, 'No programs yet.')); return page; }
  const { form, chosen } = weekForm(programs, 'Show week');
  const out = h('div', { 'aria-live': 'polite' });
  const show = async () => {
    const { program, week, query } = chosen();
    try {
      const [sessions, hours] = await Promise.all([
        sessionsCard(me, week), get(`/api/v1/attendance/weekly?${query}&limit=200`),
      ]);
      out.replaceChildren(sessions, hoursCard(program.id, hours,
        { title: 'Your clients\' hours', empty: 'No clients in your caseload.' }));
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });
  await show();
  page.append(form, out);
  return page;
}
