// Time in the viewer's zone: Slack's date formatting (<!date^…>), message times, day
// dividers, and the reverse (a date and time typed in a zone -> epoch seconds).
//
// Every function takes the IANA zone of the person the page plays as ("Europe/Madrid"),
// never the browser's own zone: the playground shows what *that* person would see.

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

const partsCache = new Map();

function formatter(tz) {
  let f = partsCache.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric", weekday: "short",
    });
    partsCache.set(tz, f);
  }
  return f;
}

/** The wall-clock fields of an instant (milliseconds) in a zone:
 * {year, month (1-12), day, hour, minute, second, weekday (0 = Sunday)}. */
export function zoned(ms, tz) {
  const out = {};
  for (const part of formatter(tz || "UTC").formatToParts(new Date(ms))) {
    if (part.type === "weekday") {
      out.weekday = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"].indexOf(part.value);
    } else if (part.type !== "literal") {
      out[part.type] = Number(part.value);
    }
  }
  if (out.hour === 24) out.hour = 0;
  return out;
}

/** Epoch milliseconds of a wall-clock time in a zone (the earlier one in a DST overlap,
 * the shifted one in a gap). */
export function fromZoned(year, month, day, hour, minute, tz) {
  const wanted = Date.UTC(year, month - 1, day, hour, minute);
  let guess = wanted;
  for (let i = 0; i < 3; i++) {
    const z = zoned(guess, tz);
    const shown = Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second);
    const diff = wanted - shown;
    if (diff === 0) break;
    guess += diff;
  }
  return guess;
}

function ordinal(n) {
  const teens = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teens ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th");
  return `${n}${suffix}`;
}

const pad = (n) => String(n).padStart(2, "0");

/** "9:05 AM" (Slack's default 12-hour clock). */
export function clockTime(ms, tz, seconds = false) {
  const z = zoned(ms, tz);
  const h = z.hour % 12 === 0 ? 12 : z.hour % 12;
  const s = seconds ? `:${pad(z.second)}` : "";
  return `${h}:${pad(z.minute)}${s} ${z.hour < 12 ? "AM" : "PM"}`;
}

function dayNumber(z) {
  return Math.round(Date.UTC(z.year, z.month - 1, z.day) / 86400000);
}

/** -1, 0, 1 for yesterday, today, tomorrow (in the zone), else null. */
function relativeDay(ms, nowMs, tz) {
  const diff = dayNumber(zoned(ms, tz)) - dayNumber(zoned(nowMs, tz));
  return Math.abs(diff) <= 1 ? diff : null;
}

const RELATIVE = { "-1": "yesterday", 0: "today", 1: "tomorrow" };

function ago(ms, nowMs) {
  const seconds = Math.round((nowMs - ms) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  const [n, unit] = s < 60 ? [s, "second"] : s < 3600 ? [Math.floor(s / 60), "minute"]
    : s < 86400 ? [Math.floor(s / 3600), "hour"] : s < 86400 * 30 ? [Math.floor(s / 86400), "day"]
      : s < 86400 * 365 ? [Math.floor(s / (86400 * 30)), "month"] : [Math.floor(s / (86400 * 365)), "year"];
  const words = `${n} ${unit}${n === 1 ? "" : "s"}`;
  return future ? `in ${words}` : `${words} ago`;
}

/** The text of one Slack date token ("date_short_pretty", "time"...) or null. */
export function dateToken(token, ms, tz, nowMs) {
  const z = zoned(ms, tz);
  const month = MONTHS[z.month - 1];
  const base = {
    date_num: `${z.year}-${pad(z.month)}-${pad(z.day)}`,
    date: `${month} ${ordinal(z.day)}, ${z.year}`,
    date_short: `${month.slice(0, 3)} ${z.day}, ${z.year}`,
    date_long: `${DAYS[z.weekday]}, ${month} ${ordinal(z.day)}, ${z.year}`,
    time: clockTime(ms, tz),
    time_secs: clockTime(ms, tz, true),
    ago: ago(ms, nowMs),
  };
  if (token in base) return base[token];
  const pretty = token.match(/^(date|date_short|date_long)_pretty$/);
  if (pretty) {
    const rel = relativeDay(ms, nowMs, tz);
    return rel === null ? base[pretty[1]] : RELATIVE[rel];
  }
  return null;
}

/** Slack's "<!date^EPOCH^FORMAT^LINK|FALLBACK>" body (without the brackets), rendered
 * as text in the viewer's zone; returns {text, link} or null when it can't be read. */
export function slackDate(body, tz, nowMs) {
  const [spec, ...fallbackParts] = body.split("|");
  const fields = spec.split("^");
  if (fields[0] !== "!date" || fields.length < 3) return null;
  const epoch = Number(fields[1]);
  if (!Number.isFinite(epoch)) return { text: fallbackParts.join("|"), link: null };
  const ms = epoch * 1000;
  let text = fields[2].replace(/\{([a-z_]+)\}/g, (whole, token) => {
    const value = dateToken(token, ms, tz, nowMs);
    return value === null ? whole : value;
  });
  // a pretty word that starts the text is capitalised, as Slack does
  text = text.replace(/^(yesterday|today|tomorrow)/, (w) => w[0].toUpperCase() + w.slice(1));
  return { text, link: fields[3] || null };
}

/** "Today", "Yesterday", or "Thursday, November 26th" (a day divider). */
export function dayLabel(ms, tz, nowMs) {
  const rel = relativeDay(ms, nowMs, tz);
  if (rel === 0) return "Today";
  if (rel === -1) return "Yesterday";
  if (rel === 1) return "Tomorrow";
  const z = zoned(ms, tz);
  const year = z.year === zoned(nowMs, tz).year ? "" : `, ${z.year}`;
  return `${DAYS[z.weekday]}, ${MONTHS[z.month - 1]} ${ordinal(z.day)}${year}`;
}

/** A short day key in the zone ("2026-11-26"), to put a divider between days. */
export function dayKey(ms, tz) {
  const z = zoned(ms, tz);
  return `${z.year}-${pad(z.month)}-${pad(z.day)}`;
}

/** "Thu, Nov 26 · 9:05 AM" for the clock in the top bar. */
export function clockLabel(ms, tz) {
  const z = zoned(ms, tz);
  return `${DAYS[z.weekday].slice(0, 3)}, ${MONTHS[z.month - 1].slice(0, 3)} ${z.day} · ${clockTime(ms, tz)}`;
}

/** "YYYY-MM-DD" and "HH:MM" of an instant in a zone (for date and time inputs). */
export function toInputs(ms, tz) {
  const z = zoned(ms, tz);
  return { date: `${z.year}-${pad(z.month)}-${pad(z.day)}`, time: `${pad(z.hour)}:${pad(z.minute)}` };
}

/** Epoch seconds of "YYYY-MM-DD" + "HH:MM" typed in a zone, or null if either is missing. */
export function fromInputs(date, time, tz) {
  const d = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date || "");
  const t = /^(\d{2}):(\d{2})/.exec(time || "");
  if (!d || !t) return null;
  const ms = fromZoned(Number(d[1]), Number(d[2]), Number(d[3]), Number(t[1]), Number(t[2]), tz);
  return Math.floor(ms / 1000);
}

/** The offset of a zone at an instant, as "+01:00". */
export function offsetOf(ms, tz) {
  const z = zoned(ms, tz);
  const shown = Date.UTC(z.year, z.month - 1, z.day, z.hour, z.minute, z.second);
  const minutes = Math.round((shown - Math.floor(ms / 1000) * 1000) / 60000);
  const sign = minutes < 0 ? "-" : "+";
  const a = Math.abs(minutes);
  return `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}
