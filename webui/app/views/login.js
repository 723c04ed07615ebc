import { post, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem } from '../dom.js';
import { signedIn } from '../app.js';

export function loginView({ notice } = {}) {
  const form = h('form', { class: 'card', novalidate: true },
    notice ? h('p', { class: 'notice', role: 'status' }, notice) : null,
    field('Email', { name: 'email', type: 'email', autocomplete: 'username', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Log in')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const data = await post('/api/v1/auth/login', {
        email: form.email.value, password: form.password.value,
      });
      await signedIn(data);
    } catch (err) {
      showProblem(form, err instanceof ApiError ? err.problem : { detail: String(err) });
      form.password.value = '';
      form.password.focus();
    } finally {
      button.disabled = false;
    }
  });
  // While the person types, fetch the home page's code so it draws right after login.
  setTimeout(() => { import('./home.js').catch(() => {}); }, 500);
  return h('section', {},
    h('h1', {}, 'Log in'),
    form,
    h('p', { class: 'muted' }, 'New here? Use the invitation link your program sent you.'),
  );
}
