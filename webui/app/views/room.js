// A live session room: waiting room, people, chat, hands, reactions, the check-in round and,
// for staff, moderation. Socket events are documented in docs/realtime.md.
import { io } from '../vendor/socket.io.esm.min.js';
import { get } from '../api.js';
import { h, formatRange } from '../dom.js';
import { Media } from '../media.js';

const LINK_TEXT = { video: 'video', audio_only: 'audio only', chat_only: 'chat only', phone: 'phone' };
// The server marks staff from their account's role, never from the name they chose, so a
// client named "Counselor Dana" gets no badge (docs/realtime.md).
const STAFF_TEXT = { counselor: 'Counselor', peer_supporter: 'Peer supporter' };
const CONNECT_REFUSED = {
  too_many_connections: 'Companion is open in too many tabs or windows with this login. Close one of them, then reload this page.',
};
const REACTIONS = ['👍', '❤️', '👏', '🙏', '😊', '💪'];
const ACK_TIMEOUT_MS = 8000;

// The socket of the open room page, closed when the user navigates away.
let current = null;

export function leaveRoom() {
  if (current) { current.close(); current = null; }
}
window.addEventListener('companion:navigate', leaveRoom);
window.addEventListener('companion:logout', leaveRoom);

export async function roomView(me, param) {
  leaveRoom();
  const sessionId = Number(param);
  const info = await findSession(sessionId);
  if (!info) {
    return h('section', {}, h('h1', {}, 'Session'),
      h('p', { class: 'error', role: 'alert' }, 'This session is not open to you.'),
      h('p', {}, h('a', { href: '/home' }, 'Back to home')));
  }
  const room = new Room(me, info);
  if (info.state === 'ended') {
    room.ended(info.ended_at); // nothing to connect to: say so, as those in the room saw it
  } else {
    current = room;
    room.connect();
  }
  return room.el;
}

// The session among those still to come, or else among the last days' (an ended one).
async function findSession(sessionId) {
  const { items } = await get('/api/v1/sessions?limit=200');
  const upcoming = items.find((s) => s.id === sessionId);
  if (upcoming) return upcoming;
  const day = (offset) => new Date(Date.now() + offset * 864e5).toISOString().slice(0, 10);
  const recent = await get(`/api/v1/sessions?from=${day(-2)}&to=${day(1)}&limit=200`);
  return recent.items.find((s) => s.id === sessionId) || null;
}

// "3:05 PM", in the person's time zone.
function clockTime(iso, timeZone) {
  return new Date(iso).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit', timeZone, timeZoneName: 'short' });
}

// "Thursday, December 3": the session's day, in the person's time zone.
function sessionDay(iso, timeZone) {
  return new Date(iso).toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', timeZone });
}

// Staff only: whose family a guest at the door is.
function familyOf(person) {
  return person.family_of ? h('span', { class: 'muted' }, ` · family of ${person.family_of}`) : null;
}

// Someone at the door by phone (docs/dial-in.md): marked, never with a number.
function byPhone(person) {
  return person.link === 'phone' ? [' ', h('span', { class: 'tag' }, 'phone')] : null;
}

class Room {
  constructor(me, info) {
    this.me = me;
    this.info = info;
    this.staff = info.role === 'staff';
    // A family member a client invited: no check-in round (the server never sends it either).
    this.guest = info.role === 'family';
    this.seen = new Set(); // events already drawn (replays may repeat)
    // Every event up to heldThrough is here or on its way (a replay follows the join's ack),
    // so a rejoin asks from there; events may arrive out of order around a replay, so held
    // keeps the seqs seen above it. null: not in the room yet (no history before entering).
    this.heldThrough = null;
    this.held = new Set();
    this.names = new Map();
    this.queue = [];
    this.knocking = new Map(); // staff: who knocked and is still waiting, id -> how to name them
    this.joinSeq = null; // the seq at which this page came in: later events are live
    this.build();
  }

  build() {
    this.status = h('p', { class: 'notice', role: 'status' }, 'Connecting…');
    this.knockBanner = h('p', { class: 'notice', role: 'alert', hidden: true });
    this.homeLink = h('p', { hidden: true }, h('a', { href: '/home' }, 'Back to home'));
    // The facilitating counselor writes the session's note once it is over (notes.js).
    this.noteLink = h('p', { hidden: true }, h('a', { class: 'btn', href: `/session-notes/${this.info.id}` },
      `Write the note of ${this.info.title} on ${sessionDay(this.info.starts_at, this.me.timezone)}`));
    // The round's form is far down a phone's page: say at the top that it is open.
    this.roundPrompt = h('p', { class: 'notice round-prompt', hidden: true },
      'The check-in round is open: share how you are, or pass. ',
      h('button', { type: 'button', class: 'link', onclick: () => this.goToRound() }, 'Go to the check-in round'));
    this.people = h('ul', { class: 'list', 'aria-label': 'People in the room' });
    this.waitingList = h('ul', { class: 'list', 'aria-label': 'Waiting to be admitted' });
    this.handsList = h('ol', { class: 'hands', 'aria-label': 'Raised hands in order' });
    this.chatLog = h('ol', { class: 'chat-log', 'aria-live': 'polite', 'aria-label': 'Chat messages' });
    this.chatInput = h('input', { id: 'chat-text', name: 'text', maxlength: 1000, autocomplete: 'off' });
    this.chatForm = h('form', { class: 'chat-form' },
      h('label', { for: 'chat-text' }, 'Message to the group'),
      h('div', { class: 'row' }, this.chatInput, h('button', { type: 'submit' }, 'Send')));
    this.chatForm.addEventListener('submit', (e) => { e.preventDefault(); this.sendChat(); });
    this.handButton = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' }, 'Raise hand');
    this.handButton.addEventListener('click', () => this.toggleHand());
    this.reactionBar = h('div', { class: 'reactions', role: 'group', 'aria-label': 'Reactions' },
      REACTIONS.map((emoji) => h('button', {
        type: 'button', class: 'secondary', 'aria-label': `React ${emoji}`,
        onclick: () => this.socket.emit('react', { session_id: this.info.id, emoji }),
      }, emoji)));
    this.reactionsShown = h('p', { class: 'muted', 'aria-live': 'polite' });
    this.round = h('div', { class: 'card', id: 'checkin-round', hidden: true });
    this.board = h('table', { class: 'board' },
      h('caption', {}, 'Check-in round'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Who'), h('th', { scope: 'col' }, 'Mood'),
        h('th', { scope: 'col' }, 'Craving'), h('th', { scope: 'col' }, 'Word'))),
      h('tbody'));
    this.staffTools = this.staff ? this.buildStaffTools() : null;
    this.media = new Media(this); // audio and video (media.js)
    this.inRoom = h('div', { hidden: true }, this.roundPrompt, this.media.el,
      h('div', { class: 'grid' },
        h('div', { class: 'card' }, h('h2', {}, 'In the room'), this.people,
          h('h3', {}, 'Raised hands'), this.handsList),
        h('div', { class: 'card' }, h('h2', {}, 'Chat'), this.chatLog, this.chatForm,
          h('div', { class: 'form-actions' }, this.handButton), this.reactionBar, this.reactionsShown)),
      this.round,
      this.staffTools);
    this.el = h('section', { class: 'room', dataset: { sessionId: String(this.info.id) } },
      h('h1', {}, this.info.title),
      h('p', { class: 'muted' }, `${formatRange(this.info.starts_at, this.info.ends_at, this.me.timezone)} · with ${this.info.counselor}`),
      this.status, this.knockBanner, this.noteLink, this.homeLink, this.inRoom);
  }

  buildStaffTools() {
    this.lockButton = h('button', { type: 'button', class: 'secondary' }, 'Lock room');
    this.lockButton.addEventListener('click', () => this.command('lock_room', { locked: !this.locked }));
    this.roundButton = h('button', { type: 'button', class: 'secondary' }, 'Start check-in round');
    this.roundButton.addEventListener('click', () => this.command(this.roundOpen ? 'checkin_round_end' : 'checkin_round_start'));
    const end = h('button', { type: 'button', class: 'danger' }, 'End session for everyone');
    end.addEventListener('click', () => { if (confirm('End this session for everyone?')) this.command('end_session'); });
    this.admitAllButton = h('button', { type: 'button' }, 'Admit all');
    this.admitAllButton.addEventListener('click', () => this.command('admit_all'));
    this.lockedNote = h('p', { class: 'notice', hidden: true }, 'The room is locked: nobody new gets in. Unlock it to admit the people waiting.');
    this.keptOutList = h('ul', { class: 'list', 'aria-label': 'Kept out by the lock' });
    // A counselor's calls to clients' phones (dialin.js), loaded on entering when allowed.
    this.phoneSlot = h('div', { hidden: true });
    this.keptOut = h('div', { hidden: true },
      h('h3', {}, 'Kept out by the lock'), this.keptOutList,
      h('p', { class: 'muted' }, 'Unlock the room to let them knock; then admit them from the waiting room.'));
    return h('div', { class: 'card staff-tools' },
      h('h2', {}, 'Waiting room'), this.lockedNote, this.waitingList,
      h('div', { class: 'form-actions' }, this.admitAllButton), this.keptOut,
      this.phoneSlot,
      h('h2', {}, 'Moderation'),
      h('div', { class: 'form-actions' }, this.roundButton, this.lockButton, end));
  }

  connect() {
    // Same-origin socket with the session cookie; reconnects by itself after a dropped link.
    this.socket = io({ transports: ['websocket', 'polling'], reconnectionDelayMax: 10000 });
    const s = this.socket;
    s.on('connect', () => this.join());
    s.on('disconnect', () => { if (!this.over) this.setStatus('Connection lost, reconnecting…'); });
    s.on('connect_error', (err) => {
      // A refusal by the server is final (the client does not retry it); anything else is
      // the network, and the client keeps trying.
      const refused = CONNECT_REFUSED[err?.message];
      this.setStatus(refused || 'Cannot reach the server, retrying…', Boolean(refused));
    });
    s.on('signed_out', () => { this.close(); location.assign('/login'); });
    for (const name of ['chat', 'chat_deleted', 'hand_raised', 'hand_lowered', 'admitted', 'muted',
      'unmuted', 'removed', 'room_locked', 'session_ended', 'checkin_round', 'checkin', 'checkin_detail']) {
      s.on(name, (data) => this.onEvent(name, data));
    }
    s.on('presence', (data) => { this.drawPresence(data.present); this.phoneCalls?.refresh(); });
    s.on('phone_call', (data) => this.phoneCalls?.onCall(data));
    s.on('waiting', (data) => this.drawWaiting(data.waiting));
    s.on('kept_out', (data) => this.drawKeptOut(data.kept_out));
    // The server lost its message queue to the other web processes for a while: ask again
    // for what may not have reached this socket (docs/realtime.md, "Message queue outages").
    s.on('resync', (data) => {
      if (data.session_id === this.info.id && this.heldThrough !== null && !this.over) this.join();
    });
    s.on('knock', (data) => {
      if (data.session_id !== this.info.id) return;
      const how = data.family_of ? ` (family of ${data.family_of})` : (data.link === 'phone' ? ' (by phone)' : '');
      this.knocking.set(data.user_id, `${data.name}${how}`);
      this.drawKnocks();
    });
    s.on('reaction', (data) => { this.reactionsShown.textContent = `${this.nameOf(data.user_id)} ${data.emoji}`; });
    s.on('error', (data) => this.setStatus(`Could not do that: ${data.detail || data.error}`, true));
    this.media.listen(s);
    this.heartbeat = setInterval(() => {
      if (document.visibilityState === 'visible') s.emit('heartbeat', {});
    }, 60000);
  }

  close() {
    clearInterval(this.heartbeat);
    this.phoneCalls?.dispose();
    this.media.dispose();
    this.socket?.close();
  }

  async join() {
    const payload = { session_id: this.info.id };
    // None the first time: the server then sends the whole session so far.
    if (this.heldThrough !== null) payload.last_seq = this.heldThrough;
    const ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('join_session', payload).catch(() => null);
    if (this.over) return null;
    if (!ack) return this.setStatus('The server did not answer; retrying…');
    if (!ack.ok) return this.refused(ack.error);
    this.keptOutByLock = false;
    if (ack.state === 'waiting') {
      this.setStatus('You are in the waiting room. Your counselor will let you in shortly.');
      this.inRoom.hidden = true;
    } else {
      this.joinSeq ??= ack.seq;
      this.advance(Math.max(this.heldThrough ?? 0, ack.seq));
      this.enterRoom();
    }
    return null;
  }

  advance(through) {
    while (this.held.has(through + 1)) through += 1;
    this.heldThrough = through;
  }

  enterRoom() {
    this.setStatus('');
    this.inRoom.hidden = false;
    this.media.entered();
    this.showPhoneCalls();
  }

  // Counselors only (a peer supporter never sees a client's number or calls it): the section
  // appears if the server lists calls for this room (a 404 otherwise: nothing shown). Read again
  // on every entry, since steps sent while the socket was away are not replayed.
  async showPhoneCalls() {
    if (!this.staff || this.me.role !== 'counselor' || this.over) return;
    if (!this.phoneCalls) {
      const module = await import('./dialin.js').catch(() => null); // offline: next entry
      if (!module || this.phoneCalls || this.over) return;
      const { RoomPhoneCalls } = module;
      this.phoneCalls = new RoomPhoneCalls(this.info.id);
      this.phoneSlot.replaceWith(this.phoneCalls.el);
    }
    this.phoneCalls.refresh();
  }

  refused(error) {
    if (error === 'ended') return this.ended(this.info.ended_at);
    // At the door of a locked room: staff see us; unlocking brings us to the waiting room.
    this.keptOutByLock = error === 'locked';
    const text = {
      locked: 'The room is locked. Your counselor can see that you are here: when they unlock it, you will be in the waiting room.',
      removed: 'You were removed from this session.',
      not_open: 'The room opens 15 minutes before the start.',
      forbidden: 'This session is not open to you.',
      consent: 'You can no longer be in this session: the consent that let you join has ended.',
    }[error] || `Could not join (${error}).`;
    this.setStatus(text, true);
    this.inRoom.hidden = true;
    this.media.close();
    return null;
  }

  // The session is over (ended by staff, or its time ran out): a final page, no reconnecting.
  ended(endedAt) {
    this.over = true;
    const at = endedAt ? ` at ${clockTime(endedAt, this.me.timezone)}` : '';
    this.setStatus(`This session has ended${at}.`, true);
    this.knockBanner.hidden = true;
    this.inRoom.hidden = true;
    this.homeLink.hidden = false;
    if (this.staff && this.me.role === 'counselor') this.showNoteLink();
    this.media.close();
    this.close();
  }

  // Staff of the room who are counselors lead it (policy WRITE_NOTE); peer supporters, who
  // are staff in the room too, never see a note.
  async showNoteLink() {
    this.noteLink.hidden = false;
    try {
      const { items } = await get(`/api/v1/sessions/${this.info.id}/notes`);
      if (items.length) {
        this.noteLink.firstChild.textContent = `Open the note of ${this.info.title} on ${sessionDay(this.info.starts_at, this.me.timezone)}`;
      }
    } catch (err) { /* the link stays "Write": the note page says what it can */ }
  }

  setStatus(text, important = false) {
    this.status.textContent = text;
    this.status.hidden = !text;
    this.status.setAttribute('role', important ? 'alert' : 'status');
  }

  nameOf(userId) {
    return this.names.get(userId) || (userId === this.me.id ? this.me.display_name : 'Someone');
  }

  remember(person) {
    if (person) this.names.set(person.id, person.display_name);
  }

  // A person's name, isolated (<bdi>) so that right-to-left text in it never reorders what
  // follows, and their staff badge.
  who(person, label = person?.display_name || '') {
    const badge = STAFF_TEXT[person?.staff];
    return [h('bdi', {}, label), ...(badge ? [' ', h('span', { class: 'tag staff' }, badge)] : [])];
  }

  // Whether this person's mute and remove are offered: staff act on anyone in the room but
  // themselves and the session's lead counselor (the server refuses those too).
  moderates(person) {
    return this.staff && person.id !== this.me.id && !person.lead;
  }

  onEvent(name, data) {
    if (data.seq) {
      const key = `${name}:${data.seq}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      this.held.add(data.seq);
      if (name === 'admitted' && data.user_id === this.me.id && this.heldThrough === null) {
        this.heldThrough = data.seq; // in the room from here on
        this.joinSeq ??= data.seq;
      }
      if (this.heldThrough !== null) this.advance(this.heldThrough);
    }
    this.remember(data.from);
    this.remember(data.user);
    switch (name) {
      case 'chat': return this.drawChat(data);
      case 'chat_deleted': {
        const li = this.chatLog.querySelector(`[data-seq="${data.deleted_seq}"]`);
        if (li) li.replaceChildren(h('em', { class: 'muted' }, 'Message removed by a moderator'));
        return null;
      }
      case 'hand_raised':
      case 'hand_lowered':
        this.queue = this.queue.filter((id) => id !== data.user_id);
        if (name === 'hand_raised') this.queue.push(data.user_id);
        return this.drawHands();
      case 'admitted':
        if (this.knocking.delete(data.user_id)) this.drawKnocks();
        if (data.user_id === this.me.id) this.enterRoom();
        return null;
      case 'removed':
        if (data.user_id !== this.me.id) return null;
        if (data.reason === 'consent') { this.over = true; this.refused('consent'); return this.close(); }
        this.refused('removed');
        return null;
      case 'muted':
      case 'unmuted':
        if (data.user_id === this.me.id && data.what === 'chat') {
          this.chatInput.disabled = data.muted;
          this.setStatus(data.muted ? 'A moderator has muted your chat.' : '', data.muted);
        }
        return this.media.onMuted(data);
      case 'room_locked':
        this.locked = data.locked;
        if (this.lockButton) this.lockButton.textContent = data.locked ? 'Unlock room' : 'Lock room';
        if (!data.locked && this.keptOutByLock) this.join(); // knock now
        return this.drawWaiting(this.waiting || []);
      case 'session_ended': return this.ended(data.ended_at);
      case 'checkin_round': return this.drawRound(data.open, data.seq);
      case 'checkin':
        if (data.user?.id === this.me.id) {
          this.roundPrompt.hidden = true;
          this.roundForm?.replaceChildren(h('p', { class: 'success' }, data.passed ? 'You passed this round.' : 'Thanks for checking in.'));
        }
        return this.drawBoardRow(data);
      case 'checkin_detail': return this.drawBoardRow(data);
      default: return null;
    }
  }

  drawChat(msg) {
    const mine = msg.from?.id === this.me.id;
    const li = h('li', { dataset: { seq: String(msg.seq) }, class: mine ? 'mine' : null },
      h('strong', {}, ...this.who(msg.from, mine ? 'You' : undefined)), ' ',
      msg.deleted ? h('em', { class: 'muted' }, 'Message removed by a moderator') : h('bdi', {}, msg.text));
    if (this.staff && !msg.deleted) {
      li.append(' ', h('button', {
        type: 'button', class: 'link', 'aria-label': `Delete message from ${msg.from?.display_name}`,
        onclick: () => this.command('delete_chat', { seq: msg.seq }),
      }, 'Delete'));
    }
    // Keep the log in sequence order even when a replay arrives late.
    const after = [...this.chatLog.children].find((c) => Number(c.dataset.seq) > msg.seq);
    this.chatLog.insertBefore(li, after || null);
    li.scrollIntoView?.({ block: 'nearest' });
  }

  async sendChat() {
    const text = this.chatInput.value.trim();
    if (!text) return;
    const message = { session_id: this.info.id, id: crypto.randomUUID(), text };
    this.chatInput.value = '';
    // Retried with the same id until the server says it is stored: never lost, never twice.
    for (let attempt = 0; attempt < 20 && !this.over; attempt += 1) {
      const ack = await this.socket.timeout(ACK_TIMEOUT_MS).emitWithAck('chat', message).catch(() => null);
      if (ack?.ok) return;
      // Not stored yet, for now only (too fast, or the server's database is unreachable).
      if (ack && !ack.ok && !['rate_limited', 'unavailable'].includes(ack.error)) {
        this.setStatus(ack.error === 'muted' ? 'A moderator has muted your chat.' : `Message not sent: ${ack.detail || ack.error}`, true);
        return;
      }
      await new Promise((r) => { setTimeout(r, Math.min(1000 * 2 ** attempt, 10000)); });
    }
  }

  async toggleHand() {
    const raised = this.queue.includes(this.me.id);
    await this.command(raised ? 'lower_hand' : 'raise_hand');
  }

  drawHands() {
    this.handsList.replaceChildren(...this.queue.map((id) => {
      const li = h('li', {}, this.nameOf(id));
      if (this.staff) {
        li.append(' ', h('button', { type: 'button', class: 'link', onclick: () => this.command('lower_hand', { user_id: id }) }, 'Done'));
      }
      return li;
    }));
    if (!this.queue.length) this.handsList.append(h('li', { class: 'muted' }, 'No hands raised'));
    const mine = this.queue.includes(this.me.id);
    this.handButton.textContent = mine ? 'Lower hand' : 'Raise hand';
    this.handButton.setAttribute('aria-pressed', String(mine));
  }

  redrawPresence() {
    if (this.present) this.drawPresence(this.present);
  }

  drawPresence(present) {
    this.present = present;
    for (const p of present) this.remember(p);
    this.people.replaceChildren(...present.map((p) => {
      const li = h('li', { class: 'row' },
        h('span', {}, ...this.who(p), p.id === this.me.id ? ' (you)' : ''),
        h('span', { class: 'tag' }, LINK_TEXT[p.link] || p.link));
      if (this.moderates(p)) {
        li.append(h('span', { class: 'actions' },
          h('button', { type: 'button', class: 'link', onclick: () => this.command('mute', { user_id: p.id, what: 'chat' }) }, `Mute ${p.display_name}'s chat`),
          h('button', { type: 'button', class: 'link', onclick: () => this.command('unmute', { user_id: p.id, what: 'chat' }) }, 'Unmute'),
          h('button', { type: 'button', class: 'link', onclick: () => { if (confirm(`Remove ${p.display_name} from this session?`)) this.command('remove', { user_id: p.id }); } }, 'Remove')));
      }
      li.append(...this.media.personExtras(p));
      return li;
    }));
  }

  // Staff: who knocked and still waits (admitted by anyone, anywhere: gone from the banner),
  // and who the lock keeps out.
  drawKnocks() {
    const sentence = (names, one, many) => (names.length === 1 ? `${names[0]} ${one}`
      : `${names.slice(0, -1).join(', ')} and ${names.at(-1)} ${many}`);
    const waiting = [...this.knocking.values()];
    const kept = this.keptOutNames || [];
    const parts = [];
    if (waiting.length) parts.push(sentence(waiting, 'is waiting to be admitted.', 'are waiting to be admitted.'));
    if (kept.length) parts.push(sentence(kept, 'is kept out by the lock.', 'are kept out by the lock.'));
    this.knockBanner.hidden = !parts.length || this.over;
    this.knockBanner.textContent = parts.join(' ');
  }

  drawWaiting(waiting) {
    this.waiting = waiting;
    if (!this.waitingList) return;
    const still = new Set(waiting.map((p) => p.id));
    for (const id of this.knocking.keys()) if (!still.has(id)) this.knocking.delete(id);
    this.drawKnocks();
    // A locked room lets nobody in, by knocking or by admission: unlock it first.
    this.waitingList.replaceChildren(...waiting.map((p) => h('li', { class: 'row' },
      h('span', {}, h('bdi', {}, p.display_name), familyOf(p), byPhone(p)),
      h('button', { type: 'button', disabled: this.locked, onclick: () => this.command('admit', { user_id: p.id }) }, `Admit ${p.display_name}`))));
    if (!waiting.length) this.waitingList.append(h('li', { class: 'muted' }, 'Nobody is waiting'));
    this.admitAllButton.disabled = this.locked;
    this.lockedNote.hidden = !this.locked;
  }

  drawKeptOut(keptOut) {
    if (!this.keptOutList) return;
    this.keptOutNames = keptOut.map((p) => (p.family_of ? `${p.display_name} (family of ${p.family_of})` : p.display_name));
    this.drawKnocks();
    this.keptOut.hidden = !keptOut.length;
    this.keptOutList.replaceChildren(...keptOut.map((p) => h('li', {}, p.display_name, familyOf(p), byPhone(p))));
  }

  drawRound(open, seq) {
    if (this.guest) return;
    this.roundOpen = open;
    if (this.roundButton) this.roundButton.textContent = open ? 'End check-in round' : 'Start check-in round';
    this.round.hidden = false;
    const parts = [h('h2', {}, open ? 'Check-in round' : 'Check-in round (closed)')];
    if (!this.staff && open) {
      const id = crypto.randomUUID();
      const mood = h('input', { type: 'range', min: 0, max: 10, value: 5, id: 'round-mood', name: 'mood' });
      const craving = h('input', { type: 'range', min: 0, max: 10, value: 0, id: 'round-craving', name: 'craving' });
      const word = h('input', { id: 'round-word', name: 'word', maxlength: 40 });
      const moodOut = h('output', { for: 'round-mood' }, '5');
      const cravingOut = h('output', { for: 'round-craving' }, '0');
      mood.addEventListener('input', () => { moodOut.textContent = mood.value; });
      craving.addEventListener('input', () => { cravingOut.textContent = craving.value; });
      this.roundForm = h('form', {},
        h('label', { for: 'round-mood' }, 'Mood (0 low – 10 great) ', moodOut), mood,
        h('label', { for: 'round-craving' }, 'Craving (0 none – 10 strongest) ', cravingOut), craving,
        h('label', { for: 'round-word' }, 'One word for today'), word,
        h('div', { class: 'form-actions' },
          h('button', { type: 'submit' }, 'Share'),
          h('button', { type: 'button', class: 'secondary', onclick: () => this.command('checkin_pass', { id }) }, 'Pass')));
      this.roundForm.addEventListener('submit', (e) => {
        e.preventDefault();
        this.command('checkin', { id, mood: Number(mood.value), craving: Number(craving.value), word: word.value });
      });
      parts.push(this.roundForm);
    }
    parts.push(this.board);
    this.round.replaceChildren(...parts);
    this.roundPrompt.hidden = this.staff || !open;
    // The round reaches this person now (not in the history a join brings): go there.
    if (open && !this.staff && this.joinSeq !== null && seq > this.joinSeq) this.goToRound();
  }

  goToRound() {
    const heading = this.round.querySelector('h2');
    heading.setAttribute('tabindex', '-1');
    heading.scrollIntoView?.({ block: 'center' }); // (not under the sticky top bar)
    heading.focus({ preventScroll: true });
  }

  drawBoardRow(data) {
    const body = this.board.tBodies[0];
    const key = String(data.user.id);
    const old = body.querySelector(`[data-user="${key}"]`);
    // Counselors get a turn twice (that it was taken, and its values): keep the values.
    const detailed = 'mood' in data;
    if (old && !detailed && old.dataset.seq === String(data.seq) && old.dataset.detailed) return;
    const row = h('tr', { dataset: { user: key, seq: String(data.seq), ...(detailed ? { detailed: 'yes' } : {}) } },
      h('th', { scope: 'row' }, data.user.display_name),
      h('td', {}, data.passed ? 'passed' : (data.mood ?? '·')),
      h('td', {}, data.passed ? '' : (data.craving ?? '·')),
      h('td', {}, data.passed ? '' : (data.word ?? '')));
    if (old) old.replaceWith(row); else body.append(row);
    if (this.round.hidden) this.round.hidden = false;
  }

  async command(event, extra = {}) {
    const ack = await this.socket.timeout(ACK_TIMEOUT_MS)
      .emitWithAck(event, { session_id: this.info.id, ...extra }).catch(() => null);
    if (this.over) return ack; // (ending the session closes the socket before its ack)
    if (!ack) this.setStatus('The server did not answer. Check your connection.', true);
    else if (!ack.ok) this.setStatus(`Could not do that: ${ack.detail || ack.error}`, true);
    return ack;
  }
}
