// Mutual-support meetings: starting soon, search in my own time zone, my saved meetings (kept on
// the phone for when there is no signal), and (admins) the sources that feed the directory.
import { get, post, put, api, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, formatTime, say, formActions } from '../dom.js';
import { zoneLabel } from '../zones.js';
import { cachedGet, startOffline } from '../offline.js';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
// Where road distances are in miles.
const MILES = new Set(['US', 'GB', 'LR', 'MM']);
// Fellowships for the family and friends of people who drink or use, and Meeting Guide's type
// codes for meetings held alongside them (Alateen, Al-Anon): a family member's page lists
// these first.
const FAMILY_FELLOWSHIPS = new Set(['al-anon', 'alateen', 'nar-anon', 'families anonymous', 'co-anon', 'gam-anon']);
const FAMILY_TYPES = new Set(['AL', 'AL-AN']);

function forFamilies(m) {
  return FAMILY_FELLOWSHIPS.has((m.fellowship || '').toLowerCase()) || m.types.some((t) => FAMILY_TYPES.has(t.code));
}

function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err.message || String(err));
}

// "Monday 7:00 PM–8:30 PM CST" in the US, "Montag, 19:00–20:30 MEZ" in Germany: the person's
// locale, in the zone the server gave the times in (the person's own).
function whenText(m, me) {
  return `${formatTime(m.next_start, m.timezone, { weekday: 'long', zoneName: false })}–${formatTime(m.next_end, m.timezone)}`;
}

function distanceText(m) {
  let region = '';
  try { region = new Intl.Locale(navigator.language).maximize().region || ''; } catch (err) { /* no locale */ }
  const miles = MILES.has(region);
  const value = miles ? m.distance_miles : m.distance_km;
  return `${new Intl.NumberFormat([], {
    style: 'unit', unit: miles ? 'mile' : 'kilometer', unitDisplay: 'long', maximumFractionDigits: 1,
  }).format(value)} away`;
}

function startsText(m) {
  if (m.in_progress) return 'In progress';
  const minutes = Math.round((new Date(m.next_start) - Date.now()) / 60000);
  return minutes <= 60 ? `Starts in ${Math.max(minutes, 0)} min` : null;
}

const hidden = (text) => h('span', { class: 'sr-only' }, text);

// A client's Save / Saved · Remove, and "I went today" only on a day the meeting is held.
function clientActions(m, me, ctx, row) {
  const draw = () => {
    const parts = [];
    if (ctx.saved.has(m.id)) {
      parts.push(h('span', { class: 'tag saved' }, 'Saved'),
        h('button', { type: 'button', class: 'secondary', dataset: { act: 'remove' }, onclick: (e) => change(e.currentTarget, 'remove') },
          'Remove', hidden(` ${m.name} from your meetings`)));
    } else {
      parts.push(h('button', { type: 'button', class: 'secondary', dataset: { act: 'save' }, onclick: (e) => change(e.currentTarget, 'save') },
        'Save', hidden(` ${m.name}`)));
    }
    if (ctx.went.has(m.id)) parts.push(h('span', { class: 'tag live' }, 'You went today'));
    else if (m.held_today) {
      parts.push(h('button', { type: 'button', class: 'secondary', dataset: { act: 'went' }, onclick: (e) => went(e.currentTarget) },
        'I went today', hidden(` to ${m.name}`)));
    }
    row.querySelectorAll('.client-act').forEach((el) => el.remove());
    parts.forEach((el) => el.classList.add('client-act'));
    row.prepend(...parts);
  };
  const change = async (button, what) => {
    const path = `/api/v1/clients/${me.id}/meeting-favourites/${m.id}`;
    try {
      await (what === 'save' ? put(path) : api('DELETE', path));
      if (what === 'save') ctx.saved.add(m.id); else ctx.saved.delete(m.id);
      say(button, what === 'save' ? 'Saved to your meetings.' : 'Removed from your meetings.');
      ctx.changed(m.id);
      row.querySelector(`[data-act="${what === 'save' ? 'remove' : 'save'}"]`)?.focus();
    } catch (err) { say(button, err.message, 'error'); }
  };
  const went = async (button) => {
    try {
      await post(`/api/v1/clients/${me.id}/meeting-attendance`, { meeting_id: m.id });
      ctx.went.add(m.id);
      say(button, 'Noted: you went today. Your counselor will see it.');
      ctx.changed(m.id);
    } catch (err) { say(button, err.message, 'error'); }
  };
  row.addEventListener('meeting-changed', draw);
  draw();
}

// One meeting: when (in my zone), what kind, where, and how to join or dial in. Offline (a copy
// kept on the phone) it has no buttons that need the server.
function meetingItem(m, me, ctx, offline = false) {
  const status = startsText(m);
  const tags = [
    m.fellowship && h('span', { class: 'tag' }, m.fellowship),
    m.online && h('span', { class: 'tag' }, 'Online'),
    m.in_person && h('span', { class: 'tag' }, 'In person'),
    m.temporarily_closed && h('span', { class: 'tag' }, 'Location temporarily closed'),
    status && h('span', { class: m.in_progress ? 'tag live' : 'tag' }, status),
  ];
  const how = [];
  if (m.join) {
    how.push(h('p', {}, h('a', {
      class: 'btn', href: m.join.url, target: '_blank', rel: 'noopener noreferrer',
    }, `Join online at ${m.join.host}`)));
    if (m.join.notes) how.push(h('p', { class: 'muted' }, m.join.notes));
  }
  if (m.dial_in) {
    how.push(h('p', {}, h('a', { class: 'btn secondary', href: m.dial_in.tel }, `Call ${m.dial_in.number}`),
      m.dial_in.access_code ? h('span', { class: 'muted' }, ` Access code: ${m.dial_in.access_code}`) : null));
    if (m.dial_in.notes) how.push(h('p', { class: 'muted' }, m.dial_in.notes));
  }
  const place = m.place && h('p', { class: 'muted' },
    [m.place.location, m.place.address].filter(Boolean).join(', '),
    m.distance_km !== null ? ` · ${distanceText(m)}` : '');
  const [row, slot] = formActions();
  if (!offline) {
    if (me.role === 'client') clientActions(m, me, ctx, row);
    if (me.role === 'counselor' && ctx.client) {
      const recommend = h('button', {
        type: 'button', class: 'secondary',
        onclick: async () => {
          try {
            await post(`/api/v1/clients/${ctx.client()}/meeting-recommendations`, { meeting_id: m.id });
            say(recommend, 'Recommended.');
            await ctx.refresh();
          } catch (err) { say(recommend, err.message, 'error'); }
        },
      }, 'Recommend to client');
      row.append(recommend);
    }
    row.append(h('a', { class: 'btn secondary', href: `/api/v1/meetings/${m.id}.ics`, download: `meeting-${m.id}.ics` }, 'Add to calendar'));
  }
  return h('li', { class: 'meeting', dataset: { meeting: m.id } },
    h('div', { class: 'row' }, h('strong', {}, m.name), h('span', {}, tags)),
    h('div', { class: 'muted' }, whenText(m, me)),
    m.types.length ? h('p', { class: 'muted' }, m.types.map((t) => t.label).join(' · ')) : null,
    place, how, m.notes ? h('p', {}, m.notes) : null, row, slot);
}

function meetingList(items, me, ctx, empty) {
  if (!items.length) return h('p', { class: 'muted' }, empty);
  // A family member: meetings for families first, each group still in the server's order.
  const ordered = me.role === 'family'
    ? [...items.filter(forFamilies), ...items.filter((m) => !forFamilies(m))] : items;
  return h('ul', { class: 'list' }, ordered.map((m) => meetingItem(m, me, ctx)));
}

// Today in the person's own zone, as the API's dates are written (YYYY-MM-DD).
function todayIn(zone) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

export async function meetingsView(me) {
  startOffline(me);
  const page = h('section', {}, h('h1', {}, 'Meetings'),
    h('p', { class: 'muted' }, me.role === 'family'
      ? `Meetings for families and friends (Al-Anon, Nar-Anon and more) come first; other mutual-support meetings follow. Times are shown in your time zone, ${zoneLabel(me.timezone)}.`
      : `Mutual-support meetings (AA, NA, SMART Recovery, Al-Anon and more). Times are shown in your time zone, ${zoneLabel(me.timezone)}.`));
  // saved and went: what a client's buttons show; changed(id) redraws every copy of a meeting
  // on the page, and adds a newly saved one to "Your meetings" (a removed one stays there, with
  // Save to undo, until the page is drawn again).
  const ctx = { saved: new Set(), went: new Set() };
  ctx.changed = (id) => {
    page.querySelectorAll(`[data-meeting="${id}"] .form-actions`).forEach((row) => row.dispatchEvent(new Event('meeting-changed')));
    if (ctx.saved.has(id) && !page.querySelector(`#my-meetings [data-meeting="${id}"]`)) ctx.refresh?.();
  };
  if (me.role === 'counselor') {
    const picker = await clientPicker(me, ctx);
    if (picker) page.append(picker);
  }
  const mine = me.role === 'client' ? await myMeetings(me, ctx) : null;

  const soon = h('div', { class: 'card', id: 'starting-soon' }, h('h2', {}, 'Starting soon'));
  try {
    const { items } = await get('/api/v1/meetings?starting_within=60&limit=20');
    soon.append(meetingList(items, me, ctx, 'Nothing in the next hour. Search below for later meetings.'));
  } catch (err) { soon.append(errorBox(err)); }
  page.append(soon);
  if (mine) page.append(mine);
  page.append(await searchCard(me, ctx));
  return page;
}

async function clientPicker(me, ctx) {
  try {
    const { items } = await get('/api/v1/caseload?limit=200');
    if (!items.length) return null;
    const select = field('Client to recommend meetings to', {
      name: 'client', tag: 'select', options: items.map((c) => [String(c.id), c.display_name]),
    });
    const theirs = h('div');
    const card = h('div', { class: 'card' }, h('h2', {}, 'Your clients\u2019 meetings'), select, theirs);
    const input = select.querySelector('select');
    ctx.client = () => Number(input.value);
    ctx.refresh = async () => {
      theirs.replaceChildren();
      try {
        const [att, recs] = await Promise.all([
          get(`/api/v1/clients/${input.value}/meeting-attendance?limit=20`),
          get(`/api/v1/clients/${input.value}/meeting-recommendations?limit=20`),
        ]);
        theirs.append(
          h('h3', {}, 'Went to (self-reported, not IOP hours)'),
          att.items.length ? h('ul', { class: 'list' }, att.items.map((a) => h('li', {}, `${a.attended_on}: ${a.name}`)))
            : h('p', { class: 'muted' }, 'No meetings recorded yet.'),
          h('h3', {}, 'You recommended'),
          recs.items.length ? h('ul', { class: 'list' }, recs.items.map((r) => h('li', {}, r.name, r.ended ? ' (ended)' : '')))
            : h('p', { class: 'muted' }, 'Nothing yet.'));
      } catch (err) { theirs.append(errorBox(err)); }
    };
    input.addEventListener('change', ctx.refresh);
    await ctx.refresh();
    return card;
  } catch (err) {
    return null;
  }
}

// A client's saved meetings, with their join links, dial-in numbers and times: an encrypted copy
// stays on the phone (offline.js), so they open with no signal, exactly when they are needed.
async function myMeetings(me, ctx) {
  const card = h('div', { class: 'card', id: 'my-meetings' }, h('h2', {}, 'Your meetings'));
  const body = h('div');
  const noSignal = { items: [] };
  const draw = async () => {
    let favs; let offline;
    try {
      ({ data: favs, offline } = await cachedGet(`/api/v1/clients/${me.id}/meeting-favourites?limit=50`, `meeting-favourites:${me.id}`));
    } catch (err) { body.replaceChildren(errorBox(err)); return; }
    const [recs, att] = await Promise.all([
      get(`/api/v1/clients/${me.id}/meeting-recommendations?limit=20`).catch(() => noSignal),
      get(`/api/v1/clients/${me.id}/meeting-attendance?limit=10`).catch(() => noSignal),
    ]);
    ctx.saved = new Set(favs.items.filter((f) => !f.ended).map((f) => f.meeting_id));
    const today = todayIn(me.timezone);
    ctx.went = new Set(att.items.filter((a) => a.attended_on === today).map((a) => a.meeting_id));
    const parts = [];
    if (offline) parts.push(h('p', { class: 'notice', role: 'status' }, 'You are offline: these are your saved meetings as kept on this phone.'));
    parts.push(h('h3', {}, 'Saved'), favs.items.length
      ? h('ul', { class: 'list' }, favs.items.map((f) => (f.meeting ? meetingItem(f.meeting, me, ctx, offline)
        : h('li', {}, h('strong', {}, f.name), ' ', h('span', { class: 'muted' }, f.note)))))
      : h('p', { class: 'muted' }, 'Save meetings you like to find them here, even with no signal.'));
    if (recs.items.length) {
      parts.push(h('h3', {}, 'Recommended by your counselor'), h('ul', { class: 'list' },
        recs.items.map((r) => h('li', {}, h('strong', {}, r.name), r.note ? ` — ${r.note}` : '', h('span', { class: 'muted' }, ` (${r.counselor})`)))));
    }
    if (att.items.length) {
      parts.push(h('h3', {}, 'You went to'), h('ul', { class: 'list' },
        att.items.map((a) => h('li', {}, `${a.attended_on}: ${a.name}`))));
    }
    body.replaceChildren(...parts);
  };
  ctx.refresh = draw;
  const feedButton = h('button', {
    type: 'button', class: 'secondary',
    onclick: async () => {
      try {
        const { url } = await post(`/api/v1/clients/${me.id}/meeting-calendar`);
        say(feedButton, 'Add this private link to your calendar app; it follows your saved meetings. Keep it to yourself. Getting a new link stops the old one.',
          'success', h('p', { class: 'copy' }, url));
      } catch (err) { say(feedButton, err.message, 'error'); }
    },
  }, 'Get my calendar feed link');
  await draw();
  card.append(body, ...formActions(feedButton));
  return card;
}

async function searchCard(me, ctx) {
  let types = { types: [], fellowships: [] };
  try { types = await get('/api/v1/meetings/types'); } catch (err) { /* filters still work */ }
  const results = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', novalidate: true, role: 'search' },
    h('h2', {}, 'Find a meeting'),
    field('Search words (name, place, or a type such as Spanish or Women)', { name: 'q', type: 'search', maxlength: 100 }),
    field('Day', { name: 'day', tag: 'select', options: [['', 'Any day'], ...DAYS.map((d, i) => [String(i), d])] }),
    field('How', { name: 'mode', tag: 'select', options: [['any', 'Online or in person'], ['online', 'Online or by phone'], ['in_person', 'In person']] }),
    field('Fellowship', { name: 'fellowship', tag: 'select', options: [['', 'Any'], ...types.fellowships.map((f) => [f, f])] }),
    field('Type', { name: 'types', tag: 'select', options: [['', 'Any'], ...types.types.map((t) => [t.code, t.label])] }),
    field('Near ZIP code or latitude,longitude (optional)', { name: 'near', maxlength: 60, autocomplete: 'postal-code' }),
    formActions(
      h('button', { type: 'submit' }, 'Search'),
      h('button', {
        type: 'button', class: 'secondary',
        onclick: () => navigator.geolocation && navigator.geolocation.getCurrentPosition((pos) => {
          form.near.value = `${pos.coords.latitude.toFixed(4)},${pos.coords.longitude.toFixed(4)}`;
        }),
      }, 'Use my location')),
    results);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    results.replaceChildren();
    const params = new URLSearchParams({ limit: '100' });
    for (const name of ['q', 'day', 'mode', 'fellowship', 'types', 'near']) {
      if (form[name].value) params.set(name, form[name].value);
    }
    try {
      const { items, next } = await get(`/api/v1/meetings?${params}`);
      results.append(h('h3', {}, `${items.length}${next ? '+' : ''} found`), meetingList(items, me, ctx, 'No meetings match. Try fewer filters.'));
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    }
  });
  return form;
}

// Admin: sources (feed URLs refreshed on a schedule, uploaded files) and meetings by hand.
export async function meetingSourcesView(me) {
  const page = h('section', {}, h('h1', {}, 'Meeting sources'),
    h('p', { class: 'muted' }, 'Meeting Guide JSON feeds from intergroups and fellowships. A bad row is skipped and reported; a broken feed keeps the meetings it had.'));
  const list = h('div', { class: 'card' });
  const draw = async () => {
    list.replaceChildren(h('h2', {}, 'Sources'));
    const { items } = await get('/api/v1/meeting-sources?limit=200');
    if (!items.length) { list.append(h('p', { class: 'muted' }, 'No sources yet.')); return; }
    list.append(h('ul', { class: 'list' }, items.map((s) => sourceItem(s, draw))));
  };
  const addForm = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'Add a source'),
    field('Name', { name: 'name', required: true, maxlength: 200 }),
    field('Feed URL (http or https)', { name: 'url', type: 'url', inputmode: 'url' }),
    field('…or upload a feed file (.json)', { name: 'file', type: 'file', accept: '.json,application/json' }),
    field('Fellowship of rows that name none (optional)', { name: 'fellowship', maxlength: 80 }),
    field('Time zone for rows without one (default: the program\u2019s)', { name: 'timezone', maxlength: 64, placeholder: 'America/Chicago' }),
    field('Refresh every (hours)', { name: 'refresh_hours', type: 'number', min: 1, max: 336, value: 24 }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Add and import')));
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(addForm);
    const body = { name: addForm.name.value, refresh_hours: Number(addForm.refresh_hours.value || 24) };
    if (addForm.fellowship.value) body.fellowship = addForm.fellowship.value;
    if (addForm.timezone.value) body.timezone = addForm.timezone.value;
    const file = addForm.file.files[0];
    if (file) { body.feed = await file.text(); body.file_name = file.name; } else if (addForm.url.value) body.url = addForm.url.value;
    try {
      await post('/api/v1/meeting-sources', body);
      addForm.reset();
      await draw();
    } catch (err) { showProblem(addForm, err instanceof ApiError ? err.problem : { detail: String(err) }); }
  });
  const manual = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'Add a meeting by hand'),
    field('Name', { name: 'name', required: true, maxlength: 255 }),
    field('Fellowship', { name: 'fellowship', maxlength: 80 }),
    field('Day', { name: 'day', tag: 'select', options: DAYS.map((d, i) => [String(i), d]) }),
    field('Start (HH:MM, 24 hour)', { name: 'time', required: true, placeholder: '18:00', maxlength: 5 }),
    field('End (optional)', { name: 'end_time', placeholder: '19:00', maxlength: 5 }),
    field('Place (optional)', { name: 'location', maxlength: 300 }),
    field('Address (optional)', { name: 'formatted_address', maxlength: 500 }),
    field('Join link (optional)', { name: 'conference_url', type: 'url' }),
    field('Dial-in number with access code (optional)', { name: 'conference_phone', placeholder: '+13125550100,,123456#' }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Add meeting')),
    h('p', { role: 'status', class: 'success' }));
  manual.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(manual);
    const body = { name: manual.name.value, day: Number(manual.day.value), time: manual.time.value };
    for (const k of ['fellowship', 'end_time', 'location', 'formatted_address', 'conference_url', 'conference_phone']) {
      if (manual[k].value) body[k] = manual[k].value;
    }
    try {
      const m = await post('/api/v1/meetings', body);
      manual.reset();
      manual.querySelector('[role=status]').textContent = `Added ${m.name}.`;
      await draw();
    } catch (err) { showProblem(manual, err instanceof ApiError ? err.problem : { detail: String(err) }); }
  });
  try { await draw(); } catch (err) { list.append(errorBox(err)); }
  page.append(list, h('div', { class: 'grid' }, addForm, manual));
  return page;
}

function sourceItem(s, redraw) {
  const r = s.last_report;
  const out = h('li', {},
    h('div', { class: 'row' }, h('strong', {}, s.name),
      h('span', { class: s.last_status === 'error' ? 'tag' : 'tag live' }, s.last_status === 'error' ? 'Import failed' : `${s.meetings} meetings`)),
    h('div', { class: 'muted copy' }, s.kind === 'url' ? s.location : (s.kind === 'file' ? `File: ${s.location}` : 'Added by hand')));
  if (s.last_error) out.append(h('p', { class: 'error' }, `Last import: ${s.last_error}. The directory keeps the meetings it had.`));
  if (r && !r.error) {
    out.append(h('p', {}, `added ${r.added}, updated ${r.updated}, removed ${r.removed}, skipped ${r.skipped}`));
    if (r.skipped_rows.length || r.notes.length) {
      out.append(h('details', {}, h('summary', {}, 'Skipped rows and notes'),
        h('ul', {}, [...r.skipped_rows.map((x) => h('li', {}, `Row ${x.row}${x.slug ? ` (${x.slug})` : ''} skipped: ${x.message}`)),
          ...r.notes.map((x) => h('li', {}, `Row ${x.row}${x.slug ? ` (${x.slug})` : ''}: ${x.message}`))])));
    }
  }
  if (s.kind === 'url') {
    out.append(h('p', { class: 'muted' }, `Refreshed every ${s.refresh_hours} h${s.next_refresh_at ? `; next ${new Date(s.next_refresh_at).toLocaleString()}` : ''}`),
      h('button', { type: 'button', class: 'secondary', onclick: async () => { await post(`/api/v1/meeting-sources/${s.id}/refresh`, {}); await redraw(); } }, `Refresh ${s.name} now`));
  }
  return out;
}
