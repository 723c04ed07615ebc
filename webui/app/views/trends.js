// Trends (the client's page) and a counselor's view of one client: craving and mood over days
// and weeks, triggers by frequency, which coping skills lowered this client's craving most.
import { get } from '../api.js';
import { h, formatWhen } from '../dom.js';
import { lineChart, barChart, legend, dataTable } from '../charts.js';
import { startOffline } from '../offline.js';
import { alertsCard, ALERT_TEXT } from './selfcare.js';
import { safetyPlanBlock } from './safetyplan.js';
import { clientMeasuresCard } from './measureschedules.js';

const PERIODS = [[14, '2 weeks'], [28, '4 weeks'], [90, '3 months']];
const short = (iso) => { const [, m, d] = iso.split('-'); return `${Number(m)}/${Number(d)}`; };

function trendCards(data) {
  const labels = data.days.map((d) => short(d.date));
  const daily = h('div', { class: 'card' }, h('h2', {}, 'Craving and mood by day'),
    legend([['craving', 'Craving (check-in)'], ['peak', 'Strongest craving logged'], ['mood', 'Mood']]),
    lineChart({
      labels,
      title: 'Craving and mood by day, 0 to 10',
      desc: `From ${data.start} to ${data.end}. Days without a check-in are gaps.`,
      series: [
        { values: data.days.map((d) => d.craving_peak), color: '#e39a93', dash: '4 3' },
        { values: data.days.map((d) => d.craving), color: '#b3261e' },
        { values: data.days.map((d) => d.mood), color: '#1f5f5b' },
      ],
    }),
    dataTable('Craving and mood by day', ['Day', 'Mood', 'Craving', 'Strongest', 'Logs', 'Used'],
      data.days.map((d) => [d.date, d.mood, d.craving, d.craving_peak, d.cravings_logged, d.used ? 'yes' : ''])));
  const weekly = h('div', { class: 'card' }, h('h2', {}, 'Week by week'),
    legend([['craving', 'Average craving'], ['mood', 'Average mood']]),
    lineChart({
      labels: data.weeks.map((w) => short(w.week_start)),
      title: 'Average craving and mood by week, 0 to 10',
      desc: 'Each point is the average of the week\'s daily check-ins.',
      series: [
        { values: data.weeks.map((w) => w.craving_avg), color: '#b3261e' },
        { values: data.weeks.map((w) => w.mood_avg), color: '#1f5f5b' },
      ],
    }),
    dataTable('Week by week', ['Week of', 'Mood', 'Craving', 'Strongest', 'Days checked in', 'Logs'],
      data.weeks.map((w) => [w.week_start, w.mood_avg, w.craving_avg, w.craving_peak, w.checkin_days, w.cravings_logged])));
  const triggers = h('div', { class: 'card' }, h('h2', {}, 'Triggers, most frequent first'),
    data.triggers.length
      ? [barChart({
        rows: data.triggers.slice(0, 10).map((t) => ({ label: t.label, value: t.count })),
        title: 'Triggers by how often they were logged', desc: 'Counts of craving logs naming each trigger.',
        color: '#7a4b9c',
      }), dataTable('Triggers', ['Trigger', 'Times'], data.triggers.map((t) => [t.label, t.count]))]
      : h('p', { class: 'muted' }, 'No craving logs in this period.'));
  const rated = data.coping.filter((c) => c.avg_drop !== null);
  const coping = h('div', { class: 'card' }, h('h2', {}, 'What lowered the craving most'),
    rated.length
      ? [barChart({
        rows: rated.map((c) => ({ label: c.title, value: c.avg_drop })),
        title: 'Average drop in craving after each coping skill',
        desc: 'Craving rated before minus after, averaged over every time the skill was used.',
        format: (v) => `−${v}`,
      }), dataTable('Coping skills', ['Skill', 'Times', 'Before', 'After', 'Drop'],
        data.coping.map((c) => [c.title, c.uses, c.avg_before, c.avg_after, c.avg_drop]))]
      : h('p', { class: 'muted' }, 'Rate your craving before and after a coping exercise to see what works for you.'));
  return [daily, weekly, triggers, coping];
}

async function trendsBlock(days, clientId) {
  const query = `days=${days}${clientId ? `&client_id=${clientId}` : ''}`;
  const data = await get(`/api/v1/trends?${query}`);
  const base = clientId ? `/clients/${clientId}` : '/trends';
  const period = h('nav', { class: 'period', 'aria-label': 'Period' }, PERIODS.map(([n, label]) =>
    h('a', { href: `${base}?days=${n}`, 'aria-current': n === days ? 'true' : null }, label)));
  return [period, ...trendCards(data)];
}

function daysParam() {
  const n = Number(new URLSearchParams(location.search).get('days'));
  return PERIODS.some(([p]) => p === n) ? n : 28;
}

export async function trendsView(me) {
  startOffline(me);
  const page = h('section', {}, h('h1', {}, 'My trends'));
  try {
    page.append(...await trendsBlock(daysParam(), null));
  } catch (err) {
    page.append(h('p', { class: 'error', role: 'alert' }, err.message));
  }
  return page;
}

// A counselor's view of one client of their caseload.
export async function clientView(me, param) {
  const clientId = Number.parseInt(param, 10);
  if (!Number.isInteger(clientId)) return h('section', {}, h('h1', {}, 'Client not found'));
  let data;
  try {
    data = await get(`/api/v1/trends?days=${daysParam()}&client_id=${clientId}`);
  } catch (err) {
    return h('section', {}, h('h1', {}, 'Client'), h('p', { class: 'error', role: 'alert' }, err.message),
      h('p', {}, h('a', { href: '/home' }, 'Back to home')));
  }
  const page = h('section', {}, h('h1', {}, data.client.display_name),
    h('p', {}, h('a', { href: `/care/${clientId}` }, 'Education modules, drug tests, rewards, consents')));
  const recent = h('div', { class: 'card' }, h('h2', {}, 'Recent check-ins'));
  const cravings = h('div', { class: 'card' }, h('h2', {}, 'Recent craving logs'));
  const [checkins, logs, triggers, measures, notes, dialIn] = await Promise.all([
    get(`/api/v1/checkins?client_id=${clientId}&limit=7`),
    get(`/api/v1/cravings?client_id=${clientId}&limit=7`),
    get('/api/v1/triggers'),
    clientMeasuresCard(me, clientId),
    // Loaded here only: the client's own trends page (cached for offline use) has no notes.
    import('./notes.js').then((m) => m.clientNotesCard(me, clientId)),
    import('./dialin.js').then((m) => m.clientDialInCards(clientId, data.client.display_name))
      .catch(() => []),
  ]);
  const triggerLabel = Object.fromEntries(triggers.items.map((t) => [t.code, t.label]));
  recent.append(checkins.items.length ? h('ul', { class: 'list' }, checkins.items.map((c) => h('li', {},
    h('div', { class: 'row' }, h('span', {}, formatWhen(c.occurred_at, me.timezone)),
      h('span', {}, `Mood ${c.mood} · craving ${c.craving}`)),
    h('div', { class: 'muted' }, [
      c.used === 'yes' ? 'Reported use' : c.used === 'prefer_not_to_say' ? 'Use: prefer not to say' : 'No use',
      c.sleep_hours !== null ? `${c.sleep_hours} h sleep` : null,
      c.medication_taken === null ? null : c.medication_taken ? 'took medication' : 'missed medication',
      c.need_to_talk ? ALERT_TEXT.need_to_talk : null,
    ].filter(Boolean).join(' · ')),
    c.note ? h('div', {}, c.note) : null)))
    : h('p', { class: 'muted' }, 'No check-ins yet.'));
  cravings.append(logs.items.length ? h('ul', { class: 'list' }, logs.items.map((c) => h('li', {},
    h('div', { class: 'row' }, h('span', {}, formatWhen(c.occurred_at, me.timezone)),
      h('span', {}, `Intensity ${c.intensity}${c.used ? ' · used' : ''}`)),
    h('div', { class: 'muted' }, [...c.triggers.map((code) => triggerLabel[code] || code), c.trigger_other].filter(Boolean).join(', ')),
    c.notes ? h('div', {}, c.notes) : null)))
    : h('p', { class: 'muted' }, 'No craving logs yet.'));
  page.append(
    await alertsCard(me, { clientId }),
    h('div', { class: 'grid' }, recent, cravings),
    measures,
    notes,
    ...dialIn,
    h('h2', {}, 'Trends'),
    ...await trendsBlock(daysParam(), clientId),
    h('h2', {}, 'Safety plan'),
    await safetyPlanBlock(me, clientId));
  return page;
}
