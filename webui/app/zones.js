// A person's time zone (their profile's, not the device's): times are entered and shown in it.
// A laptop in another state, or a phone that never changed its clock, must not move a session.

function partsIn(timeZone, date) {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).formatToParts(date);
  const part = (type) => Number(parts.find((p) => p.type === type).value);
  return { y: part('year'), mo: part('month'), d: part('day'), h: part('hour'), mi: part('minute'), s: part('second') };
}

// How far the zone's wall clock is ahead of UTC at that moment, in milliseconds.
function offsetAt(timeZone, date) {
  const p = partsIn(timeZone, date);
  return Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(date.getTime() / 1000) * 1000;
}

// 'YYYY-MM-DDTHH:MM' (what <input type="datetime-local"> holds) for a moment, in the zone.
export function wallTimeIn(timeZone, date = new Date()) {
  const p = partsIn(timeZone, date);
  const two = (n) => String(n).padStart(2, '0');
  return `${p.y}-${two(p.mo)}-${two(p.d)}T${two(p.h)}:${two(p.mi)}`;
}

// The moment a wall time names in the zone ('2026-03-08T18:30' in America/Chicago), or null.
// Across a daylight-saving change the offset is looked up again at the answer; a time the
// clocks skip (2:30 on the spring-forward night) comes out an hour later, as clocks read it.
export function instantOf(value, timeZone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value || '');
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  let guess = wall - offsetAt(timeZone, new Date(wall));
  guess = wall - offsetAt(timeZone, new Date(guess));
  return new Date(guess);
}

// "Central Time (America/Chicago)": the zone as people say it, with its exact name.
export function zoneLabel(timeZone) {
  try {
    const named = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longGeneric' })
      .formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value;
    return named && named !== timeZone ? `${named} (${timeZone})` : timeZone;
  } catch (err) {
    return timeZone;
  }
}

// Every zone the browser knows, for a chooser (the server checks the name again).
export function allZones() {
  return typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
}
