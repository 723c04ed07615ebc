// The counselor's side of questionnaires, on a client's page: what is scheduled and due, the
// recent results, and scheduling one (first due on a day, then every N weeks).
import { get, put, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, formatWhen } from '../dom.js';
import { todayIn } from '../days.js';
import { describeScore } from './measures.js';

const KINDS = ['phq9', 'gad7', 'bam'];
const EVERY = [[1, 'week'], [2, '2 weeks'], [4, '4 weeks'], [8, '8 weeks'], [12, '12 weeks']];
const everyText = (n) => EVERY.find(([weeks]) => weeks === n)?.[1] || `${n} weeks`;

function dayOnly(iso, timeZone) {
  return new Date(iso).toLocaleDateString([], { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric', timeZone });
}

export async function clientMeasuresCard(me, clientId) {
  const card = h('div', { class: 'card', id: 'client-measures' });
  const forms = await get('/api/v1/measures/forms');
  const title = (kind) => forms[kind].title;

  const status = h('p', { role: 'status', 'aria-live': 'polite', class: 'success' });
  const plans = h('div');
  const results = h('div');
  const drawLists = async () => {
    const [{ items: schedule }, { items: done }] = await Promise.all([
      get(`/api/v1/measure-schedules?client_id=${clientId}`),
      get(`/api/v1/measures?client_id=${clientId}&limit=10`),
    ]);
    plans.replaceChildren(h('h3', {}, 'Scheduled'), schedule.length
      ? h('ul', { class: 'list', 'aria-label': 'Scheduled questionnaires' }, schedule.map((s) => h('li', { class: 'row', dataset: { kind: s.kind } },
        h('span', {}, h('strong', {}, title(s.kind)), ` every ${everyText(s.every_weeks)}`),
        s.due_now ? h('span', { class: 'tag live' }, 'due now')
          : h('span', { class: 'muted' }, `next due ${dayOnly(s.next_due, me.timezone)}`))))
      : h('p', { class: 'muted' }, 'None scheduled.'));
    results.replaceChildren(h('h3', {}, 'Completed'), done.length
      ? h('ul', { class: 'list', 'aria-label': 'Completed questionnaires' }, done.map((m) => h('li', { class: 'row' },
        h('span', {}, h('strong', {}, title(m.kind)), ' ', h('span', { class: 'muted' }, formatWhen(m.completed_at, me.timezone))),
        h('span', {}, describeScore(m)))))
      : h('p', { class: 'muted' }, 'None completed yet.'));
  };

  const today = todayIn(me.timezone);
  const form = h('form', { novalidate: true, 'aria-labelledby': 'schedule-measure-title' },
    h('h3', { id: 'schedule-measure-title' }, 'Schedule a questionnaire'),
    field('Questionnaire', { name: 'kind', id: 'measure-kind', tag: 'select', options: KINDS.map((k) => [k, `${forms[k].title}: ${forms[k].name}`]) }),
    field('First due on', { name: 'first_due', id: 'measure-first-due', type: 'date', required: true, value: today }),
    field('Then again every', { name: 'every_weeks', id: 'measure-every', tag: 'select', options: EVERY.map(([n, text]) => [String(n), text]) }),
    h('p', { class: 'muted' }, 'Scheduling one already scheduled replaces its dates. The client sees it on their home page when it is due.'),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Schedule')));
  form.every_weeks.value = '4';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    status.textContent = '';
    const day = form.first_due.value;
    if (!day) {
      showProblem(form, { detail: 'Choose the day it is first due.', errors: [{ field: 'first_due', message: 'Choose a day.' }] });
      form.first_due.focus();
      return;
    }
    // Today means now: it is due at once. Another day: from its start on this device.
    const firstDue = day === today ? new Date() : new Date(`${day}T00:00`);
    try {
      const plan = await put('/api/v1/measure-schedules', {
        client_id: clientId, kind: form.kind.value, every_weeks: Number(form.every_weeks.value),
        first_due: firstDue.toISOString(),
      });
      await drawLists();
      status.textContent = `Scheduled: ${title(plan.kind)}, ${plan.due_now ? 'due now' : `first due ${dayOnly(plan.next_due, me.timezone)}`}, then every ${everyText(plan.every_weeks)}.`;
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });

  await drawLists();
  card.append(h('h2', {}, 'Questionnaires'), plans, results, form, status);
  return card;
}
