// The counselor's attendance: the sessions they ran in a week, each client's minutes as the
// server saw them, and their attestation (the clinical signature the program bills from);
// then their clients' hours for the week against the target.
import { get, post } from '../api.js';
import { h, formatWhen } from '../dom.js';
import { addDays, weekText } from '../days.js';
import { hoursCard, weekForm } from './reports.js';

const MODALITY_TEXT = { video: 'video', audio_only: 'audio only', chat_only: 'chat only' };

function attestedText(me, signed) {
  return `Attested by ${signed.attested_by.display_name}, ${formatWhen(signed.attested_at, me.timezone)}.`;
}

function sessionItem(me, session, attendance) {
  const when = formatWhen(session.starts_at, me.timezone);
  const status = h('p', { role: 'status', tabindex: '-1' });
  const slot = h('div', { class: 'form-actions' }, status);
  if (attendance.attested_by) {
    status.className = 'success';
    status.textContent = attestedText(me, attendance);
  } else if (session.state !== 'ended') {
    status.className = 'muted';
    status.textContent = 'You can attest once the session has ended.';
  } else {
    let busy = false; // a second press while the first is on its way does nothing
    const button = h('button', { type: 'button', 'aria-label': `Attest attendance of ${session.title}, ${when}` }, 'Attest attendance');
    button.addEventListener('click', async () => {
      if (busy) return;
      busy = true;
      status.className = '';
      status.textContent = 'Attesting…';
      try {
        const signed = await post(`/api/v1/sessions/${session.id}/attest`);
        button.remove();
        status.className = 'success';
        status.textContent = attestedText(me, signed);
        status.focus(); // the button is gone: the keyboard stays on what replaced it
      } catch (err) {
        status.className = 'error';
        status.textContent = `Not attested: ${err.message}`;
      } finally {
        busy = false;
      }
    });
    slot.prepend(button);
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
  const sheets = await Promise.all(ran.map((s) => get(`/api/v1/sessions/${s.id}/attendance`).catch(() => null)));
  card.append(h('ul', { class: 'list' },
    ran.map((s, i) => (sheets[i] ? sessionItem(me, s, sheets[i]) : null))));
  return card;
}

export async function attendanceView(me) {
  const page = h('section', {}, h('h1', {}, 'Attendance'),
    h('p', { class: 'muted' }, 'Attest each session you ran once it has ended: your signature makes its minutes the record the program bills from.'));
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
