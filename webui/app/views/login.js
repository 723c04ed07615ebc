import { post, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem } from '../dom.js';
import { signedIn } from '../app.js';

// Staff sign in with a second factor: asked for once the server answers otp_required.
const CODE_LABEL = '6-digit code from your authenticator app';

export function loginView({ notice } = {}) {
  const actions = h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Log in'));
  const status = h('p', { class: 'notice', role: 'status' }, notice || '');
  const form = h('form', { class: 'card', novalidate: true },
    status,
    field('Email', { name: 'email', type: 'email', autocomplete: 'username', required: true }),
    field('Password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
    actions,
  );
  if (!notice) status.hidden = true;
  let codeField = null;
  const askForCode = (message) => {
    if (!codeField) {
      codeField = field(CODE_LABEL, {
        name: 'otp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
        pattern: '[0-9 ]*', maxlength: 7, required: true,
      });
      actions.before(codeField);
    }
    status.textContent = message;
    status.hidden = false;
    form.otp.value = '';
    form.otp.focus();
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    const button = form.querySelector('button');
    button.disabled = true;
    try {
      const body = { email: form.email.value, password: form.password.value };
      if (codeField) body.otp = form.otp.value.replace(/\s/g, '');
      const data = await post('/api/v1/auth/login', body);
      await signedIn(data);
    } catch (err) {
      const problem = err instanceof ApiError ? err.problem : { detail: String(err) };
      if (problem.code === 'otp_required') {
        askForCode(problem.detail);
      } else if (problem.code === 'otp_invalid') {
        showProblem(form, problem);
        form.otp.value = '';
        form.otp.focus();
      } else {
        showProblem(form, problem);
        codeField?.remove();
        codeField = null;
        status.hidden = true;
        form.password.value = '';
        form.password.focus();
      }
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
