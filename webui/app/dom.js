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

// Shows a problem+json's field errors next to their inputs, and its detail at the top.
export function showProblem(form, problem) {
  form.querySelectorAll('.field-error').forEach((p) => { p.textContent = ''; });
  form.querySelectorAll('[aria-invalid]').forEach((i) => i.removeAttribute('aria-invalid'));
  const box = form.querySelector('.error') || form.prepend(h('p', { class: 'error', role: 'alert' })) || form.querySelector('.error');
  box.textContent = problem.detail || problem.title || 'Something went wrong.';
  for (const err of problem.errors || []) {
    const input = form.querySelector(`[name="${CSS.escape(err.field)}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      const p = form.querySelector(`#${CSS.escape(input.id)}-error`);
      if (p) p.textContent = err.message;
    }
  }
}

export function clearProblem(form) {
  form.querySelector('.error')?.remove();
  form.querySelectorAll('.field-error').forEach((p) => { p.textContent = ''; });
}

export function formatWhen(iso, timeZone) {
  const d = new Date(iso);
  return d.toLocaleString([], {
    weekday: 'short', month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit',
    timeZone,
  });
}

// A phone number as a link that dials it (spaces and dashes dropped; '#' escaped, as tel: needs).
export function telHref(phone) {
  return `tel:${phone.replace(/[^0-9+*#]/g, '').replace(/#/g, '%23')}`;
}
