// The admin's program report: census, attendance hours (with the week's CSV), alerts and
// response times, measure completion; and who is on call for escalated alerts.
import { get, put, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem } from '../dom.js';

function mondayOf(d) {
  const day = new Date(d);
  day.setDate(day.getDate() - ((day.getDay() + 6) % 7));
  return day.toISOString().slice(0, 10);
}

function dl(pairs) {
  return h('dl', { class: 'facts' }, pairs.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v ?? '–'))]));
}

export async function reportsView(me) {
  const [{ items: programs }, { items: users }] = await Promise.all([
    get('/api/v1/programs'), get('/api/v1/users?limit=200'),
  ]);
  const out = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card' },
    field('Program', { name: 'program_id', tag: 'select', options: programs.map((p) => [String(p.id), p.name]) }),
    field('Week starting (Monday)', { name: 'week', type: 'date', value: mondayOf(new Date()) }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Show report')));
  const show = async () => {
    const q = `program_id=${form.program_id.value}&week=${mondayOf(form.week.value)}`;
    try {
      const [r, hours] = await Promise.all([
        get(`/api/v1/reports/program?${q}`), get(`/api/v1/attendance/weekly?${q}&limit=200`),
      ]);
      out.replaceChildren(
        h('div', { class: 'card' }, h('h2', {}, 'Census'), dl([
          ['Active clients', r.census.active], ['Adolescents', r.census.adolescents],
          ['Admitted this week', r.census.admitted_this_week],
          ...Object.entries(r.census.by_phase).map(([k, v]) => [`In ${k}`, v])])),
        h('div', { class: 'card' }, h('h2', {}, 'Attendance hours'),
          h('table', { class: 'board' },
            h('caption', {}, `Week of ${r.week}`),
            h('thead', {}, h('tr', {}, ['Client', 'Hours', 'Target', 'Short days'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, hours.items.map((c) => h('tr', { class: c.short_week ? 'short' : null },
              h('th', { scope: 'row' }, c.client.display_name), h('td', {}, c.hours),
              h('td', {}, c.target_hours), h('td', {}, c.days.filter((d) => d.short_day).length))))),
          h('p', {}, h('a', { href: `/api/v1/attendance/weekly.csv?${q}`, download: '' }, 'Download the week as CSV (one row per client-day)'))),
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
      staff.map((u) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'on_call', value: String(u.id) }), `${u.display_name} (${u.role})`))),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Save on-call list')),
    h('p', { role: 'status', class: 'success' }));
  onCall.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(onCall);
    const ids = [...onCall.querySelectorAll('input[name="on_call"]:checked')].map((i) => Number(i.value));
    try {
      const saved = await put(`/api/v1/programs/${form.program_id.value}/on-call`, { user_ids: ids });
      onCall.querySelector('.success').textContent = `Saved: ${saved.on_call.map((u) => u.display_name).join(', ') || 'nobody'}.`;
    } catch (err) {
      showProblem(onCall, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });
  await show();
  return h('section', {}, h('h1', {}, 'Program reports'), form, out, onCall);
}
