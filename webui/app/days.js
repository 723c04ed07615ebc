// Calendar days as 'YYYY-MM-DD' strings. A day is not a moment: computed at UTC midnight, so
// the device's own zone never shifts it (toISOString() on a local midnight west of UTC gives
// the day before).

function utcDate(day) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d));
}

// Today where the program is (or the device, with no zone given).
export function todayIn(timeZone) {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
  }).formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  return `${part('year')}-${part('month')}-${part('day')}`;
}

export function addDays(day, n) {
  const d = utcDate(day);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}

// A program's week runs Monday to Sunday.
export function mondayOf(day) {
  return addDays(day, -((utcDate(day).getUTCDay() + 6) % 7));
}

// "Monday, November 30, 2026" in the reader's language.
export function longDay(day) {
  return utcDate(day).toLocaleDateString([], {
    weekday: 'long', month: 'long', day: 'numeric', year: 'numeric', timeZone: 'UTC',
  });
}

// "Monday, November 30 to Sunday, December 6, 2026"
export function weekText(monday) {
  const short = (day) => utcDate(day).toLocaleDateString([], {
    weekday: 'long', month: 'long', day: 'numeric', timeZone: 'UTC',
  });
  return `${short(monday)} to ${longDay(addDays(monday, 6))}`;
}
