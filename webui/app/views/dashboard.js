// The counselor's caseload at a glance, who needs attention first (GET /api/v1/dashboard).
import { get } from '../api.js';
import { h, formatWhen } from '../dom.js';
import { s } from '../charts.js';
import { onLive } from '../live.js';

const BAND = { minimal: 'minimal', mild: 'mild', moderate: 'moderate', moderately_severe: 'mod. severe', severe: 'severe' };

// A 14-day sparkline on a 0-10 scale; gaps (no entry that day) break the line.
function sparkline(values, label) {
  const w = 84; const hgt = 22; const step = w / (values.length - 1 || 1);
  const parts = [];
  let run = [];
  values.forEach((v, i) => {
    if (v === null) { if (run.length) parts.push(run); run = []; return; }
    run.push(`${(i * step).toFixed(1)},${(hgt - 2 - (v / 10) * (hgt - 4)).toFixed(1)}`);
  });
  if (run.length) parts.push(run);
  const known = values.filter((v) => v !== null);
  const text = known.length ? `${label}: last ${known[known.length - 1]}, highest ${Math.max(...known)} over 14 days` : `${label}: no entries in 14 days`;
  return s('svg', { class: 'spark', viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: 'img', 'aria-label': text },
    s('title', {}, text),
    ...parts.map((pts) => (pts.length === 1
      ? s('circle', { cx: pts[0].split(',')[0], cy: pts[0].split(',')[1], r: 2, fill: 'currentColor' })
      : s('polyline', { points: pts.join(' '), fill: 'none', stroke: 'currentColor', 'stroke-width': 1.5 }))));
}

function measureText(kind, m) {
  if (!m) return null;
  const name = { phq9: 'PHQ-9', gad7: 'GAD-7', bam: 'BAM' }[kind];
  if (m.subscales) return `${name} use ${m.subscales.use} · risk ${m.subscales.risk} · protective ${m.subscales.protective}`;
  return `${name} ${m.total} (${BAND[m.band] || m.band})`;
}

function row(me, r) {
  const urgent = r.top_urgency === 'urgent' ? 'tag urgent' : 'tag high';
  const measures = ['phq9', 'gad7', 'bam'].map((k) => measureText(k, r.measures[k])).filter(Boolean);
  const short = r.hours_this_week < r.target_hours;
  return h('li', { class: 'dash-row', dataset: { client: String(r.client.id) } },
    h('div', { class: 'row' },
      h('a', { href: `/clients/${r.client.id}` }, h('strong', {}, r.client.display_name)),
      r.open_alerts ? h('span', { class: urgent }, `${r.open_alerts} open alert${r.open_alerts > 1 ? 's' : ''}`) : null),
    h('div', { class: 'dash-grid' },
      h('span', {}, 'Craving ', sparkline(r.craving, 'Craving')),
      h('span', {}, 'Mood ', sparkline(r.mood, 'Mood')),
      h('span', {}, r.last_checkin_at ? `Last check-in ${formatWhen(r.last_checkin_at, me.timezone)}` : 'No check-in yet'),
      h('span', {}, `Streak ${r.streak_days} d · missed ${r.missed_days} of 7`),
      h('span', { class: short ? 'warn' : null }, `${r.hours_this_week} of ${r.target_hours} h this week`),
      h('span', {}, r.next_session ? `Next: ${r.next_session.title}, ${formatWhen(r.next_session.starts_at, me.timezone)}` : 'No session booked')),
    measures.length ? h('div', { class: 'muted' }, measures.join(' · ')) : null);
}

export async function dashboardCard(me) {
  const card = h('div', { class: 'card', id: 'caseload' }, h('h2', {}, 'Your caseload'));
  const draw = async () => {
    const list = h('ul', { class: 'list', 'aria-label': 'Clients, who needs attention first' });
    try {
      const { items } = await get('/api/v1/dashboard?limit=200');
      list.append(...items.map((r) => row(me, r)));
      card.replaceChildren(h('h2', {}, 'Your caseload'), items.length ? list : h('p', { class: 'muted' }, 'No clients yet.'));
    } catch (err) {
      card.replaceChildren(h('h2', {}, 'Your caseload'), h('p', { class: 'error', role: 'alert' }, err.message));
    }
  };
  await draw();
  // A new alert may change who comes first.
  onLive('alert', () => { if (!card.isConnected) return false; draw(); return true; });
  return card;
}
