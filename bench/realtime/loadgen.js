// Load generator for the product's rooms, on the pattern of shared/bench/socketio/loadgen.js,
// built on the official socket.io-client. Each user of USERS.json (seed.py + login.js: email,
// session_id, cookie) connects with its session cookie, joins its session's room with
// `join_session`, then sends `chat` {session_id, id, text} RATE times a second for DUR seconds,
// its send time in the text. Every `chat` event received counts as a delivery; latency is
// receive time minus send time (same machine, same clock).
// Usage: node loadgen.js URL[,URL...] USERS.json RATE DUR   (client i connects to URL i mod n)
// With SERVER_PID set (PID[,PID...]: summed), the server's CPU seconds of the send phase (first send to the end of the
// drain) and its RSS are read from /proc and reported too; PROFILE_CMD (a profiler command line)
// is started with the first chat and waited for at the end.
const fs = require("fs");
const { spawn } = require("child_process");
const { io } = require("socket.io-client");
const [urlList, usersFile, RATE, DUR] = process.argv.slice(2);
const urls = urlList.split(",");
const rate = +RATE, dur = +DUR;
const users = JSON.parse(fs.readFileSync(usersFile, "utf8")).users;
const serverPids = (process.env.SERVER_PID || "").split(",").filter(Boolean);
const TICK = +(process.env.CLK_TCK || 100);

const lat = [], ackLat = [];
let sent = 0, recv = 0, connectErrors = 0, joinFailures = 0, ackOk = 0, outOfOrder = 0, duplicates = 0;
let expected = 0, disconnects = 0, errorEvents = 0;
const ackErrors = {};
const joinedIn = {}; // session_id -> number of joined sockets
const clients = [];

function pct(a, p) {
  if (!a.length) return null;
  const s = Float64Array.from(a).sort();
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}
function serverCpu() {
  if (!serverPids.length) return null;
  let ticks = 0;
  for (const pid of serverPids) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    ticks += +f[11] + +f[12]; // utime + stime (fields 14 and 15 of stat)
  }
  return ticks / TICK;
}
function serverRss(field) {
  if (!serverPids.length) return null;
  let kb = 0;
  for (const pid of serverPids) {
    const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(field + ":\\s+(\\d+)"));
    kb += m ? +m[1] : 0;
  }
  return Math.round(kb / 102.4) / 10;
}

function connect(u, i) {
  return new Promise((resolve) => {
    const s = io(urls[i % urls.length], {
      transports: ["websocket"], forceNew: true, reconnection: false,
      extraHeaders: { Cookie: u.cookie },
    });
    const c = { s, u, i, joined: false, lastSeq: 0, seen: new Set() };
    clients.push(c);
    s.on("chat", (d) => {
      recv++;
      const m = /^t=(\d+) /.exec(d.text || "");
      if (m) lat.push(Date.now() - +m[1]);
      if (d.seq <= c.lastSeq) { if (c.seen.has(d.seq)) duplicates++; else outOfOrder++; }
      c.lastSeq = Math.max(c.lastSeq, d.seq);
      c.seen.add(d.seq);
    });
    s.on("error", () => { errorEvents++; });
    s.on("disconnect", () => { disconnects++; });
    s.on("connect_error", () => { connectErrors++; resolve(); });
    s.on("connect", () => {
      s.emit("join_session", { session_id: u.session_id }, (ack) => {
        if (ack && ack.ok && ack.state === "joined") {
          c.joined = true;
          c.lastSeq = ack.seq;
          joinedIn[u.session_id] = (joinedIn[u.session_id] || 0) + 1;
        } else joinFailures++;
        resolve();
      });
    });
    setTimeout(resolve, 30000);
  });
}

(async () => {
  const t0 = Date.now();
  const ps = [];
  for (let i = 0; i < users.length; i++) {
    ps.push(connect(users[i], i));
    if (i % 50 === 49) await new Promise((r) => setTimeout(r, 50));
  }
  await Promise.all(ps);
  const connectS = (Date.now() - t0) / 1000;
  const joined = clients.filter((c) => c.joined);
  await new Promise((r) => setTimeout(r, 500)); // presence broadcasts of the last joins settle

  const profiler = process.env.PROFILE_CMD
    ? spawn("sh", ["-c", process.env.PROFILE_CMD], { stdio: "ignore" }) : null;
  const profiled = profiler ? new Promise((r) => profiler.on("exit", r)) : null;
  const cpu0 = serverCpu();
  const start = Date.now();
  for (const c of joined) {
    let n = 0;
    setTimeout(() => {
      const iv = setInterval(() => {
        if (Date.now() - start > dur * 1000) { clearInterval(iv); return; }
        const t = Date.now();
        c.s.emit("chat", { session_id: c.u.session_id, id: `bench-${c.i}-${n++}`, text: `t=${t} hello from client ${c.i}` }, (ack) => {
          if (ack && ack.ok) { ackOk++; ackLat.push(Date.now() - t); } else {
            const k = (ack && ack.error) || "no_ack"; ackErrors[k] = (ackErrors[k] || 0) + 1;
          }
        });
        sent++;
        expected += joinedIn[c.u.session_id];
      }, 1000 / rate);
    }, Math.random() * 1000 / rate);
  }
  await new Promise((r) => setTimeout(r, dur * 1000 + 3000));
  const cpu1 = serverCpu();
  const rssNow = serverRss("VmRSS");
  if (profiled) await profiled;
  const cpuS = cpu1 === null ? null : +(cpu1 - cpu0).toFixed(2);
  console.log(JSON.stringify({
    clients: users.length, connected: clients.filter((c) => c.s.connected).length,
    joined: joined.length, connect_s: connectS, rooms: Object.keys(joinedIn).length,
    sent, acked: ackOk, ack_errors: ackErrors, delivered: recv, expected,
    delivery_ratio: +(recv / Math.max(1, expected)).toFixed(4),
    p50_ms: pct(lat, 0.5), p99_ms: pct(lat, 0.99), max_ms: pct(lat, 1),
    ack_p50_ms: pct(ackLat, 0.5), ack_p99_ms: pct(ackLat, 0.99),
    out_of_order: outOfOrder, duplicates, connect_errors: connectErrors, join_failures: joinFailures,
    join_timeouts: clients.length - joined.length - joinFailures - connectErrors,
    error_events: errorEvents, disconnects,
    send_phase_cpu_s: cpuS,
    send_phase_cpu_us_per_delivery: cpuS === null ? null : +(cpuS * 1e6 / Math.max(1, recv)).toFixed(1),
    server_rss_mb: rssNow,
  }));
  for (const c of clients) c.s.close();
  process.exit(0);
})();
