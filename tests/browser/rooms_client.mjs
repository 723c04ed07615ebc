// Drives a running Companion with the official socket.io-client, as a non-browser client would.
// Usage: node rooms_client.mjs <base-url> <session-id> <counselor-cookie> <client-cookie> <outsider-cookie>
// Prints one JSON object with what each step saw; the Python test asserts on it.
import { io } from 'socket.io-client';

const [base, sessionIdText, counselorCookie, clientCookie, outsiderCookie] = process.argv.slice(2);
const sessionId = Number(sessionIdText);
const results = {};
const STEP_TIMEOUT = 5000;

function connect(cookie, extraHeaders = {}) {
  return io(base, {
    transports: ['websocket'], reconnection: false, forceNew: true,
    extraHeaders: { ...(cookie ? { Cookie: cookie } : {}), ...extraHeaders },
  });
}

function connected(socket) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), STEP_TIMEOUT);
    socket.on('connect', () => { clearTimeout(timer); resolve('connected'); });
    socket.on('connect_error', (err) => { clearTimeout(timer); resolve(`refused: ${err.message}`); });
  });
}

function next(socket, event) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), STEP_TIMEOUT);
    socket.once(event, (data) => { clearTimeout(timer); resolve(data); });
  });
}

const ack = (socket, event, payload) => socket.timeout(STEP_TIMEOUT).emitWithAck(event, payload);
const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

try {
  const counselor = connect(counselorCookie);
  results.counselor_connect = await connected(counselor);
  results.counselor_join = await ack(counselor, 'join_session', { session_id: sessionId });
  const counselorChats = [];
  counselor.on('chat', (m) => counselorChats.push(m));

  const client = connect(clientCookie);
  results.client_connect = await connected(client);
  const knock = next(counselor, 'knock');
  results.client_join = await ack(client, 'join_session', { session_id: sessionId });
  results.knock = await knock;
  const admitted = next(client, 'admitted');
  results.admit = await ack(counselor, 'admit', { session_id: sessionId, user_id: results.knock?.user_id });
  results.admitted = await admitted;

  const message = { session_id: sessionId, id: `node-${Date.now()}`, text: 'hello from node' };
  results.chat_first = await ack(client, 'chat', message);
  results.chat_retry = await ack(client, 'chat', message);
  await sleep(300);
  results.counselor_saw = counselorChats.filter((m) => m.id === message.id).length;

  // Drop the client, talk while it is away, come back with the last number it saw.
  const lastSeq = results.chat_first.seq;
  client.disconnect();
  for (let i = 0; i < 3; i += 1) {
    await ack(counselor, 'chat', { session_id: sessionId, id: `away-${Date.now()}-${i}`, text: `while you were away ${i}` });
  }
  const back = connect(clientCookie);
  const replayed = [];
  back.on('chat', (m) => replayed.push({ seq: m.seq, text: m.text }));
  results.back_connect = await connected(back);
  results.back_join = await ack(back, 'join_session', { session_id: sessionId, last_seq: lastSeq });
  for (let i = 0; i < 50 && replayed.length < 3; i += 1) await sleep(50);
  results.replayed = replayed;
  back.disconnect();

  const outsider = connect(outsiderCookie);
  results.outsider_connect = await connected(outsider);
  results.outsider_join = await ack(outsider, 'join_session', { session_id: sessionId });
  results.outsider_chat = await ack(outsider, 'chat', { session_id: sessionId, id: 'x', text: 'let me in' });
  outsider.disconnect();

  results.anonymous_connect = await connected(connect(null));
  results.foreign_origin_connect = await connected(connect(counselorCookie, { Origin: 'http://evil.example' }));
  counselor.disconnect();
} catch (err) {
  results.error = String(err);
}
console.log(JSON.stringify(results));
process.exit(0);
