// Joining a session by phone (docs/dial-in.md): the client's number and PIN on their home
// screen, and the "Reset phone PIN" button on a client's record page for their counselor.
import { get, post, ApiError } from '../api.js';
import { h, say, formActions, telHref } from '../dom.js';
import { cachedGet } from '../offline.js';

// "13572468" read as "1357 2468": easier to key from a glance.
function spaced(pin) {
  return pin.replace(/(\d{4})(?=\d)/g, '$1 ');
}

// A client's card, when their program offers dial-in (else nothing). Kept on the phone
// (encrypted, as the sessions list): a client with no data signal is who needs it most.
export async function dialInCard(me) {
  let answer;
  try {
    answer = await cachedGet('/api/v1/me/dial-in', `dial-in:${me.id}`);
  } catch (err) {
    return null; // 404: no dial-in for this client; offline and never seen: nothing to show
  }
  const { number, pin } = answer.data;
  return h('div', { class: 'card dial-in', 'aria-labelledby': 'dial-in-title' },
    h('h2', { id: 'dial-in-title' }, 'Join by phone'),
    h('p', {}, 'Call ', h('a', { href: telHref(number) }, number), ', then key ',
      h('strong', { class: 'pin' }, spaced(pin)), ' and #.'),
    h('p', { class: 'muted' }, 'For when the app cannot connect: you join your session by voice, and someone lets you in. Your PIN is yours alone.'));
}

// On a client's record page, for the staff who treat them: a new PIN when the old one was
// shared or forgotten. Shown only when the client's program offers dial-in.
export async function resetPinCard(clientId, clientName) {
  const enrolment = await get(`/api/v1/enrollments?client_id=${clientId}&active=true`)
    .then((page) => page.items[0]).catch(() => null);
  const program = enrolment ? await get(`/api/v1/programs/${enrolment.program_id}`).catch(() => null) : null;
  if (!program || !program.dial_in_enabled) return null;
  const button = h('button', { type: 'button', class: 'secondary' }, 'Reset phone PIN');
  const card = h('div', { class: 'card' }, h('h2', {}, 'Joining by phone'),
    h('p', { class: 'muted' }, `${clientName} can join sessions by calling in with a PIN. A new PIN stops the old one at once.`),
    ...formActions(button));
  button.addEventListener('click', async () => {
    if (!window.confirm(`Give ${clientName} a new phone PIN? Their current PIN stops working at once.`)) return;
    button.disabled = true;
    try {
      const { number, pin } = await post(`/api/v1/users/${clientId}/dial-in-pin`);
      say(button, `${clientName}'s new phone PIN is ${spaced(pin)}. Their old PIN no longer works: tell them the new one (they also see it on their home screen) and the number, ${number}.`);
    } catch (err) {
      say(button, err instanceof ApiError ? err.message : 'The PIN could not be reset. Try again.', 'error');
    } finally {
      button.disabled = false;
    }
  });
  return card;
}
