// The admin's billing: a program's days of service from signed notes (one row per client and
// day, H0015 by default), the days listed apart with the reason, the CSV for the biller; and the
// program's note format and payer settings (the modifier per modality).
import { get, put, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, say, formActions } from '../dom.js';
import { todayIn, mondayOf, addDays, longDay } from '../days.js';

const MODALITY_TEXT = { video: 'video', audio_only: 'audio only', phone: 'phone', in_person: 'in person' };
const POS_TEXT = { '02': '02 telehealth, not at home', 10: '10 telehealth at home', 11: '11 in person' };
const REASON_TEXT = { short_day: 'Short day', note_not_signed: 'Note not signed' };

function daysTables(days) {
  const billed = days.billable.length ? h('table', { class: 'board' },
    h('caption', {}, `Billable days: ${days.billable.length}`),
    h('thead', {}, h('tr', {}, ['Client', 'Day', 'Code', 'Minutes', 'How', 'Place of service', 'Modifier', 'Signed by']
      .map((t) => h('th', { scope: 'col' }, t)))),
    // The client first: on a phone their name stays in view while the row scrolls.
    h('tbody', {}, days.billable.map((d) => h('tr', {},
      h('th', { scope: 'row' }, d.client.display_name), h('td', {}, d.date), h('td', {}, d.service_code),
      h('td', {}, d.minutes), h('td', {}, MODALITY_TEXT[d.modality]), h('td', {}, POS_TEXT[d.place_of_service]),
      h('td', {}, d.modifier || 'none'), h('td', {}, d.signed_by.join(', '))))))
    : h('p', { class: 'muted' }, 'No billable days: only signed notes count.');
  const apart = h('div', { class: 'card', id: 'not-billed' }, h('h2', {}, 'Listed apart, not billed'),
    days.not_billed.length ? h('ul', { class: 'list' }, days.not_billed.map((d) => h('li', {},
      h('strong', {}, `${d.date}, ${d.client.display_name}: ${REASON_TEXT[d.reason]}`), h('div', {}, d.detail))))
      : h('p', { class: 'muted' }, 'None.'));
  return [h('div', { class: 'card', id: 'billable' }, h('h2', {}, `Days of service (${days.service_code}, at least ${days.minimum_minutes} minutes)`),
    ...scrollable(billed, 'Billable days')), apart];
}

// A wide table on a narrow screen scrolls in its own box, not the page; a hint says so while
// some of it is out of view (a phone's scroll bars are hidden until touched).
function scrollable(table, name) {
  const hint = h('p', { class: 'scroll-hint', id: 'billable-scroll-hint', hidden: true },
    'The table is wider than the screen: scroll it sideways to see every column.');
  const box = h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': name, 'aria-describedby': hint.id }, table);
  new ResizeObserver(() => { hint.hidden = box.scrollWidth <= box.clientWidth + 1; }).observe(box);
  return [hint, box];
}

function settingsForm(program) {
  const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Notes and payer settings'),
    field('Note format for new notes', { name: 'note_format', tag: 'select', options: [['dap', 'DAP (data, assessment, plan)'], ['birp', 'BIRP (behavior, intervention, response, plan)'], ['soap', 'SOAP (subjective, objective, assessment, plan)']] }),
    field('Service code', { name: 'payer.service_code', maxlength: 5, autocomplete: 'off' }),
    field('Minutes a day the code needs', { name: 'payer.minimum_minutes', type: 'number', min: 1, max: 1440 }),
    h('fieldset', {}, h('legend', {}, 'Modifier per modality (empty for none)'),
      Object.entries(MODALITY_TEXT).map(([key, text]) => field(`Modifier, ${text}`, { name: `payer.modifiers.${key}`, maxlength: 2, autocomplete: 'off' }))),
    ...formActions(h('button', { type: 'submit' }, 'Save settings')));
  const fill = (s) => {
    form.elements.note_format.value = s.note_format;
    form.elements['payer.service_code'].value = s.payer.service_code;
    form.elements['payer.minimum_minutes'].value = String(s.payer.minimum_minutes);
    for (const key of Object.keys(MODALITY_TEXT)) form.elements[`payer.modifiers.${key}`].value = s.payer.modifiers[key];
  };
  get(`/api/v1/programs/${program.id}/note-settings`).then(fill).catch(() => {});
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const value = (name) => form.elements[name].value.trim();
    try {
      const saved = await put(`/api/v1/programs/${program.id}/note-settings`, {
        note_format: value('note_format'),
        payer: {
          service_code: value('payer.service_code'), minimum_minutes: Number(value('payer.minimum_minutes')),
          modifiers: Object.fromEntries(Object.keys(MODALITY_TEXT).map((k) => [k, value(`payer.modifiers.${k}`).toUpperCase()])),
        },
      });
      fill(saved);
      say(form.querySelector('button'), 'Settings saved.');
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });
  return form;
}

export async function billingView(me) {
  const page = h('section', {}, h('h1', {}, 'Billing'));
  if (me.role !== 'admin') {
    page.append(h('p', {}, 'Billing is for the program\'s admins.'));
    return page;
  }
  let programs;
  try { ({ items: programs } = await get('/api/v1/programs')); } catch (err) {
    page.append(h('p', { class: 'error', role: 'alert' }, err.message));
    return page;
  }
  if (!programs.length) { page.append(h('p', { class: 'muted' }, 'No programs yet.')); return page; }
  const first = programs[0];
  const monday = mondayOf(todayIn(first.timezone));
  const form = h('form', { class: 'card', novalidate: true },
    programs.length > 1
      ? field('Program', { name: 'program_id', tag: 'select', options: programs.map((p) => [String(p.id), p.name]) })
      : [h('p', {}, 'Program: ', h('strong', {}, first.name)),
        h('input', { type: 'hidden', name: 'program_id', value: String(first.id) })],
    field('First day of service', { name: 'from', type: 'date', required: true, value: monday }),
    field('Last day of service', { name: 'to', type: 'date', required: true, value: addDays(monday, 6) }),
    ...formActions(h('button', { type: 'submit' }, 'Show days')));
  const out = h('div', { 'aria-live': 'polite' });
  const settings = h('div', {});
  const program = () => programs.find((p) => String(p.id) === form.elements.program_id.value) || first;
  const show = async () => {
    clearProblem(form);
    const query = `program_id=${program().id}&from=${form.elements.from.value}&to=${form.elements.to.value}`;
    try {
      const days = await get(`/api/v1/billing/days?${query}`);
      out.replaceChildren(h('p', {}, h('a', { class: 'btn', href: `/api/v1/billing/days.csv?${query}`, download: '' },
        `Download the billing CSV, ${longDay(days.from)} to ${longDay(days.to)}`)), ...daysTables(days));
      settings.replaceChildren(settingsForm(program()));
    } catch (err) {
      out.replaceChildren();
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); show(); });
  await show();
  page.append(form, out, settings);
  return page;
}
