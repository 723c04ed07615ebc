// The Stanley-Brown safety plan: six steps, readable offline (an encrypted copy on the phone),
// edited by the client or their counselor.
import { get, put, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem, formatWhen, formActions, telHref } from '../dom.js';
import { startOffline, cachedGet, putCache } from '../offline.js';

function readStep(step, plan) {
  const items = plan[step.key] || [];
  let body;
  if (!items.length) body = h('p', { class: 'muted' }, 'Nothing written yet.');
  else if (step.kind === 'contacts') {
    body = h('ul', { class: 'list' }, items.map((c) => h('li', { class: 'row' },
      h('span', {}, c.name), c.phone ? h('a', { class: 'btn', href: telHref(c.phone) }, `Call ${c.phone}`) : null)));
  } else body = h('ul', {}, items.map((line) => h('li', {}, line)));
  return h('div', { class: 'card plan-step' },
    h('h2', {}, h('span', { class: 'num', 'aria-hidden': 'true' }, step.number), h('span', {}, `Step ${step.number}: ${step.title}`)),
    h('p', { class: 'hint' }, step.prompt), body,
    step.key === 'professionals'
      ? h('p', {}, 'Crisis lines, any time: ', h('a', { href: '#crisis' }, 'Get help now (988 and more)'))
      : null);
}

function contactRows(step, items) {
  const list = h('div', {});
  const addRow = (c = { name: '', phone: '' }) => {
    const n = list.children.length + 1;
    list.append(h('div', { class: 'contact-row' },
      field(`Name or place ${n}`, { name: `${step.key}.name`, id: `f-${step.key}-${n}-name`, value: c.name, maxlength: 100, autocomplete: 'off' }),
      field(`Phone ${n}`, { name: `${step.key}.phone`, id: `f-${step.key}-${n}-phone`, value: c.phone || '', type: 'tel', maxlength: 40, autocomplete: 'off' })));
  };
  (items.length ? items : [undefined]).forEach((c) => addRow(c));
  const more = h('button', { type: 'button', class: 'secondary' }, `Add another to step ${step.number}`);
  more.addEventListener('click', () => { addRow(); list.lastElementChild.querySelector('input').focus(); });
  return h('div', {}, list, more);
}

function editForm(plan, path, onSaved) {
  const { steps, reason_for_living: reason } = plan.steps;
  const form = h('form', { class: 'card', novalidate: true },
    steps.map((step) => h('fieldset', {},
      h('legend', {}, `Step ${step.number}: ${step.title}`),
      h('p', { class: 'hint' }, step.prompt),
      step.kind === 'contacts'
        ? contactRows(step, plan[step.key])
        : field('One per line', { name: step.key, id: `f-${step.key}`, tag: 'textarea', rows: 4 }))),
    field(reason.title, { name: 'reason_for_living', maxlength: 500 }),
    formActions(h('button', { type: 'submit' }, 'Save safety plan')));
  for (const step of steps) {
    if (step.kind !== 'contacts') form.querySelector(`#f-${step.key}`).value = (plan[step.key] || []).join('\n');
  }
  form.reason_for_living.value = plan.reason_for_living || '';
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const body = { reason_for_living: form.reason_for_living.value.trim(), version: plan.version };
    // Where each item of the body came from, so the server's "help_contacts.1.phone" or
    // "warning_signs.3" marks the very input at fault.
    const inputs = {};
    for (const step of steps) {
      if (step.kind === 'contacts') {
        const names = [...form.querySelectorAll(`[name="${step.key}.name"]`)];
        const phones = [...form.querySelectorAll(`[name="${step.key}.phone"]`)];
        body[step.key] = [];
        names.forEach((n, i) => {
          const contact = { name: n.value.trim(), phone: phones[i].value.trim() };
          if (!contact.name && !contact.phone) return;
          const at = `${step.key}.${body[step.key].length}`;
          Object.assign(inputs, { [at]: n, [`${at}.name`]: n, [`${at}.phone`]: phones[i] });
          body[step.key].push(contact);
        });
      } else {
        body[step.key] = form.querySelector(`#f-${step.key}`).value.split('\n').map((l) => l.trim()).filter(Boolean);
      }
    }
    const fieldOf = (path) => inputs[path] || form.querySelector(`[name="${CSS.escape(path.split('.')[0])}"]`);
    try {
      onSaved(await put(path, body));
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) }, { fields: fieldOf });
    }
  });
  return form;
}

// The plan as a block (the client's page and the counselor's view of a client).
export async function safetyPlanBlock(me, clientId = null) {
  const path = clientId ? `/api/v1/safety-plan?client_id=${clientId}` : '/api/v1/safety-plan';
  const block = h('div', { id: 'safety-plan' });
  let loaded;
  try {
    loaded = clientId ? { data: await get(path), offline: false }
      : await cachedGet(path, 'safety-plan');
  } catch (err) {
    block.append(h('p', { class: 'error', role: 'alert' }, err.message));
    return block;
  }
  const draw = (plan, offline) => {
    const edit = h('button', { type: 'button', disabled: offline || null }, plan.version ? 'Edit the plan' : 'Write the plan');
    edit.addEventListener('click', () => {
      block.replaceChildren(editForm(plan, path, (saved) => {
        if (!clientId) putCache('safety-plan', saved).catch(() => {});
        draw(saved, false);
        block.querySelector('.plan-updated')?.focus();
      }));
      block.querySelector('textarea, input')?.focus();
    });
    block.replaceChildren(...[
      offline ? h('p', { class: 'notice', role: 'status' }, 'You are offline: this is the copy kept on this phone.') : null,
      plan.updated_at
        ? h('p', { class: 'muted plan-updated', tabindex: '-1' }, `Last updated ${formatWhen(plan.updated_at, me.timezone)}${plan.updated_by ? ` by ${plan.updated_by}` : ''}.`)
        : h('p', { class: 'muted' }, 'Write your plan with your counselor. You can open it any time, even with no signal.'),
      plan.steps.steps.map((step) => readStep(step, plan)),
      plan.reason_for_living ? h('div', { class: 'card' }, h('h2', {}, plan.steps.reason_for_living.title), h('p', {}, plan.reason_for_living)) : null,
      h('div', { class: 'form-actions' }, edit),
    ].flat().filter(Boolean));
  };
  draw(loaded.data, loaded.offline);
  return block;
}

export async function safetyPlanView(me) {
  startOffline(me);
  return h('section', {}, h('h1', {}, 'My safety plan'), await safetyPlanBlock(me));
}
