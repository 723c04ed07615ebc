// The clinic's own setup, for its admin (issue 15): programs and their phases and closed days,
// groups with a weekly schedule and members, admissions, phase changes and discharges.
// Counselors open a group they lead to see and cancel its coming sessions.
import { get, post, patch, api, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, say, formActions, formatRange } from '../dom.js';
import { allZones, zoneLabel } from '../zones.js';
import { todayIn } from '../days.js';

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const KINDS = {
  process: 'Process group', relapse_prevention: 'Relapse prevention',
  early_recovery_skills: 'Early recovery skills', education: 'Education', family: 'Family',
  continuing_care: 'Continuing care',
};
const REASONS = {
  completed: 'Completed treatment', left_against_advice: 'Left against professional advice',
  terminated_by_program: 'Terminated by the program', transferred: 'Transferred to another program',
  incarcerated: 'Incarcerated', died: 'Died', other: 'Other',
};
const problemOf = (err) => (err instanceof ApiError ? err.problem
  : { detail: 'That did not reach the server: check your connection and try again.' });

function page(title, ...parts) {
  return h('section', {}, h('h1', {}, title), ...parts);
}

// Runs a form's submit once at a time (a second press while the first is on its way does
// nothing), showing the server's problem where the person is looking.
function onSubmit(form, send, { fields = null } = {}) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const button = form.querySelector('button[type="submit"]');
    if (button.disabled) return;
    button.disabled = true;
    try {
      await send(button);
    } catch (err) {
      showProblem(form, problemOf(err), { fields });
    } finally {
      button.disabled = false;
    }
  });
}

// The weekly schedule as a grid: one row per day, a checkbox, its start and length.
function scheduleGrid(slots = [], prefix = 'schedule') {
  const byDay = new Map(slots.map((s) => [s.weekday, s]));
  const rows = DAYS.map((day, i) => {
    const slot = byDay.get(i);
    return h('tr', {},
      h('th', { scope: 'row' }, h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: `day-${i}`, checked: slot ? true : null }), day)),
      h('td', {}, h('input', { type: 'time', name: `start-${i}`, value: slot?.start || '18:00', 'aria-label': `${day} start time` })),
      h('td', {}, h('input', { type: 'number', name: `minutes-${i}`, min: 15, max: 480, step: 15, value: slot?.duration_minutes || 180, inputmode: 'numeric', 'aria-label': `${day} length in minutes` })));
  });
  return h('fieldset', { class: 'schedule' }, h('legend', {}, 'Weekly schedule (in the program\'s time zone)'),
    h('table', { class: 'board' }, h('thead', {}, h('tr', {}, ['Day', 'Starts', 'Minutes'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)),
    h('p', { class: 'field-error', id: `${prefix}-error` }));
}

function readSchedule(form) {
  return DAYS.map((_, i) => i).filter((i) => form[`day-${i}`].checked).map((i) => ({
    weekday: i, start: form[`start-${i}`].value, duration_minutes: Number(form[`minutes-${i}`].value),
  }));
}

// Server errors about "schedule.0.start" point at the checked row they came from.
function scheduleFields(form) {
  return (name) => {
    const m = /^schedule(?:\.(\d+))?(?:\.(\w+))?$/.exec(name || '');
    if (!m) return null;
    const days = DAYS.map((_, i) => i).filter((i) => form[`day-${i}`].checked);
    const day = m[1] !== undefined ? days[Number(m[1])] : days[0] ?? 0;
    const part = m[2] === 'duration_minutes' ? 'minutes' : (m[2] === 'start' ? 'start' : 'day');
    return form[`${part}-${day}`] || null;
  };
}

function zoneSelect(value, id = 'f-timezone') {
  const zones = allZones();
  if (value && !zones.includes(value)) zones.unshift(value);
  const f = field('Time zone', { name: 'timezone', id, tag: 'select', options: zones.map((z) => [z, zoneLabel(z)]) });
  f.querySelector('select').value = value || 'America/Chicago';
  return f;
}

// --- programs ------------------------------------------------------------------------------

function programForm(onMade) {
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'Add a program'),
    field('Name', { name: 'name', id: 'p-name', required: true, maxlength: 200 }),
    zoneSelect(Intl.DateTimeFormat().resolvedOptions().timeZone, 'p-timezone'),
    field('Level of care', { name: 'level_of_care', id: 'p-level-of-care', tag: 'select', options: [['iop', 'Intensive outpatient (IOP)'], ['op', 'Outpatient, continuing care (OP)']] }),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'adolescent', id: 'p-adolescent' }), 'Adolescent program (6-hour weekly target)'),
    field('Phases, in order, one per line (hours a week after a comma: "Step-down, 6")', { name: 'phases', id: 'p-phases', tag: 'textarea', rows: 3 }),
    formActions(h('button', { type: 'submit' }, 'Add program')));
  form.phases.value = 'Intensive outpatient\nStep-down, 6\nContinuing care, 2';
  onSubmit(form, async (button) => {
    const phases = form.phases.value.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
      const [name, hours] = line.split(/,\s*(?=\d+\s*$)/);
      return hours ? { name: name.trim(), weekly_hours_target: Number(hours) } : { name: line };
    });
    const made = await post('/api/v1/programs', {
      name: form.name.value.trim(), timezone: form.timezone.value,
      level_of_care: form.level_of_care.value, adolescent: form.adolescent.checked,
      phases: phases.length ? phases : undefined,
    });
    say(button, `Added ${made.name}.`);
    form.name.value = '';
    onMade(made);
  });
  return form;
}

function closedDayForm(program) {
  const form = h('form', { novalidate: true, class: 'inline-form' },
    field(`Close ${program.name} on`, { name: 'day', id: `f-closed-${program.id}`, type: 'date', required: true, min: todayIn(program.timezone) }),
    field('Reason members see', { name: 'reason', id: `f-closed-reason-${program.id}`, maxlength: 200, required: true }),
    formActions(h('button', { type: 'submit', class: 'secondary' }, 'Close that day')));
  onSubmit(form, async (button) => {
    const closed = await post(`/api/v1/programs/${program.id}/closed-days`, { day: form.day.value, reason: form.reason.value.trim() });
    say(button, `Closed on ${closed.day}: that day's sessions are cancelled and members see why.`);
  });
  return form;
}

function programCard(program) {
  return h('div', { class: 'card' },
    h('h2', {}, program.name),
    h('p', { class: 'muted' }, `${program.level_of_care === 'iop' ? 'Intensive outpatient' : 'Outpatient'}${program.adolescent ? ', adolescent' : ''} · ${zoneLabel(program.timezone)}`),
    h('h3', {}, 'Phases'),
    h('ol', {}, program.phases.map((p) => h('li', {}, `${p.name}: ${p.weekly_hours_target} hours a week`))),
    program.closed_days.length
      ? [h('h3', {}, 'Closed days'), h('ul', {}, program.closed_days.map((c) => h('li', {}, `${c.day}: ${c.reason}`)))]
      : null,
    closedDayForm(program));
}

// --- groups --------------------------------------------------------------------------------

function slotText(s) {
  return `${DAYS[s.weekday]} ${s.start}, ${s.duration_minutes} min`;
}

function groupForm(programs, staff, onMade) {
  const counselors = staff.filter((u) => u.role === 'counselor');
  const peers = staff.filter((u) => u.role === 'peer_supporter');
  const form = h('form', { class: 'card', novalidate: true },
    h('h2', {}, 'Add a group'),
    field('Program', { name: 'program_id', id: 'g-program-id', tag: 'select', options: programs.map((p) => [String(p.id), p.name]) }),
    field('Name', { name: 'name', id: 'g-name', required: true, maxlength: 200 }),
    field('Kind', { name: 'kind', id: 'g-kind', tag: 'select', options: Object.entries(KINDS) }),
    field('Lead counselor', { name: 'counselor_id', id: 'g-counselor-id', tag: 'select', options: counselors.map((u) => [String(u.id), u.display_name]) }),
    field('Peer supporter (optional)', { name: 'peer_supporter_id', id: 'g-peer-supporter-id', tag: 'select', options: [['', 'None'], ...peers.map((u) => [String(u.id), u.display_name])] }),
    field('First day', { name: 'starts_on', id: 'g-starts-on', type: 'date', required: true, value: todayIn(programs[0]?.timezone) }),
    field('Last day (optional)', { name: 'ends_on', id: 'g-ends-on', type: 'date' }),
    scheduleGrid([{ weekday: 0, start: '18:00', duration_minutes: 180 }]),
    formActions(h('button', { type: 'submit' }, 'Add group')));
  if (!counselors.length) form.querySelector('button[type="submit"]').disabled = true;
  onSubmit(form, async (button) => {
    const body = {
      program_id: Number(form.program_id.value), name: form.name.value.trim(), kind: form.kind.value,
      counselor_id: Number(form.counselor_id.value), starts_on: form.starts_on.value,
      peer_supporter_ids: form.peer_supporter_id.value ? [Number(form.peer_supporter_id.value)] : [],
      schedule: readSchedule(form),
    };
    if (form.ends_on.value) body.ends_on = form.ends_on.value;
    const made = await post('/api/v1/groups', body);
    say(button, `Added ${made.name}: its sessions for the coming weeks are on everyone's list.`);
    form.name.value = '';
    onMade(made);
  }, { fields: scheduleFields(form) });
  return form;
}

function groupRow(g) {
  return h('li', {}, h('div', { class: 'row' },
    h('a', { href: `/groups/${g.id}` }, h('strong', {}, g.name)),
    h('span', { class: 'muted' }, `${KINDS[g.kind]} · ${g.counselor.display_name}`)),
  h('div', { class: 'muted' }, g.schedule.map(slotText).join('; ')),
  h('div', { class: 'muted' }, `${g.clients.length} client${g.clients.length === 1 ? '' : 's'}`));
}

export async function programsView(me) {
  if (me.role !== 'admin') return page('Programs and groups', h('p', {}, 'The program\'s admin sets programs and groups up.'));
  const [{ items: programs }, { items: groups }, { items: staff }] = await Promise.all([
    get('/api/v1/programs?limit=100'), get('/api/v1/groups?limit=200'),
    get('/api/v1/users?limit=200&role=counselor&role=peer_supporter'),
  ]);
  const programList = h('div', {}, programs.map(programCard));
  const groupList = h('ul', { class: 'list' }, groups.map(groupRow));
  const groupsCard = h('div', { class: 'card' }, h('h2', {}, 'Groups'),
    groups.length ? groupList : h('p', { class: 'muted', id: 'no-groups' }, 'No groups yet: add one below.'));
  const addGroup = programs.length ? groupForm(programs, staff, (g) => {
    groupsCard.querySelector('#no-groups')?.replaceWith(groupList);
    groupList.append(groupRow(g));
  }) : h('p', { class: 'muted' }, 'Add a program first.');
  return page('Programs and groups', programList,
    programForm((p) => { programList.append(programCard(p)); }), groupsCard, addGroup,
    h('p', {}, h('a', { href: '/enrollments' }, 'Admissions and discharges')));
}

// One group: members, schedule, its coming sessions (cancel one), archive.
export async function groupView(me, id) {
  let group;
  try {
    group = await get(`/api/v1/groups/${Number(id)}`);
  } catch (err) {
    return page('Group', h('p', { class: 'error', role: 'alert' }, problemOf(err).detail));
  }
  const admin = me.role === 'admin';
  const section = page(group.name, h('p', { class: 'muted' }, `${KINDS[group.kind]} · led by ${group.counselor.display_name}${group.archived ? ' · archived' : ''}`));
  const members = h('div', { class: 'card' });
  const drawMembers = async (g) => {
    const people = [...g.clients, ...g.peer_supporters, ...g.co_facilitators];
    const list = h('ul', { class: 'list' }, people.map((p) => h('li', { class: 'row' },
      h('span', {}, `${p.display_name} (${p.role.replace('_', ' ')})`),
      admin && !g.archived ? h('button', { type: 'button', class: 'secondary', onclick: async (e) => {
        e.target.disabled = true;
        try {
          await api('DELETE', `/api/v1/groups/${g.id}/members/${p.id}`);
          drawMembers(await get(`/api/v1/groups/${g.id}`));
        } catch (err) { say(e.target, problemOf(err).detail, 'error'); e.target.disabled = false; }
      } }, `Remove ${p.display_name}`) : null)));
    members.replaceChildren(h('h2', {}, 'Members'), people.length ? list : h('p', { class: 'muted' }, 'Nobody yet.'));
    if (admin && !g.archived) {
      const { items: users } = await get('/api/v1/users?limit=200&role=client&role=peer_supporter&role=counselor');
      const inGroup = new Set([...people.map((p) => p.id), g.counselor.id]);
      const candidates = users.filter((u) => !inGroup.has(u.id));
      const form = h('form', { novalidate: true },
        field('Add', { name: 'user_id', tag: 'select', options: candidates.map((u) => [String(u.id), `${u.display_name} (${u.role.replace('_', ' ')})`]) }),
        formActions(h('button', { type: 'submit' }, 'Add to group')));
      const writeId = crypto.randomUUID(); // one id per form: a retry adds them once
      onSubmit(form, async () => { drawMembers(await post(`/api/v1/groups/${g.id}/members`, { id: writeId, user_id: Number(form.user_id.value) })); });
      members.append(candidates.length ? form
        : h('p', { class: 'muted' }, 'Everyone of the clinic who could join is in this group.'));
    }
  };
  await drawMembers(group);
  section.append(members);

  const schedule = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Schedule'), scheduleGrid(group.schedule),
    admin && !group.archived ? formActions(h('button', { type: 'submit' }, 'Save schedule')) : null);
  if (!admin || group.archived) schedule.querySelectorAll('input').forEach((i) => { i.disabled = true; });
  onSubmit(schedule, async (button) => {
    await patch(`/api/v1/groups/${group.id}`, { schedule: readSchedule(schedule) });
    say(button, 'Saved: sessions from now on follow the new schedule; past ones stay as they were.');
    drawSessions();
  }, { fields: scheduleFields(schedule) });
  section.append(schedule);

  const sessions = h('div', { class: 'card' }, h('h2', {}, 'Coming sessions'));
  const drawSessions = async () => {
    const { items } = await get(`/api/v1/sessions?group_id=${group.id}&limit=20`);
    sessions.replaceChildren(h('h2', {}, 'Coming sessions'), items.length ? h('ul', { class: 'list' }, items.map((s) => {
      const li = h('li', {}, h('div', {}, formatRange(s.starts_at, s.ends_at, me.timezone)),
        s.state === 'cancelled' ? h('div', { class: 'muted' }, `Cancelled: ${s.cancel_reason}`) : null);
      if (s.state === 'scheduled' || s.state === 'open') {
        const form = h('form', { novalidate: true, class: 'inline-form' },
          field('Reason for cancelling (members see it)', { name: 'reason', id: `f-cancel-${s.id}`, maxlength: 300 }),
          formActions(h('button', { type: 'submit', class: 'secondary' }, 'Cancel this session')));
        const writeId = crypto.randomUUID();
        onSubmit(form, async () => { await post(`/api/v1/sessions/${s.id}/cancel`, { id: writeId, reason: form.reason.value.trim() }); drawSessions(); });
        li.append(h('details', {}, h('summary', {}, 'Cancel…'), form));
      }
      return li;
    })) : h('p', { class: 'muted' }, 'No sessions to come.'));
  };
  await drawSessions();
  section.append(sessions);
  if (admin && !group.archived) {
    const archive = h('button', { type: 'button', class: 'secondary' }, 'Archive this group');
    archive.addEventListener('click', async () => {
      if (!window.confirm(`Archive ${group.name}? Its sessions to come are cancelled; its past stays in the record.`)) return;
      try {
        await patch(`/api/v1/groups/${group.id}`, { archived: true });
        say(archive, 'Archived: its coming sessions are cancelled.');
        drawSessions();
      } catch (err) { say(archive, problemOf(err).detail, 'error'); }
    });
    section.append(h('div', { class: 'card' }, h('div', { class: 'form-actions' }, archive)));
  }
  return section;
}

// --- admissions, phases, discharge ----------------------------------------------------------

function dialog(title, form) {
  const box = h('dialog', { 'aria-labelledby': `${form.id}-title` }, h('h2', { id: `${form.id}-title` }, title), form);
  const close = h('button', { type: 'button', class: 'secondary' }, 'Close');
  close.addEventListener('click', () => box.close());
  form.querySelector('.form-actions').append(close);
  box.addEventListener('close', () => box.remove());
  return box;
}

function enrollmentRow(e, programs, me, redraw, counselors) {
  const program = programs.find((p) => p.id === e.program_id);
  const li = h('li', {}, h('div', { class: 'row' }, h('strong', {}, e.client.display_name),
    h('span', { class: 'muted' }, e.active ? `${e.phase ? e.phase.name : 'no phase'} · ${e.weekly_hours_target} h a week · ${e.primary_counselor?.display_name || 'no counselor'} · ${e.birth_date ? `born ${e.birth_date}` : 'no date of birth'}`
      : `Discharged ${e.discharged_on}: ${REASONS[e.discharge_reason]}`)));
  if (!e.active) return li;
  const open = (title, build) => {
    const box = dialog(title, build());
    document.body.append(box);
    box.showModal();
  };
  const phaseButton = h('button', { type: 'button', class: 'secondary' }, 'Change phase');
  phaseButton.addEventListener('click', () => open(`${e.client.display_name}: change phase`, () => {
    const form = h('form', { id: `phase-${e.id}`, novalidate: true },
      field('Phase', { name: 'phase_id', id: `f-phase-${e.id}`, tag: 'select', options: (program?.phases || []).map((p) => [String(p.id), `${p.name} (${p.weekly_hours_target} h a week)`]) }),
      field('From', { name: 'effective_on', id: `f-phase-on-${e.id}`, type: 'date', value: todayIn(program?.timezone) }),
      formActions(h('button', { type: 'submit' }, 'Move to this phase')));
    let writeId = crypto.randomUUID(); // a retry of this move is stored once; the next is new
    onSubmit(form, async (button) => {
      await post(`/api/v1/enrollments/${e.id}/phase`, { id: writeId, phase_id: Number(form.phase_id.value), effective_on: form.effective_on.value });
      writeId = crypto.randomUUID();
      say(button, 'Moved.');
      redraw();
    });
    return form;
  }));
  const dischargeButton = h('button', { type: 'button', class: 'secondary' }, 'Discharge');
  dischargeButton.addEventListener('click', () => open(`Discharge ${e.client.display_name}`, () => {
    const form = h('form', { id: `discharge-${e.id}`, novalidate: true },
      field('Day of discharge', { name: 'discharged_on', id: `f-dis-on-${e.id}`, type: 'date', value: todayIn(program?.timezone) }),
      field('Reason', { name: 'reason', id: `f-dis-reason-${e.id}`, tag: 'select', options: Object.entries(REASONS) }),
      field('Discharge summary (for the chart)', { name: 'summary', id: `f-dis-summary-${e.id}`, tag: 'textarea', rows: 4 }),
      h('p', { class: 'muted' }, 'From that day the client is in no group and no room; their own self-care, safety plan, meetings and record stay theirs.'),
      formActions(h('button', { type: 'submit' }, 'Discharge')));
    const writeId = crypto.randomUUID();
    onSubmit(form, async (button) => {
      await post(`/api/v1/enrollments/${e.id}/discharge`, { id: writeId, discharged_on: form.discharged_on.value, reason: form.reason.value, summary: form.summary.value.trim() });
      say(button, `${e.client.display_name} was discharged.`);
      redraw();
    });
    return form;
  }));
  const counselorButton = h('button', { type: 'button', class: 'secondary' }, e.primary_counselor ? 'Change counselor' : 'Name a counselor');
  counselorButton.addEventListener('click', () => open(`${e.client.display_name}: primary counselor`, () => {
    const form = h('form', { id: `counselor-${e.id}`, novalidate: true },
      field('Primary counselor', { name: 'primary_counselor_id', id: `f-counselor-${e.id}`, tag: 'select', options: counselors.map((u) => [String(u.id), u.display_name]) }),
      formActions(h('button', { type: 'submit' }, 'Save')));
    onSubmit(form, async (button) => {
      const saved = await patch(`/api/v1/enrollments/${e.id}`, { primary_counselor_id: Number(form.primary_counselor_id.value) });
      say(button, `${saved.primary_counselor.display_name} now carries ${e.client.display_name}'s case.`);
      redraw();
    });
    return form;
  }));
  // Claims name the date of birth (the billing export): the admin or a treating counselor.
  const birthButton = h('button', { type: 'button', class: 'secondary' }, 'Date of birth');
  birthButton.addEventListener('click', () => open(`${e.client.display_name}: date of birth`, () => {
    const form = h('form', { id: `birth-${e.id}`, novalidate: true },
      field('Date of birth', { name: 'birth_date', id: `f-birth-${e.id}`, type: 'date', value: e.birth_date || '', max: todayIn(program?.timezone) }),
      h('p', { class: 'muted' }, 'Billing claims name it. Leave it empty to erase a wrong one.'),
      formActions(h('button', { type: 'submit' }, 'Save date of birth')));
    onSubmit(form, async (button) => {
      const saved = await api('PUT', `/api/v1/clients/${e.client.id}/birth-date`, { birth_date: form.birth_date.value || null });
      say(button, saved.birth_date ? `${e.client.display_name}'s date of birth is recorded: ${saved.birth_date}.`
        : `${e.client.display_name}'s date of birth is erased.`);
      redraw();
    });
    return form;
  }));
  li.append(h('div', { class: 'form-actions' }, phaseButton, dischargeButton,
    me.role === 'admin' ? counselorButton : null, birthButton));
  return li;
}

export async function enrollmentsView(me) {
  if (me.role !== 'admin' && me.role !== 'counselor') return page('Admissions', h('p', {}, 'Admissions are for the program\'s staff.'));
  const admin = me.role === 'admin';
  const [{ items: programs }, { items: clients }, { items: counselors }] = await Promise.all([
    get('/api/v1/programs?limit=100'),
    admin ? get('/api/v1/users?limit=200&role=client') : { items: [] },
    admin ? get('/api/v1/users?limit=200&role=counselor') : { items: [] }]);
  const list = h('ul', { class: 'list' });
  const admit = h('div');
  const redraw = async () => {
    const { items } = await get('/api/v1/enrollments?limit=200');
    list.replaceChildren(...items.map((e) => enrollmentRow(e, programs, me, redraw, counselors)));
    if (!items.length) list.append(h('li', { class: 'muted' }, 'Nobody is enrolled yet.'));
    if (admin) admit.replaceChildren(admitForm(items));
  };
  // Clients enrolled nowhere now (a client invited into a program is enrolled already: name
  // their counselor on their row).
  const admitForm = (enrolments) => {
    const enrolled = new Set(enrolments.filter((e) => e.active).map((e) => e.client.id));
    const free = clients.filter((u) => !enrolled.has(u.id));
    const form = h('form', { class: 'card', novalidate: true }, h('h2', {}, 'Admit a client'),
      field('Client', { name: 'client_id', tag: 'select', options: free.map((u) => [String(u.id), u.display_name]) }),
      field('Program', { name: 'program_id', tag: 'select', options: programs.map((p) => [String(p.id), p.name]) }),
      field('Primary counselor', { name: 'primary_counselor_id', tag: 'select', options: counselors.map((u) => [String(u.id), u.display_name]) }),
      field('Start date', { name: 'start_date', type: 'date', value: todayIn(programs[0]?.timezone) }),
      field('Date of birth (optional: billing claims name it)', { name: 'birth_date', type: 'date', max: todayIn(programs[0]?.timezone) }),
      formActions(h('button', { type: 'submit' }, 'Admit')));
    if (!free.length || !counselors.length || !programs.length) form.querySelector('button').disabled = true;
    const writeId = crypto.randomUUID(); // the form is made again after each admission
    onSubmit(form, async (button) => {
      const made = await post('/api/v1/enrollments', {
        id: writeId, client_id: Number(form.client_id.value), program_id: Number(form.program_id.value),
        primary_counselor_id: Number(form.primary_counselor_id.value), start_date: form.start_date.value,
        birth_date: form.birth_date.value || undefined,
      });
      await redraw();
      say(admit.querySelector('button[type="submit"]'), `${made.client.display_name} is admitted, with ${made.primary_counselor.display_name} as primary counselor.`);
    });
    return form;
  };
  await redraw();
  return page('Admissions and discharges', h('div', { class: 'card' }, h('h2', {}, 'Clients'), list), admit);
}
