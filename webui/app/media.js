// Audio and video in a room (docs/realtime.md, rtc_* events; docs/media.md). One
// RTCPeerConnection to the session's media worker: our microphone out and a mix of everyone
// else in, our camera out, K receive-only video slots in (standard 4, low bandwidth 1, audio
// only 0). The server never renegotiates: to carry more (slots, video again) or to recover
// (failure, network change, rtc_restart) we make a new offer, which replaces the old connection.
import { h } from './dom.js';

export const PROFILES = {
  standard: { label: 'Standard', slots: 4, video: true },
  low_bandwidth: { label: 'Low bandwidth', slots: 1, video: true },
  audio_only: { label: 'Audio only', slots: 0, video: false },
};
// What we send per profile (RTCRtpSender.setParameters: no renegotiation needed).
const SEND_CAPS = {
  standard: { maxBitrate: 500000, scaleResolutionDownBy: 1, maxFramerate: 24 },
  low_bandwidth: { maxBitrate: 120000, scaleResolutionDownBy: 2, maxFramerate: 10 },
};
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15, max: 24 } };
const STATE_TEXT = { connecting: 'joining audio…', reconnecting: 'reconnecting…', failed: 'reconnecting…' };
const STOP_ERRORS = new Set(['forbidden', 'not_admitted', 'removed', 'ended', 'no_media', 'unauthorized']);
const OFFER_ACK_MS = 25000;

// A profile from a measured round trip to the server and what the browser says about the
// network. Not from its `downlink` figure: for a link it has not measured, Chromium reports a
// rounded guess near 1.5 Mbps with random noise (1.45 to 1.55 on a fast loopback link), so a
// threshold there made a good link "slow" at random. Its effectiveType and the person's data
// saver setting are kept, and the round trip is our own measurement.
export function suggestProfile(rttMs, c = navigator.connection || {}) {
  if (c.saveData || ['slow-2g', '2g'].includes(c.effectiveType) || rttMs > 1500) return 'audio_only';
  if (c.effectiveType === '3g' || rttMs > 500) return 'low_bandwidth';
  return 'standard';
}

function gathered(pc, ms) {
  // No trickle: the offer goes out with every candidate (or what we have after `ms`).
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === 'complete') resolve(); };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, ms);
  });
}

export class Media {
  constructor(room) {
    this.room = room;
    this.sessionId = room.info.id;
    this.profile = 'standard';
    this.active = false; // in the media, or trying to be
    this.gen = 0; // the current offer; older ones' callbacks are ignored
    this.pc = null;
    this.local = null; // our camera and microphone
    this.tiles = new Map(); // mid -> { fig, video, caption }
    this.slots = [];
    this.speaker = null;
    this.states = new Map();
    this.quality = new Map();
    this.mutes = new Map();
    this.staffMuted = false; // staff turned our microphone off: our own toggle cannot undo it
    this.retries = 0;
    this.onNetwork = () => this.networkChanged();
    this.build();
  }

  build() {
    this.status = h('p', { class: 'muted', role: 'status' });
    this.preview = h('video', { class: 'media-preview', muted: true, autoplay: true, playsinline: true, 'aria-label': 'Your camera preview' });
    this.meter = h('meter', { id: 'media-mic-level', min: 0, max: 1, value: 0 });
    this.suggestion = h('p', {});
    this.joinVideo = h('button', { type: 'button', onclick: () => this.join(PROFILES[this.profile].video ? this.profile : 'standard') }, 'Join with video');
    this.joinAudio = h('button', { type: 'button', class: 'secondary', onclick: () => this.join('audio_only') }, 'Join audio only');
    // The camera and microphone open only when the person asks (no prompt on entering a room).
    this.intro = h('div', {},
      h('p', {}, 'Join by video, or audio only on a weak connection.'),
      h('button', { type: 'button', onclick: () => this.startCheck() }, 'Check camera and microphone'));
    this.checkPanel = h('div', { class: 'media-check', hidden: true },
      h('p', {}, 'Check your camera and microphone before you join.'), this.preview,
      h('label', { for: 'media-mic-level' }, 'Microphone level'), this.meter, this.suggestion,
      h('div', { class: 'form-actions' }, this.joinVideo, this.joinAudio));
    this.large = h('div', { class: 'media-large' });
    this.self = h('video', { muted: true, autoplay: true, playsinline: true, 'aria-label': 'Your camera' });
    this.preview.muted = true;
    this.self.muted = true;
    this.selfTile = h('figure', { class: 'media-tile' }, this.self, h('figcaption', {}, 'You'));
    this.small = h('div', { class: 'media-small', role: 'group', 'aria-label': 'Other participants' }, this.selfTile);
    this.audio = h('audio', { autoplay: true, dataset: { media: 'mix' } });
    this.radios = Object.entries(PROFILES).map(([name, p]) => h('label', {},
      h('input', { type: 'radio', name: 'media-profile', value: name, onchange: () => this.changeProfile(name) }), p.label));
    this.micButton = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false', onclick: () => this.toggleMic() }, 'Mute my microphone');
    this.ownQuality = h('p', { class: 'muted media-quality' });
    this.profiles = h('fieldset', { class: 'media-profiles', hidden: true }, h('legend', {}, 'Connection profile'), this.radios);
    this.controls = h('div', {},
      h('div', { class: 'form-actions' }, this.micButton,
        h('button', { type: 'button', class: 'secondary', onclick: () => this.leave() }, 'Leave audio and video')),
      this.ownQuality);
    this.stage = h('div', { class: 'media-stage', hidden: true }, this.large, this.small, this.audio, this.controls);
    this.el = h('section', { class: 'card media', 'aria-label': 'Audio and video', hidden: true },
      h('h2', {}, 'Audio and video'), this.status, this.intro, this.checkPanel, this.stage, this.profiles);
  }

  listen(socket) {
    const mine = (fn) => (data) => { if (data?.session_id === this.sessionId) fn(data); };
    socket.on('rtc_slots', mine((d) => { this.slots = d.slots || []; this.drawTiles(); }));
    socket.on('rtc_active_speaker', mine((d) => { this.speaker = d.user_id; this.drawTiles(); }));
    socket.on('rtc_peer_state', mine((d) => { this.states.set(d.user_id, d.state); this.updatePerson(d.user_id); }));
    socket.on('rtc_quality', mine((d) => this.onQuality(d)));
    socket.on('rtc_restart', mine(() => { if (this.active) this.offer(); }));
    window.addEventListener('online', this.onNetwork);
    navigator.connection?.addEventListener?.('change', this.onNetwork);
    window.addEventListener('pagehide', this.onPageHide = () => this.close());
  }

  // The room page let us in (first time, or again after the socket reconnected).
  entered() {
    this.el.hidden = false;
    if (this.active && this.offeredSid !== this.room.socket.id) this.offer();
  }

  setStatus(text) { this.status.textContent = text; }

  async send(event, extra = {}, ms = 8000) {
    return this.room.socket.timeout(ms).emitWithAck(event, { session_id: this.sessionId, ...extra }).catch(() => null);
  }

  // --- before joining: devices and connection ---------------------------------------------
  async startCheck() {
    this.intro.hidden = true;
    this.checkPanel.hidden = false;
    this.stage.hidden = true;
    this.setStatus('Checking your camera, microphone and connection…');
    let rtt = Infinity; // the best of three round trips to the server
    for (let i = 0; i < 3; i += 1) {
      const started = performance.now();
      if (await this.send('heartbeat', {}, 5000)) rtt = Math.min(rtt, performance.now() - started);
    }
    await this.openDevices(true);
    const hasVideo = Boolean(this.local?.getVideoTracks().length);
    this.preview.srcObject = hasVideo ? this.local : null;
    this.preview.hidden = !hasVideo;
    this.startMeter();
    this.profile = hasVideo ? suggestProfile(rtt) : 'audio_only';
    this.suggestion.textContent = `Suggested profile: ${PROFILES[this.profile].label}` +
      (this.profile === 'standard' ? ' (your connection looks good).' : ' (your connection looks slow, or there is no camera).');
    this.joinVideo.disabled = !hasVideo;
    this.drawProfile();
    this.profiles.hidden = false;
    this.setStatus(this.local ? '' : 'No microphone or camera is available. Check the browser’s permission for this site; chat still works.');
  }

  async openDevices(video) {
    const have = this.local;
    if (have && (!video || have.getVideoTracks().some((t) => t.readyState === 'live'))) return;
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: have ? false : AUDIO, video: video ? VIDEO : false });
      if (have) stream.getVideoTracks().forEach((t) => have.addTrack(t)); else this.local = stream;
    } catch {
      if (!have && video) {
        try { this.local = await navigator.mediaDevices.getUserMedia({ audio: AUDIO }); } catch { this.local = null; }
      }
    }
  }

  startMeter() {
    const track = this.local?.getAudioTracks()[0];
    if (!track || this.meterTimer) return;
    try {
      this.audioCtx = new AudioContext();
      const analyser = this.audioCtx.createAnalyser();
      this.audioCtx.createMediaStreamSource(new MediaStream([track])).connect(analyser);
      const data = new Float32Array(analyser.fftSize);
      this.meterTimer = setInterval(() => {
        analyser.getFloatTimeDomainData(data);
        let sum = 0;
        for (const v of data) sum += v * v;
        this.meter.value = Math.min(1, Math.sqrt(sum / data.length) * 5);
      }, 100);
    } catch { /* no Web Audio: the meter stays still */ }
  }

  stopMeter() {
    clearInterval(this.meterTimer);
    this.meterTimer = null;
    this.audioCtx?.close().catch(() => {});
    this.audioCtx = null;
  }

  // --- joining and offering ---------------------------------------------------------------
  async join(profile) {
    this.stopMeter();
    this.profile = profile;
    this.preview.srcObject = null;
    if (!PROFILES[profile].video) this.stopCamera(); // the camera light goes off too
    this.checkPanel.hidden = true;
    this.stage.hidden = false;
    this.drawProfile();
    this.drawMic();
    this.setStatus('Connecting audio and video…');
    const config = await this.send('rtc_config');
    if (!config?.ok) { this.stage.hidden = true; return this.setStatus(this.errorText(config)); }
    this.iceServers = config.ice_servers || [];
    this.active = true;
    return this.offer();
  }

  async offer() {
    if (!this.active) return;
    clearTimeout(this.retryTimer);
    clearTimeout(this.reconnectTimer);
    const gen = ++this.gen;
    const profile = PROFILES[this.profile];
    if (profile.video) await this.openDevices(true);
    if (gen !== this.gen) return;
    if (gen > 1) { // TURN credentials are time-limited: fetch fresh ones for every new offer
      const config = await this.send('rtc_config');
      if (config?.ok) this.iceServers = config.ice_servers || [];
      if (gen !== this.gen) return;
    }
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    pc.addTransceiver(this.local?.getAudioTracks()[0] || 'audio', { direction: 'sendrecv' });
    const cam = profile.video ? this.local?.getVideoTracks().find((t) => t.readyState === 'live') : null;
    const sender = cam ? pc.addTransceiver(cam, { direction: 'sendonly' }).sender : null;
    for (let i = 0; i < profile.slots; i += 1) pc.addTransceiver('video', { direction: 'recvonly' });
    pc.ontrack = (e) => { if (gen === this.gen) this.onTrack(e); };
    pc.onconnectionstatechange = () => { if (gen === this.gen) this.onState(pc.connectionState); };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, 5000);
    } catch {
      pc.close();
      return this.retry(null);
    }
    if (gen !== this.gen) { pc.close(); return; }
    this.offeredSid = this.room.socket.id;
    const ack = await this.send('rtc_offer', { sdp: pc.localDescription.sdp, type: 'offer', profile: this.profile }, OFFER_ACK_MS);
    if (gen !== this.gen) { pc.close(); return; }
    if (!ack?.ok || ack.type !== 'answer') { pc.close(); return this.retry(ack); }
    // The server closed our previous connection when it took this offer.
    this.pc?.close();
    this.pc = pc;
    this.videoSender = sender;
    this.resetTiles();
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: ack.sdp }); // only ever an answer to our offer
    } catch {
      return this.retry(null);
    }
    this.self.srcObject = cam ? new MediaStream([cam]) : null;
    this.selfTile.hidden = !cam;
    this.applyCaps();
  }

  retry(ack) {
    if (ack && STOP_ERRORS.has(ack.error)) {
      this.active = false;
      return this.setStatus(this.errorText(ack));
    }
    this.retries += 1;
    const delay = Math.min(1000 * 2 ** (this.retries - 1), 10000);
    this.setStatus('Audio and video are not connected; trying again…');
    this.retryTimer = setTimeout(() => this.offer(), delay);
    return null;
  }

  errorText(ack) {
    if (ack?.error === 'no_media') return 'Audio and video are not available on this server; chat still works.';
    return `Audio and video could not start (${ack?.detail || ack?.error || 'no answer'}).`;
  }

  onState(state) {
    clearTimeout(this.reconnectTimer);
    if (state === 'connected') {
      this.retries = 0;
      this.setStatus('');
      this.applyCaps();
    } else if (state === 'disconnected') {
      this.setStatus('Reconnecting audio and video…');
      this.reconnectTimer = setTimeout(() => this.offer(), 3000);
    } else if (state === 'failed') {
      this.setStatus('Reconnecting audio and video…');
      this.offer();
    }
  }

  networkChanged() {
    if (!this.active) return;
    clearTimeout(this.networkTimer);
    this.networkTimer = setTimeout(() => this.offer(), 1000);
  }

  applyCaps() {
    const sender = this.videoSender;
    const caps = SEND_CAPS[this.profile];
    if (!sender?.track || !caps) return;
    const params = sender.getParameters();
    if (!params.encodings?.length) params.encodings = [{}];
    Object.assign(params.encodings[0], caps);
    sender.setParameters(params).catch(() => {});
  }

  // --- profile, microphone, leaving -------------------------------------------------------
  drawProfile() {
    for (const label of this.radios) {
      const input = label.firstChild;
      input.checked = input.value === this.profile;
    }
  }

  async changeProfile(next) {
    this.profile = next;
    if (!this.active || !this.pc) return null;
    if (!PROFILES[next].video) this.stopCamera();
    const ack = await this.send('rtc_profile', { profile: next });
    if (next !== this.profile) return null; // changed again meanwhile
    if (!ack?.ok || ack.needs_offer) return this.offer();
    if (PROFILES[next].video && this.videoSender && !this.videoSender.track) {
      await this.openDevices(true);
      const cam = this.local?.getVideoTracks().find((t) => t.readyState === 'live');
      if (cam) {
        await this.videoSender.replaceTrack(cam);
        this.self.srcObject = new MediaStream([cam]);
        this.selfTile.hidden = false;
      }
    }
    this.applyCaps();
    return this.drawTiles();
  }

  stopCamera() {
    this.videoSender?.replaceTrack(null).catch(() => {});
    for (const t of this.local?.getVideoTracks() || []) { t.stop(); this.local.removeTrack(t); }
    this.self.srcObject = null;
    this.selfTile.hidden = true;
  }

  toggleMic() {
    const track = this.local?.getAudioTracks()[0];
    if (!track || this.staffMuted) return;
    track.enabled = !track.enabled;
    this.drawMic();
  }

  drawMic() {
    const track = this.local?.getAudioTracks()[0];
    const off = this.staffMuted || (track ? !track.enabled : false);
    this.micButton.textContent = this.staffMuted ? 'Muted by staff'
      : (off ? 'Unmute my microphone' : 'Mute my microphone');
    this.micButton.disabled = this.staffMuted;
    this.micButton.setAttribute('aria-pressed', String(off));
  }

  leave() {
    this.close(); // back to the intro: the camera and microphone are off
    this.setStatus('You left audio and video; chat goes on.');
  }

  close() {
    const wasActive = this.active;
    this.active = false;
    this.gen += 1;
    clearTimeout(this.retryTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.networkTimer);
    this.stopMeter();
    this.pc?.close();
    this.pc = null;
    this.videoSender = null;
    for (const t of this.local?.getTracks() || []) t.stop();
    this.local = null;
    this.checkPanel.hidden = true;
    this.intro.hidden = false;
    this.resetTiles();
    this.slots = [];
    this.stage.hidden = true;
    this.profiles.hidden = true;
    if (wasActive && this.room.socket?.connected) this.room.socket.emit('rtc_leave', { session_id: this.sessionId });
  }

  dispose() {
    this.close();
    window.removeEventListener('online', this.onNetwork);
    navigator.connection?.removeEventListener?.('change', this.onNetwork);
    window.removeEventListener('pagehide', this.onPageHide);
  }

  // --- what we receive --------------------------------------------------------------------
  onTrack(event) {
    const { track, transceiver } = event;
    if (track.kind === 'audio') {
      this.audio.srcObject = new MediaStream([track]);
      this.audio.play?.().catch(() => {});
      return;
    }
    const mid = String(transceiver.mid);
    const video = h('video', { autoplay: true, playsinline: true, muted: true, dataset: { mid } });
    video.muted = true;
    video.srcObject = new MediaStream([track]);
    const caption = h('figcaption', {});
    const fig = h('figure', { class: 'media-tile', hidden: true, dataset: { mid } }, video, caption);
    this.tiles.set(mid, { fig, video, caption });
    this.drawTiles();
  }

  // (rtc_slots for a new connection arrive before its answer: slots are kept.)
  resetTiles() {
    for (const { fig } of this.tiles.values()) fig.remove();
    this.tiles.clear();
    this.audio.srcObject = null;
  }

  // The active speaker large, the others small (slots come with the active speaker first).
  drawTiles() {
    const shown = this.slots.filter((s) => s.user_id !== null && this.tiles.has(s.mid));
    const large = shown.find((s) => s.user_id === this.speaker) || shown[0];
    for (const [mid, tile] of this.tiles) {
      const slot = shown.find((s) => s.mid === mid);
      tile.fig.hidden = !slot;
      tile.fig.classList.toggle('speaking', Boolean(slot) && slot.user_id === this.speaker);
      tile.caption.textContent = slot ? this.room.nameOf(slot.user_id) : '';
      tile.video.setAttribute('aria-label', slot ? `Video of ${this.room.nameOf(slot.user_id)}` : 'Empty video slot');
      if (slot && slot === large) this.large.replaceChildren(tile.fig);
      else this.small.insertBefore(tile.fig, this.selfTile);
      if (slot) tile.video.play?.().catch(() => {});
    }
    if (!large) this.large.replaceChildren();
  }

  // --- the people list: media state for everyone, quality and mutes for staff ---------------
  onQuality(data) {
    this.quality.set(data.user_id, data);
    if (data.user_id === this.room.me.id) this.ownQuality.textContent = `Your connection: ${this.qualityText(data)}`;
    this.updatePerson(data.user_id);
  }

  qualityText(q) {
    if (!q) return 'no audio/video';
    const parts = [PROFILES[q.profile]?.label || q.profile];
    if (q.rtt_ms !== undefined) parts.push(`${Math.round(q.rtt_ms)} ms`);
    if (q.loss !== undefined) parts.push(`${Math.round(q.loss * 100)}% loss`);
    return parts.join(' · ');
  }

  onMuted(data) {
    if (!['audio', 'video'].includes(data.what)) return;
    this.mutes.set(`${data.user_id}:${data.what}`, data.muted);
    if (data.user_id === this.room.me.id) {
      const what = data.what === 'audio' ? 'microphone: others cannot hear you' : 'video: others cannot see you';
      this.room.setStatus(data.muted ? `A moderator turned off your ${what}.` : '', data.muted);
      if (data.what === 'audio') {
        this.staffMuted = data.muted;
        this.drawMic();
      }
    }
    this.room.redrawPresence();
  }

  personExtras(p) {
    const nodes = [h('span', { class: 'media-state', dataset: { mediaState: String(p.id) } }, STATE_TEXT[this.states.get(p.id)] || '')];
    if (this.room.moderates(p)) {
      const q = this.quality.get(p.id);
      const poor = q && ((q.loss || 0) > 0.05 || (q.rtt_ms || 0) > 400);
      nodes.push(h('span', { class: poor ? 'media-quality poor' : 'media-quality', dataset: { mediaQuality: String(p.id) } }, this.qualityText(q)));
      const audioMuted = this.mutes.get(`${p.id}:audio`);
      const videoMuted = this.mutes.get(`${p.id}:video`);
      nodes.push(h('span', { class: 'actions' },
        h('button', { type: 'button', class: 'link', onclick: () => this.room.command(audioMuted ? 'unmute' : 'mute', { user_id: p.id, what: 'audio' }) },
          `${audioMuted ? 'Unmute' : 'Mute'} ${p.display_name}'s audio`),
        h('button', { type: 'button', class: 'link', onclick: () => this.room.command(videoMuted ? 'unmute' : 'mute', { user_id: p.id, what: 'video' }) },
          `${videoMuted ? 'Allow' : 'Turn off'} ${p.display_name}'s video`)));
    }
    return nodes;
  }

  updatePerson(userId) {
    const people = this.room.people;
    const state = people.querySelector(`[data-media-state="${userId}"]`);
    if (state) state.textContent = STATE_TEXT[this.states.get(userId)] || '';
    const quality = people.querySelector(`[data-media-quality="${userId}"]`);
    if (quality) {
      const q = this.quality.get(userId);
      quality.textContent = this.qualityText(q);
      quality.classList.toggle('poor', Boolean(q && ((q.loss || 0) > 0.05 || (q.rtt_ms || 0) > 400)));
    }
  }
}
