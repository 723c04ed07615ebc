// Logs the bench users in over HTTP (POST /api/v1/auth/login) and keeps their session cookies.
// Usage: node login.js URL USERS.json OUT.json [CONCURRENCY]
// Users that already carry a cookie (seed.py --mint-logins) are passed through untouched.
const fs = require("fs");
const [url, usersFile, outFile, conc = "8"] = process.argv.slice(2);
const data = JSON.parse(fs.readFileSync(usersFile, "utf8"));

async function login(u) {
  for (let attempt = 0; attempt < 3; attempt++) {
    const res = await fetch(url + "/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: u.email, password: data.password }),
    });
    await res.arrayBuffer();
    const cookie = (res.headers.getSetCookie() || []).map((c) => c.split(";")[0])
      .find((c) => c.startsWith("companion_session="));
    if (res.status === 200 && cookie) return cookie;
    if (res.status !== 429) throw new Error(`login ${u.email}: HTTP ${res.status}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`login ${u.email}: rate limited`);
}

(async () => {
  const t0 = Date.now();
  const todo = data.users.filter((u) => !u.cookie);
  let next = 0;
  const worker = async () => {
    while (next < todo.length) { const u = todo[next++]; u.cookie = await login(u); }
  };
  await Promise.all(Array.from({ length: +conc }, worker));
  fs.writeFileSync(outFile, JSON.stringify(data));
  console.error(`logged in ${todo.length} users over HTTP in ${((Date.now() - t0) / 1000).toFixed(1)} s`
    + (todo.length < data.users.length ? ` (${data.users.length - todo.length} minted)` : ""));
})().catch((e) => { console.error(e.message); process.exit(1); });
