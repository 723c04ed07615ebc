// Joining a session by phone (docs/dial-in.md): the client's number and PIN on their home
// screen; on a client's record page, for their counselor, the "Reset phone PIN" button and
// the client's own phone number; in a session's room, the counselor's calls to clients' phones.
import { get, post, put, ApiError } from '../api.js';
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

// The client's program (its dial-in switches), or null: no active enrolment, or not readable.
export async function clientProgram(clientId) {
  const enrolment = await get(`/api/v1/enrollments?client_id=${clientId}&active=true`)
    .then((page) => page.items[0]).catch(() => null);
  return enrolment ? get(`/api/v1/programs/${enrolment.program_id}`).catch(() => null) : null;
}

// The record page's dial-in cards (the program's asked for once), those this program offers.
export async function clientDialInCards(clientId, clientName) {
  const program = await clientProgram(clientId);
  const cards = await Promise.all([
    resetPinCard(clientId, clientName, program),
    phoneNumberCard(clientId, clientName, program),
  ]);
  return cards.filter(Boolean);
}

// On a client's record page, for the staff who treat them: a new PIN when the old one was
// shared or forgotten. Shown only when the client's program offers dial-in.
export async function resetPinCard(clientId, clientName, known = undefined) {
  const program = known === undefined ? await clientProgram(clientId) : known;
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

// On a client's record page, for the staff who treat them, when the program lets counselors
// call clients' phones into a session: the client's own number, written as people write it.
// A 404 (not theirs to see) shows nothing.
export async function phoneNumberCard(clientId, clientName, known = undefined) {
  const program = known === undefined ? await clientProgram(clientId) : known;
  if (!program || !program.dial_in_enabled || !program.outbound_calls_allowed) return null;
  let onFile;
  try {
    onFile = await get(`/api/v1/users/${clientId}/phone-number`);
  } catch (err) {
    return null;
  }
  const current = h('p', { id: 'client-phone-on-file' });
  const input = h('input', {
    id: 'client-phone', name: 'number', type: 'tel', inputmode: 'tel', autocomplete: 'off',
    maxlength: 40, 'aria-describedby': 'client-phone-error client-phone-hint',
  });
  const fieldError = h('p', { class: 'field-error', id: 'client-phone-error' });
  const hint = h('p', { class: 'muted', id: 'client-phone-hint' }, 'With its area code, such as (555) 555-0123; a number outside the US with + and its country code.');
  const save = h('button', { type: 'submit' }, 'Save number');
  const erase = h('button', { type: 'button', class: 'secondary' }, 'Erase number');
  const form = h('form', { novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'client-phone' }, `${clientName}'s phone number`), input, fieldError, hint),
    ...formActions(save, erase));
  const card = h('div', { class: 'card', 'aria-labelledby': 'client-phone-title' },
    h('h2', { id: 'client-phone-title' }, 'Phone number'),
    h('p', { class: 'muted' }, `When ${clientName}'s app will not connect, their counselor can have Companion call this number from the session's room; whoever answers keys ${clientName}'s PIN to come in.`),
    current, form);

  const draw = (shown) => {
    current.replaceChildren(...(shown ? ['On file: ', h('strong', {}, shown)] : ['No phone number on file.']));
    input.value = shown || '';
    erase.hidden = !shown;
  };
  // The error says what the hint says, and more: the hint steps aside while it shows.
  const wrong = (message) => {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', 'client-phone-error');
    hint.hidden = true;
    fieldError.textContent = message;
    input.focus();
  };
  const clear = () => {
    input.removeAttribute('aria-invalid');
    input.setAttribute('aria-describedby', 'client-phone-error client-phone-hint');
    hint.hidden = false;
    fieldError.textContent = '';
    form.querySelector('.said')?.replaceChildren();
  };
  const write = async (number, button, done) => {
    clear();
    save.disabled = true;
    erase.disabled = true;
    try {
      const stored = await put(`/api/v1/users/${clientId}/phone-number`, { number });
      draw(stored.shown);
      say(button, done(stored.shown));
    } catch (err) {
      const problem = err instanceof ApiError ? err.problem : {};
      const about = (problem.errors || []).find((e) => e.field === 'number');
      // The sentence goes under the field when it is about what was written, else by the button.
      if (about) wrong(about.message);
      else say(button, err instanceof ApiError ? err.message : 'The number could not be saved. Try again.', 'error');
    } finally {
      save.disabled = false;
      erase.disabled = false;
    }
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (!input.value.trim()) {
      // An empty Save would erase the number on the server: erasing is the other button.
      clear();
      wrong(`Write ${clientName}'s phone number with its area code, such as (555) 555-0123.`);
      return;
    }
    write(input.value, save, (shown) => `Saved: Companion can call ${clientName} at ${shown} when their counselor calls them into a session.`);
  });
  erase.addEventListener('click', () => {
    if (!window.confirm(`Erase ${clientName}'s phone number? Companion can then no longer call ${clientName} into a session.`)) return;
    write(null, erase, () => `Erased: ${clientName}'s phone number is no longer on file, so Companion cannot call ${clientName} into a session.`);
  });
  draw(onFile.shown);
  return card;
}

// --- calling a client's phone from a session's room ------------------------------------------

const POLL_MS = 10000;

// A counselor's "Call a client's phone" section of a room (room.js builds it on entering): the
// session's clients they can call, and the calls made, each as the sentence the server writes.
// It shows only once GET /sessions/{id}/phone-calls answers: a 404 (the program does not allow
// calls, or no line) leaves nothing on the page. Steps come as `phone_call` events; while a call
// is under way the list is also asked for again every few seconds: a call the line never takes
// is marked so only when the list is read, and a step the line's process published while the
// message queue (Redis) was cut off never reaches this page (steps are not replayed).
export class RoomPhoneCalls {
  constructor(sessionId) {
    this.sessionId = sessionId;
    this.callButtons = new Map(); // user id -> its row
    this.callRows = new Map(); // call id -> its row
    this.placing = new Set(); // user ids whose call is being asked for
    this.underWay = new Set(); // user ids with a call under way
    this.clientIds = new Map(); // user id -> name (for focus after a cancel)
    this.callable = h('ul', { class: 'list', 'aria-label': 'Clients you can call' });
    this.nobody = h('p', { class: 'muted', hidden: true }, 'Nobody to call now: a client of this session shows here when they have a phone number on file and are not in the room.');
    this.said = h('div', { class: 'said', 'aria-live': 'polite' });
    this.calls = h('ul', { class: 'list', 'aria-label': 'Phone calls', 'aria-live': 'polite' });
    this.callsTitle = h('h3', { hidden: true }, 'Calls');
    this.heading = h('h2', { id: `phone-calls-${sessionId}`, tabindex: '-1' }, "Call a client's phone");
    this.el = h('section', { class: 'phone-calls', hidden: true, 'aria-labelledby': this.heading.id },
      this.heading,
      h('p', { class: 'muted' }, 'For a client whose app will not connect: Companion calls the number on their record page, and they key their PIN to come in.'),
      this.callable, this.nobody, this.said, this.callsTitle, this.calls);
    this.gone = false;
    this.running = null;
    this.again = false;
  }

  // Reads the list again; calls made while one read is on its way are folded into one more.
  refresh() {
    if (this.gone) return Promise.resolve();
    if (this.running) { this.again = true; return this.running; }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          this.draw(await get(`/api/v1/sessions/${this.sessionId}/phone-calls`));
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) { this.el.hidden = true; this.dispose(); return; }
          // Offline or a server error: what is shown stays, and the next step reads again.
        }
      } while (this.again && !this.gone);
    })().finally(() => { this.running = null; this.schedule(); });
    return this.running;
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.gone && this.underWay.size) this.timer = setTimeout(() => this.refresh(), POLL_MS);
  }

  dispose() {
    this.gone = true;
    clearTimeout(this.timer);
  }

  // A `phone_call` event: the step at once, then whom one can call now.
  onCall(call) {
    if (this.gone || call.session_id !== this.sessionId) return;
    this.drawCall(call);
    this.markUnderWay();
    this.refresh();
  }

  draw({ callable, calls }) {
    this.el.hidden = false;
    const keep = new Set(callable.map((p) => p.user_id));
    for (const [id, li] of this.callButtons) if (!keep.has(id)) { li.remove(); this.callButtons.delete(id); }
    // Alphabetical, as the server sends them; rows kept keep their button (and its focus).
    let before = null;
    for (const person of [...callable].reverse()) {
      this.clientIds.set(person.user_id, person.display_name);
      let li = this.callButtons.get(person.user_id);
      if (!li) {
        const button = h('button', { type: 'button', class: 'secondary' }, `Call ${person.display_name}'s phone`);
        button.addEventListener('click', () => this.place(person));
        li = h('li', { class: 'row', dataset: { userId: String(person.user_id) } },
          h('bdi', {}, person.display_name), button);
        this.callButtons.set(person.user_id, li);
      }
      // Moved only when out of place: a button moved loses the keyboard's focus.
      if (li.parentNode !== this.callable || li.nextSibling !== before) this.callable.insertBefore(li, before);
      before = li;
    }
    this.nobody.hidden = callable.length > 0;
    // A row drawn from an event is updated in place.
    const ids = new Set(calls.map((c) => c.id));
    for (const [id, li] of this.callRows) if (!ids.has(id)) { li.remove(); this.callRows.delete(id); }
    for (const call of [...calls].reverse()) this.drawCall(call);
    this.markUnderWay();
  }

  drawCall(call) {
    let li = this.callRows.get(call.id);
    if (!li) {
      li = h('li', { class: 'row', dataset: { callId: String(call.id) } }, h('span', { class: 'who' }));
      this.callRows.set(call.id, li);
      // Latest first; rows in place stay (and keep their focus).
      const later = [...this.calls.children].find((row) => Number(row.dataset.callId) < call.id);
      this.calls.insertBefore(li, later || null);
    }
    li.dataset.userId = String(call.user_id);
    li.dataset.state = call.state;
    li.dataset.underWay = call.under_way ? 'yes' : '';
    li.firstChild.textContent = call.text;
    const cancellable = call.under_way && call.state !== 'in_room';
    let cancel = li.querySelector('button');
    if (cancellable && !cancel) {
      const name = this.clientIds.get(call.user_id);
      cancel = h('button', { type: 'button', class: 'secondary', 'aria-label': name ? `Cancel call to ${name}'s phone` : null }, 'Cancel call');
      cancel.addEventListener('click', () => this.cancel(call.id, call.user_id, cancel));
      li.append(cancel);
    } else if (!cancellable && cancel) {
      const hadFocus = document.activeElement === cancel;
      cancel.remove();
      if (hadFocus) this.focusAfter(call.user_id);
    }
    this.callsTitle.hidden = false;
  }

  markUnderWay() {
    this.underWay = new Set([...this.callRows.values()].filter((li) => li.dataset.underWay)
      .map((li) => Number(li.dataset.userId)));
    for (const [id, li] of this.callButtons) {
      const button = li.querySelector('button');
      const busy = this.placing.has(id) || this.underWay.has(id);
      // aria-disabled, not disabled: a button pressed keeps the keyboard's focus.
      if (busy) button.setAttribute('aria-disabled', 'true'); else button.removeAttribute('aria-disabled');
    }
    this.schedule();
  }

  async place(person) {
    // Pressed twice, or while a call to them is under way: one call (the server says 409 too).
    if (this.placing.has(person.user_id) || this.underWay.has(person.user_id)) return;
    this.placing.add(person.user_id);
    this.markUnderWay();
    this.said.replaceChildren();
    try {
      const call = await post(`/api/v1/sessions/${this.sessionId}/phone-calls`, { user_id: person.user_id });
      this.drawCall(call);
    } catch (err) {
      this.say(err instanceof ApiError ? err.message : `${person.display_name}'s phone could not be called. Try again.`);
    } finally {
      this.placing.delete(person.user_id);
      this.markUnderWay();
      this.refresh();
    }
  }

  async cancel(callId, userId, button) {
    if (button.getAttribute('aria-disabled')) return;
    button.setAttribute('aria-disabled', 'true');
    this.said.replaceChildren();
    try {
      this.drawCall(await post(`/api/v1/sessions/${this.sessionId}/phone-calls/${callId}/cancel`));
      this.markUnderWay();
    } catch (err) {
      button.removeAttribute('aria-disabled');
      this.say(err instanceof ApiError ? err.message : 'The call could not be cancelled. Try again.');
    }
    this.refresh();
  }

  say(text) {
    this.said.replaceChildren(h('p', { class: 'error', role: 'alert' }, text));
  }

  // The cancel button that had the focus is gone: the client's call button, or the heading.
  focusAfter(userId) {
    const button = this.callButtons.get(userId)?.querySelector('button');
    (button || this.heading).focus();
  }
}
