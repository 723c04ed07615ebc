// Building DOM without innerHTML: text is always text, so names and notes cannot inject markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else if (key === 'dataset') {
      Object.assign(el.dataset, value);
    } else if (value === true) {
      el.setAttribute(key, '');
    } else {
      el.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// A labelled form field; errors are tied to it with aria-describedby.
export function field(label, inputAttrs) {
  const id = inputAttrs.id || `f-${inputAttrs.name}`;
  const errorId = `${id}-error`;
  const tag = inputAttrs.tag || 'input';
  const { tag: _tag, options, ...attrs } = inputAttrs;
  const input = h(tag, { ...attrs, id, 'aria-describedby': errorId },
    ...(options || []).map(([value, text]) => h('option', { value }, text)));
  return h('div', { class: 'field' },
    h('label', { for: id }, label), input, h('p', { class: 'field-error', id: errorId }));
}

// Messages go where the person is looking: right after the buttons they pressed (a form's
// .form-actions row), in a live region so screen readers announce them, and tied to those
// buttons by aria-describedby so focusing one reads it again.
let slots = 0;
function messageSlot(near) {
  const row = near.closest('.form-actions') || near;
  if (row.nextElementSibling?.classList.contains('said')) return row.nextElementSibling;
  const slot = h('div', { class: 'said', id: `said-${++slots}`, 'aria-live': 'polite' });
  row.after(slot);
  for (const b of row.matches('button, a') ? [row] : row.querySelectorAll('button, a')) {
    const ids = (b.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    b.setAttribute('aria-describedby', [...ids, slot.id].join(' '));
  }
  return slot;
}

// kind: 'success', 'notice' (saved on the phone, waiting) or 'error' (announced at once).
// More nodes (a support card) may follow the sentence.
export function say(near, text, kind = 'success', ...more) {
  const slot = messageSlot(near);
  // An alert announces itself; the polite region would read it a second time.
  slot.setAttribute('aria-live', kind === 'error' ? 'off' : 'polite');
  slot.replaceChildren(h('p', { class: kind, role: kind === 'error' ? 'alert' : 'status' }, text), ...more.filter(Boolean));
  // A button at the bottom edge of the screen: bring the message up into sight.
  slot.scrollIntoView({ block: 'nearest' });
  return slot;
}

// A form's buttons, with the place their messages will appear already in the page (a live
// region must exist before it changes for every screen reader to announce the change).
export function formActions(...buttons) {
  const row = h('div', { class: 'form-actions' }, ...buttons);
  const holder = h('div', {}, row);
  messageSlot(row);
  return [...holder.childNodes];
}

// The message line under an input: the .field-error among what describes it.
function errorSlot(input) {
  const ids = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  return ids.map((id) => input.form?.querySelector(`#${CSS.escape(id)}`) || document.getElementById(id))
    .find((el) => el?.classList.contains('field-error')) || null;
}

// Marks an input (a whole radio or checkbox group) as at fault, with the message under it.
function markField(input, message) {
  const group = input.type === 'radio' || input.type === 'checkbox'
    ? input.form?.querySelectorAll(`[name="${CSS.escape(input.name)}"]`) : null;
  (group ? [...group] : [input]).forEach((i) => i.setAttribute('aria-invalid', 'true'));
  const slot = errorSlot(input);
  if (slot) slot.textContent = message;
}

// Shows a problem+json where the person is: each field error under its field (the first one is
// scrolled to and focused), the detail next to the button they pressed. `fields` maps an
// error's field to its input when the name alone does not find it (rows of a list).
export function showProblem(form, problem, { near = null, fields = null } = {}) {
  clearProblem(form);
  let first = null;
  for (const err of problem.errors || []) {
    const input = fields?.(err.field) || form.querySelector(`[name="${CSS.escape(err.field)}"]`);
    if (!input) continue;
    markField(input, err.message);
    first ??= input;
  }
  const text = problem.detail || problem.title || 'Something went wrong. Please try again.';
  const button = near || form.querySelector('button[type="submit"]') || form.querySelector('button');
  if (button) say(button, text, 'error');
  else form.prepend(h('p', { class: 'error', role: 'alert' }, text));
  if (first) {
    (first.closest('fieldset, .field') || first).scrollIntoView({ block: 'center' });
    first.focus({ preventScroll: true });
  }
}

export function clearProblem(form) {
  form.querySelectorAll(':scope > .error').forEach((el) => el.remove());
  form.querySelectorAll('.said').forEach((el) => el.replaceChildren());
  form.querySelectorAll('.field-error').forEach((p) => { p.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((i) => i.removeAttribute('aria-invalid'));
}

// Times everywhere follow the person's locale (6:30 PM in the US, 18:30 in most of Europe) and
// say their zone (6:30 PM CST), so a time is never read in the wrong one. A range names it once:
// formatTime(start, zone, { zoneName: false }) + '–' + formatTime(end, zone).
export function formatTime(iso, timeZone, { weekday = null, zoneName = true } = {}) {
  return new Date(iso).toLocaleTimeString([], {
    weekday: weekday || undefined, hour: 'numeric', minute: '2-digit', timeZone,
    timeZoneName: zoneName ? 'short' : undefined,
  });
}

export function formatWhen(iso, timeZone, { zoneName = true } = {}) {
  const d = new Date(iso);
  return d.toLocaleString([], {
    weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
    timeZone, timeZoneName: zoneName ? 'short' : undefined,
  });
}

// "Thu, Dec 3, 5:30 – 6:30 PM CST": a stretch of time, the day and zone said once.
export function formatRange(startIso, endIso, timeZone) {
  return new Intl.DateTimeFormat([], {
    weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
    timeZone, timeZoneName: 'short',
  }).formatRange(new Date(startIso), new Date(endIso));
}

// A phone number as a link that dials it (spaces and dashes dropped; '#' escaped, as tel: needs).
export function telHref(phone) {
  return `tel:${phone.replace(/[^0-9+*#]/g, '').replace(/#/g, '%23')}`;
}
