// The clinical note of a session (docs/notes.md): the facilitating counselor writes it in the
// program's format (DAP, BIRP or SOAP) once the session has ended, from the minutes the server
// saw; signs it (final from then on, and the session's attendance is attested); adds dated
// addenda after. The shared part goes into every participant's chart, so the page warns when
// a part names another client. Also a client's chart as their counselors read it.
import { get, post, patch, ApiError } from '../api.js';
import { h, field, formatWhen, formatRange, showProblem, clearProblem, say, formActions } from '../dom.js';

const FORMAT_NAME = { dap: 'DAP', birp: 'BIRP', soap: 'SOAP' };
const PART_LABEL = {
  data: 'Data', assessment: 'Assessment', plan: 'Plan', behavior: 'Behavior',
  intervention: 'Intervention', response: 'Response', subjective: 'Subjective', objective: 'Objective',
};
const ATTENDANCE = [['present', 'Present'], ['late', 'Late'], ['left_early', 'Left early'], ['absent', 'Absent']];
const MODALITY = [['', 'Choose…'], ['video', 'Video'], ['audio_only', 'Audio only, in the app'],
  ['phone', 'Phone call'], ['in_person', 'In person']];
const LOCATION = [['', 'Choose…'], ['home', 'At home'], ['other', 'Elsewhere, not at home']];
const REASON = [['', 'Choose…'], ['no_video_capability', 'No video capability'], ['declined_video', 'Declined video']];
const IDENTITY_HINTS = ['Known to me, seen on video', 'Photo ID shown on camera', 'Name and date of birth confirmed'];
const TELEHEALTH = new Set(['video', 'audio_only', 'phone']);
const AUDIO_ONLY = new Set(['audio_only', 'phone']);
const text = (pairs, value) => (pairs.find(([v]) => v === value) || [null, value ?? '–'])[1];

const label = (part) => PART_LABEL[part] || part;

function notFound(message) {
  return h('section', {}, h('h1', {}, 'Session note'), h('p', { class: 'error', role: 'alert' }, message),
    h('p', {}, h('a', { href: '/attendance' }, 'Back to attendance')));
}

function header(me, session, format) {
  return [h('h1', {}, `Note: ${session.title}`),
    h('p', { class: 'muted' }, `${formatRange(session.starts_at, session.ends_at, me.timezone)} · ${FORMAT_NAME[format]} note`)];
}

function signatureText(me, note) {
  if (note.status !== 'signed') return 'Draft: not signed yet.';
  const late = note.late_entry ? ` Late entry, signed ${formatWhen(note.signed_at, me.timezone)}.` : '';
  return `Signed by ${note.signed_by.display_name}, ${formatWhen(note.signed_at, me.timezone)}: final.${late}`;
}

function partsList(parts, values) {
  return h('dl', { class: 'note-parts' }, parts.flatMap((p) => [
    h('dt', {}, label(p)), h('dd', {}, (values || {})[p] || '–')]));
}

function participantFacts(p) {
  const facts = [['Attendance', text(ATTENDANCE, p.attendance)], ['Minutes', p.minutes]];
  if (p.attendance !== 'absent') {
    facts.push(['How', text(MODALITY, p.modality)]);
    if (TELEHEALTH.has(p.modality)) {
      facts.push(['Where', text(LOCATION, p.location)], ['Identity confirmed', p.identity_checked || '–']);
    }
    if (AUDIO_ONLY.has(p.modality)) facts.push(['Audio only because', text(REASON, p.audio_only_reason)]);
  }
  return h('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
}

function addendaList(me, note) {
  if (!note.addenda.length) return h('p', { class: 'muted' }, 'No addenda.');
  return h('ul', { class: 'list', 'aria-label': 'Addenda' }, note.addenda.map((a) => h('li', {},
    h('p', { class: 'muted' }, `Addendum by ${a.author.display_name}, ${formatWhen(a.created_at, me.timezone)} (late entry)`),
    h('p', { class: 'note-text' }, a.text))));
}

function warningsBox(warnings) {
  const box = h('div', { id: 'note-warnings', 'aria-live': 'polite' });
  showWarnings(box, warnings);
  return box;
}

function showWarnings(box, warnings) {
  box.replaceChildren(...(warnings.length ? [h('div', { class: 'notice' },
    h('h2', {}, 'Check before signing'),
    h('ul', {}, warnings.map((w) => h('li', {}, w.message))))] : []));
}

// --- the signed note (and a draft as the admin reads it) ----------------------------------

function noteDisplay(me, note, { canAdd }) {
  const page = h('section', {}, ...header(me, note.session, note.format),
    h('p', { role: 'status', tabindex: '-1', class: note.status === 'signed' ? 'success' : 'muted', id: 'note-signature' },
      signatureText(me, note)));
  if (note.shared) {
    page.append(h('div', { class: 'card' }, h('h2', {}, 'Shared part (in every participant\'s chart)'),
      partsList(note.parts, note.shared)));
  }
  for (const p of note.participants) {
    page.append(h('div', { class: 'card' }, h('h2', {}, p.client.display_name), participantFacts(p),
      p.attendance === 'absent' && !Object.values(p.sections).some(Boolean) ? null
        : partsList(note.parts, p.sections)));
  }
  const addenda = h('div', { class: 'card', id: 'note-addenda' }, h('h2', {}, 'Addenda'), addendaList(me, note));
  page.append(addenda);
  if (canAdd && note.status === 'signed') addenda.append(addendumForm(me, note, addenda));
  return page;
}

function addendumForm(me, note, card) {
  const form = h('form', { novalidate: true, class: 'inline-form' },
    field('Addendum (dated, by you; the note itself stays as signed)', { name: 'text', tag: 'textarea', rows: 4, required: true }),
    ...formActions(h('button', { type: 'submit' }, 'Add addendum')));
  let id = crypto.randomUUID(); // one id per addendum: a retry is stored once
  let busy = false;
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy) return;
    busy = true;
    clearProblem(form);
    try {
      const saved = await post(`/api/v1/notes/${note.id}/addenda`, { id, text: form.elements.text.value });
      id = crypto.randomUUID();
      form.elements.text.value = '';
      card.querySelector('.list, p.muted')?.replaceWith(addendaList(me, saved));
      say(form.querySelector('button'), 'Addendum added.');
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
    } finally {
      busy = false;
    }
  });
  return form;
}

// --- the form --------------------------------------------------------------------------------

function partFields(prefix, parts, values, hint) {
  return parts.map((p) => field(hint ? `${label(p)} ${hint}` : label(p), {
    name: `${prefix}.${p}`, tag: 'textarea', rows: 3,
  })).map((el, i) => {
    el.querySelector('textarea').value = (values || {})[parts[i]] || '';
    return el;
  });
}

function select(labelText, name, options, value) {
  const el = field(labelText, { name, tag: 'select', options });
  el.querySelector('select').value = value ?? '';
  return el;
}

function participantFieldset(row, i, parts) {
  const at = `participants.${i}`;
  const name = row.client.display_name;
  const minutes = field('Minutes of direct service', {
    name: `${at}.minutes`, type: 'number', min: 0, step: 1, inputmode: 'numeric', value: String(row.minutes ?? 0),
  });
  const identity = field('How identity was confirmed', {
    name: `${at}.identity_checked`, list: 'identity-hints', maxlength: 200, value: row.identity_checked || '',
  });
  const location = select('Where the client was', `${at}.location`, LOCATION, row.location);
  const reason = select('Why audio only', `${at}.audio_only_reason`, REASON, row.audio_only_reason);
  const modality = select('How they took part', `${at}.modality`, MODALITY, row.modality);
  const attendance = select('Attendance', `${at}.attendance`, ATTENDANCE, row.attendance);
  const SEEN_NOTE = {
    chat_only: 'The server saw chat only: say how they took part.',
    phone: 'They called in by phone: "no video capability" below is proposed for you to confirm.',
  };
  const seen = SEEN_NOTE[row.seen_modality] ? h('p', { class: 'muted' }, SEEN_NOTE[row.seen_modality]) : null;
  const fieldset = h('fieldset', { class: 'note-participant', dataset: { client: row.client.id } },
    h('legend', {}, name), attendance, minutes, modality, seen, location, identity, reason,
    partFields(`${at}.sections`, parts, row.sections, `(${name})`));
  // Only what applies shows: the telehealth record for telehealth, the reason for audio only.
  const update = () => {
    const how = modality.querySelector('select').value;
    const absent = attendance.querySelector('select').value === 'absent';
    location.hidden = absent || !TELEHEALTH.has(how);
    identity.hidden = absent || !TELEHEALTH.has(how);
    reason.hidden = absent || !AUDIO_ONLY.has(how);
  };
  modality.addEventListener('change', update);
  attendance.addEventListener('change', (e) => {
    if (e.target.value === 'absent') minutes.querySelector('input').value = '0';
    update();
  });
  update();
  return fieldset;
}

function readParticipant(form, row, i, parts) {
  const at = `participants.${i}`;
  const value = (name) => form.elements[`${at}.${name}`].value;
  const orNull = (v) => (v === '' ? null : v);
  const how = orNull(value('modality'));
  const absent = value('attendance') === 'absent';
  const minutes = value('minutes').trim();
  return {
    client_id: row.client.id, attendance: value('attendance'),
    minutes: minutes === '' ? null : Number(minutes),
    modality: how,
    // What does not apply is not sent (a hidden field keeps what was typed, for a change back).
    location: !absent && TELEHEALTH.has(how) ? orNull(value('location')) : null,
    identity_checked: !absent && TELEHEALTH.has(how) ? orNull(value('identity_checked').trim()) : null,
    audio_only_reason: !absent && AUDIO_ONLY.has(how) ? orNull(value('audio_only_reason')) : null,
    started_at: row.started_at || null, ended_at: row.ended_at || null,
    sections: Object.fromEntries(parts.map((p) => [p, form.elements[`${at}.sections.${p}`].value])),
  };
}

function noteForm(me, sessionId, start, page) {
  // start: the draft note, or the prefill (no note yet)
  const { session, format, parts } = start;
  const sharedPart = session.kind === 'group'; // a 1:1 has no shared part
  const rows = start.participants.map((p) => ({ ...p, sections: p.sections || {} }));
  let noteId = start.id || crypto.randomUUID(); // made here: a retried first save is stored once
  let saved = Boolean(start.id);
  const warnings = warningsBox(start.warnings || []);
  const save = h('button', { type: 'submit', class: 'secondary' }, 'Save draft');
  const sign = h('button', { type: 'button' }, 'Sign the note…');
  const form = h('form', { novalidate: true },
    h('datalist', { id: 'identity-hints' }, IDENTITY_HINTS.map((t) => h('option', { value: t }))),
    sharedPart ? h('fieldset', { class: 'card note-shared' },
      h('legend', {}, 'Shared part'),
      h('p', { class: 'muted' }, 'Topic and interventions. It goes into every participant\'s chart: name no client.'),
      partFields('shared', parts, start.shared, '(shared)')) : null,
    rows.map((row, i) => participantFieldset(row, i, parts)),
    warnings,
    ...formActions(save, sign));

  const body = () => {
    const out = { format, participants: rows.map((row, i) => readParticipant(form, row, i, parts)) };
    if (sharedPart) out.shared = Object.fromEntries(parts.map((p) => [p, form.elements[`shared.${p}`].value]));
    return out;
  };
  let busy = false;
  const store = async () => {
    const data = body();
    if (!saved) {
      try {
        const note = await post(`/api/v1/sessions/${sessionId}/notes`, { id: noteId, ...data });
        saved = true;
        return note;
      } catch (err) {
        // The first save reached the server but its answer did not: the draft exists, change it.
        if (!(err instanceof ApiError && err.status === 409 && err.problem.code !== 'note_exists'
          && err.problem.errors?.[0]?.field === 'id')) throw err;
        saved = true;
      }
    }
    return patch(`/api/v1/notes/${noteId}`, data);
  };
  const run = async (button, work) => {
    if (busy) return;
    busy = true;
    clearProblem(form);
    try {
      await work();
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) }, { near: button });
    } finally {
      busy = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    run(save, async () => {
      const note = await store();
      showWarnings(warnings, note.warnings);
      say(save, note.warnings.length ? 'Draft saved. It names other clients: see above.' : 'Draft saved.');
    });
  });
  sign.addEventListener('click', () => run(sign, async () => {
    const note = await store();
    showWarnings(warnings, note.warnings);
    const caution = note.warnings.length ? `\n\nIt still names other clients in ${note.warnings.length} place${note.warnings.length === 1 ? '' : 's'}.` : '';
    if (!window.confirm(`Sign this note? A signed note is final: later changes are dated addenda.${caution}`)) {
      say(sign, 'Saved as a draft, not signed.', 'notice');
      return;
    }
    const signed = await post(`/api/v1/notes/${noteId}/sign`);
    const shown = noteDisplay(me, signed, { canAdd: true });
    page.replaceWith(shown);
    shown.querySelector('#note-signature').focus(); // the buttons are gone: focus the result
  }));
  return h('section', {}, ...header(me, session, format),
    h('p', { class: 'muted' }, start.id ? 'Draft: not signed yet.' : 'Minutes and how each client took part come from what the server saw; correct them where needed, and enter in-person attendance.'),
    form);
}

export async function sessionNoteView(me, param) {
  const sessionId = Number.parseInt(param, 10);
  if (!Number.isInteger(sessionId)) return notFound('No such session.');
  let note;
  try {
    [note] = (await get(`/api/v1/sessions/${sessionId}/notes`)).items;
  } catch (err) {
    return notFound(err.message);
  }
  if (me.role !== 'counselor' || note?.status === 'signed') {
    if (!note) return notFound('This session has no note yet.');
    return noteDisplay(me, note, { canAdd: me.role === 'counselor' });
  }
  let prefill;
  try {
    prefill = await get(`/api/v1/sessions/${sessionId}/notes/prefill`);
  } catch (err) {
    return notFound(err.message);
  }
  if (!note && !prefill.session.ended) {
    return h('section', {}, ...header(me, prefill.session, prefill.format),
      h('p', {}, 'You can write the note once the session has ended.'),
      h('p', {}, h('a', { href: '/attendance' }, 'Back to attendance')));
  }
  const holder = h('div', {});
  const start = note ? {
    ...note,
    // The server's own times for each client, kept with the draft's rows.
    participants: note.participants.map((p) => ({ ...p, seen_modality: prefill.participants.find((r) => r.client.id === p.client.id)?.seen_modality })),
  } : prefill;
  const form = noteForm(me, sessionId, start, holder);
  holder.append(form);
  return holder;
}

// --- a client's chart --------------------------------------------------------------------------

// The notes in one client's chart: each session's shared part and this client's own part.
export async function clientNotesCard(me, clientId) {
  const card = h('div', { class: 'card', id: 'client-notes' }, h('h2', {}, 'Session notes'));
  let items;
  try {
    ({ items } = await get(`/api/v1/clients/${clientId}/notes?limit=20`));
  } catch (err) {
    card.append(h('p', { class: 'error' }, err.message));
    return card;
  }
  if (!items.length) {
    card.append(h('p', { class: 'muted' }, 'No session notes yet.'));
    return card;
  }
  card.append(h('ul', { class: 'list', 'aria-label': 'Session notes' }, items.map((n) => h('li', {},
    h('h3', {}, n.session.title, ' ', h('span', { class: 'muted' }, formatWhen(n.session.starts_at, me.timezone))),
    h('p', { class: n.status === 'signed' ? 'success' : 'muted' }, signatureText(me, n)),
    participantFacts(n.participant),
    n.shared ? partsList(n.parts, n.shared) : null,
    partsList(n.parts, n.participant.sections),
    n.addenda.length ? addendaList(me, n) : null,
    n.facilitator ? h('p', {}, h('a', { href: `/session-notes/${n.session.id}` }, `Open the note of ${n.session.title}`)) : null))));
  return card;
}
