import { post, ApiError } from '../api.js';
import { h, field, showProblem, clearProblem } from '../dom.js';
import { signedIn } from '../app.js';

// Each role with its article, as the invitation's sentence says it.
const AS_ROLE = {
  client: 'a client', counselor: 'a counselor', peer_supporter: 'a peer supporter',
  admin: 'a program admin', family: 'a family member',
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
  const again = invitation.purpose === 'mfa_reset';
  const who = invitation.invited_by ? `${invitation.invited_by} invited you` : 'You are invited';
  const as = AS_ROLE[invitation.role] ? ` as ${AS_ROLE[invitation.role]}` : '';
  const form = h('form', { class: 'card', novalidate: true },
    again
      ? h('p', {}, `Your sign-in code for ${invitation.clinic} was reset. Set up your authenticator app again for ${invitation.email}.`)
      : h('p', {}, `${who} to ${invitation.clinic}${as}, with the address ${invitation.email}.`),
    again ? null : field('What should people call you? (a first name or a nickname)', {
      name: 'display_name', autocomplete: 'nickname', value: invitation.display_name, maxlength: 80, required: true,
    }),
    again
      ? field('Your password', { name: 'password', type: 'password', autocomplete: 'current-password', required: true })
      : field('Choose a password (at least 8 characters)', {
        name: 'password', type: 'password', autocomplete: 'new-password', minlength: 8, required: true,
      }),
    invitation.mfa ? secondFactor(invitation.mfa) : null,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit' }, again ? 'Turn on my sign-in code' : 'Create my account')),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearProblem(form);
    try {
      const data = await post('/api/v1/invitations/accept', {
        token,
        password: form.password.value,
        display_name: form.display_name ? form.display_name.value : '',
        ...(invitation.mfa ? { otp: form.otp.value.replace(/\s/g, '') } : {}),
      });
      history.replaceState({}, '', '/home');
      await signedIn(data);
    } catch (err) {
      showProblem(form, err.problem || { detail: String(err) });
    }
  });
  return h('section', {}, h('h1', {}, again ? 'Set up your sign-in code' : 'Welcome to Companion'), form);
}

// Staff enrol a TOTP second factor: the QR code (an SVG image: it cannot run script) and the
// same key as text, then a code from the app proves it holds the key.
function secondFactor(mfa) {
  const grouped = mfa.secret.match(/.{1,4}/g).join(' ');
  return h('fieldset', { class: 'second-factor' },
    h('legend', {}, 'Your sign-in code'),
    h('p', {}, 'Staff sign in with their password and a 6-digit code from an authenticator app on their phone (for example FreeOTP, Google Authenticator or Microsoft Authenticator). Scan this QR code with the app:'),
    h('img', {
      src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(mfa.qr_svg)}`,
      alt: 'QR code of your sign-in key', width: 196, height: 196, class: 'qr',
    }),
    h('p', {}, 'Or type this key into the app: ', h('code', { class: 'mfa-secret', 'data-secret': mfa.secret }, grouped)),
    field('6-digit code the app shows now', {
      name: 'otp', type: 'text', inputmode: 'numeric', autocomplete: 'one-time-code',
      pattern: '[0-9 ]*', maxlength: 7, required: true,
    }),
  );
}
