// The admin's program report: census, attendance hours (with the week's CSV), alerts and
// response times, measure completion; and who is on call for escalated alerts.
// A counselor's /reports is their attendance page: the program report is the admin's (the API
// refuses it to anyone else), a counselor's clients' hours are theirs to see.
import { get, put, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem } from '../dom.js';
import { todayIn, mondayOf, weekText } from '../days.js';

const ROLE_TEXT = { counselor: 'counselor', admin: 'program admin' };

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? '–'))]));
}

// The week's hours per client against the target, and the CSV a program bills from.
export function hoursCard(programId, hours, { title = 'Attendance hours', empty = 'No clients.' } = {}) {
  return h('div', { class: 'card' }, h('h2', {}, title),
    hours.items.length ? h('table', { class: 'board' },
      h('caption', {}, `Week of ${weekText(hours.week)}`),
      h('thead', {}, h('tr', {}, ['Client', 'Hours', 'Target', 'Days under 3 hours'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, hours.items.map((c) => h('tr', { class: c.short_week ? 'short' : null },
        h('th', { scope: 'row' }, c.client.display_name), h('td', {}, c.hours),
        h('td', {}, c.target_hours), h('td', {}, c.days.filter((d) => d.short_day).length)))))
      : h('p', { class: 'muted' }, empty),
    h('p', {}, h('a', { href: `/api/v1/attendance/weekly.csv?program_id=${programId}&week=${hours.week}`, download: '' },
      'Download the week as CSV (one row per client-day)')));
}

// The program and week form both reports share. The week field holds its Monday; a day
// picked in the middle of a week moves to that week's Monday. chosen() reads it.
export function weekForm(programs, buttonText) {
  const first = programs[0];
  const form = h('form', { class: 'card', novalidate: true },
    programs.length > 1
      ? field('Program', { name: 'program_id', tag: 'select', options: programs.map((p) => [String(p.id), p.name]) })
      : [h('p', {}, 'Program: ', h('strong', {}, first.name)),
        h('input', { type: 'hidden', name: 'program_id', value: String(first.id) })],
    field('Week starting on Monday (pick any day of the week)', {
      name: 'week', type: 'date', required: true, value: mondayOf(todayIn(first.timezone)),
    }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, buttonText)));
  const chosen = () => {
    const program = programs.find((p) => String(p.id) === form.program_id.value) || first;
    const week = mondayOf(form.week.value || todayIn(program.timezone));
    form.week.value = week;
    return { program, week, query: `program_id=${program.id}&week=${week}` };
  };
  return { form, chosen };
}

export async function reportsView(me) {
  if (me.role === 'counselor') return (await import('./attendance.js')).attendanceView(me);
  if (me.role !== 'admin') {
    return h('section', {}, h('h1', {}, 'Program reports'),
      h('p', {}, 'Program reports are for the program\'s admins.'), h('p', {}, h('a', { href: '/home' }, 'Back to home')));
  }
  let programs; let users;
  try {
    [{ items: programs }, { items: users }] = await Promise.all([
      get('/api/v1/programs'), get('/api/v1/users?limit=200'),
    ]);
  } catch (err) {
    return h('section', {}, h('h1', {}, 'Program reports'), h('p', { class: 'error', role: 'alert' }, err.message));
  }
  if (!programs.length) return h('section', {}, h('h1', {}, 'Program reports'), h('p', { class: 'muted' }, 'No programs yet.'));
  const out = h('div', { 'aria-live': 'polite' });
  const { form, chosen } = weekForm(programs, 'Show report');
  const show = async () => {
    const { program, query } = chosen();
    try {
      const [r, hours] = await Promise.all([
        get(`/api/v1/reports/program?${query}`), get(`/api/v1/attendance/weekly?${query}&limit=200`),
      ]);
      out.replaceChildren(
        h('div', { class: 'card' }, h('h2', {}, 'Census'), dl([
          ['Active clients', r.census.active], ['Adolescents', r.census.adolescents],
          ['Admitted this week', r.census.admitted_this_week],
          ...Object.entries(r.census.by_phase).map(([k, v]) => [`In ${k}`, v])])),
        hoursCard(program.id, hours),
        h('div', { class: 'card' }, h('h2', {}, 'Alerts'), dl([
          ['Raised', r.alerts.raised], ['Acknowledged', r.alerts.acknowledged], ['Escalated', r.alerts.escalated],
          ['Median minutes to acknowledge', r.alerts.median_minutes_to_acknowledge],
          ['Longest minutes to acknowledge', r.alerts.longest_minutes_to_acknowledge]])),
        h('div', { class: 'card' }, h('h2', {}, 'Measures'), dl([
          ['Completed this week', r.measures.completed], ['Scheduled', r.measures.scheduled],
          ['Overdue', r.measures.overdue]])));
    } catch (err) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });

  const staff = users.filter((u) => u.role === 'counselor' || u.role === 'admin');
  const onCall = h('form', { class: 'card' }, h('h2', {}, 'On call for escalated alerts'),
    h('fieldset', {}, h('legend', {}, 'Who receives alerts nobody acknowledged in time'),
      staff.map((u) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'on_call', value: String(u.id) }), `${u.display_name}, ${ROLE_TEXT[u.role]}`))),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Save on-call list')),
    h('p', { role: 'status', class: 'success' }));
  onCall.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(onCall);
    const ids = [...onCall.querySelectorAll('input[name="on_call"]:checked')].map((i) => Number(i.value));
    try {
      const saved = await put(`/api/v1/programs/${chosen().program.id}/on-call`, { user_ids: ids });
      onCall.querySelector('.success').textContent = `Saved: ${saved.on_call.map((u) => u.display_name).join(', ') || 'nobody'}.`;
    } catch (err) {
      showProblem(onCall, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });
  await show();
  return h('section', {}, h('h1', {}, 'Program reports'), form, out, onCall);
}
