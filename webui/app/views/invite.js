import { post, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem } from '../dom.js';
import { signedIn } from '../app.js';

const ROLE_NAMES = {
  client: 'client', counselor: 'counselor', peer_supporter: 'peer supporter', admin: 'program admin',
};

// The token arrives in the URL fragment, which never reaches a server log.
function tokenFromHash() {
  return new URLSearchParams(location.hash.slice(1)).get('token') || '';
}

export async function inviteView() {
  const token = tokenFromHash();
  let invitation;
  try {
    invitation = await post('/api/v1/invitations/preview', { token });
  } catch (err) {
    return h('section', {}, h('h1', {}, 'Invitation'),
      h('p', { class: 'error', role: 'alert' },
        err instanceof ApiError && err.status !== 0
          ? 'This invitation link is not valid any more. Ask your program for a new one.'
          : err.message));
  }
  const form = h('form', { class: 'card', novalidate: true },
    h('p', {}, `You are invited to ${invitation.clinic} as a ${ROLE_NAMES[invitation.role]}, with the address ${invitation.email}.`),
    field('What should people call you? (a first name or a nickname)', {
      name: 'display_name', autocomplete: 'nickname', value: invitation.display_name, maxlength: 80, required: true,
    }),
    field('Choose a password (at least 8 characters)', {
      name: 'password', type: 'password', autocomplete: 'new-password', minlength: 8, required: true,
    }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, 'Create my account')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const data = await post('/api/v1/invitations/accept', {
        token, password: form.password.value, display_name: form.display_name.value,
      });
      history.replaceState({}, '', '/home');
      await signedIn(data);
    } catch (err) {
      showProblem(form, err.problem || { detail: String(err) });
    }
  });
  return h('section', {}, h('h1', {}, 'Welcome to Companion'), form);
}
