// Slack's mrkdwn -> safe HTML.
//
// Slack text arrives with exactly "&", "<" and ">" escaped (&amp; &lt; &gt;); a real "<"
// only opens a token: <@U123> (a person), <#C123|name> (a channel), <!here>,
// <!date^…> (a time in the reader's zone) or <https://…|label> (a link). Everything the
// page shows is escaped for HTML first; tokens and formatting are then put back as
// markup we build ourselves, so nothing in a message can inject HTML or script.

import { emojiChar } from "./emoji.js";
import { slackDate } from "./dates.js";

const HTML_ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Escape text for HTML (element content and quoted attributes). */
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/** Slack's three entities back to characters. */
export function unescapeSlack(text) {
  return String(text ?? "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

const SAFE_URL = /^(https?:\/\/[^/?#\\\s]|mailto:[^\s])/i;
// Characters a URL may not carry into an attribute or past its own end: they are
// percent-encoded (a space, quotes, angle brackets, a backtick, a backslash).
const URL_ENCODE = { " ": "%20", '"': "%22", "'": "%27", "<": "%3C", ">": "%3E", "`": "%60", "\\": "%5C" };

/** An http(s) or mailto URL, or null: javascript:, data:, protocol-relative and friends
 * never become links. Spaces, quotes and the like come back percent-encoded, so the URL
 * stays one attribute value; a control or private-use character refuses it. */
export function safeUrl(url) {
  const u = unescapeSlack(url).trim();
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\uE000-\uF8FF]/.test(u)) return null;
  if (!SAFE_URL.test(u)) return null;
  return u.replace(/[ "'<>`\\]/g, (c) => URL_ENCODE[c]);
}

// Placeholders stand for finished HTML while the rest of the text is formatted, so
// formatting can wrap a token ("*<@U1>*") but never enter it. They are made of two
// private-use characters, which are stripped from every text before rendering, around a
// per-render random key and an index: a message can't forge one, and a placeholder that
// doesn't match an item of this render is dropped, never swapped. Finished HTML never
// goes into an attribute value (attr() drops any placeholder there).
const OPEN = "\uE000";
const CLOSE = "\uE001";
const PLACEHOLDER_ANY = /\uE000[^\uE000\uE001]*\uE001/g;
const PRIVATE_MARKS = /[\uE000\uE001]/g;

/** Text with the placeholder marks removed (they never belong to a message). */
function unmarked(text) {
  return String(text ?? "").replace(PRIVATE_MARKS, "");
}

/** A value for a double-quoted attribute: escaped, and never holding finished HTML. */
function attr(value) {
  return escapeHtml(unmarked(String(value ?? "").replace(PLACEHOLDER_ANY, "")));
}

function randomKey() {
  const words = new Uint32Array(2);
  crypto.getRandomValues(words);
  return Array.from(words, (n) => n.toString(36)).join("");
}

class Stash {
  constructor() {
    this.items = [];
    this.key = randomKey();
  }

  put(html) {
    this.items.push(html);
    return `${OPEN}${this.key}:${this.items.length - 1}${CLOSE}`;
  }

  /** The HTML one whole placeholder stands for, or undefined. */
  get(part) {
    const prefix = `${OPEN}${this.key}:`;
    if (!part.startsWith(prefix) || !part.endsWith(CLOSE)) return undefined;
    const index = part.slice(prefix.length, -1);
    return /^\d+$/.test(index) ? this.items[Number(index)] : undefined;
  }

  /** Put the finished HTML back (it may hold placeholders itself: a quote with a link);
   * anything placeholder-like that isn't one of ours is removed. */
  restore(text, depth = 0) {
    const out = text.replace(PLACEHOLDER_ANY, (part) => {
      const html = this.get(part);
      return html === undefined || depth > 8 ? "" : this.restore(html, depth + 1);
    });
    return unmarked(out);
  }
}

/** ":name:" -> the emoji character (an unknown name stays as text). */
export function emojify(escaped, stash) {
  return escaped.replace(/:([a-z0-9_+'-]+(?:::skin-tone-\d)?):/g, (whole, name) => {
    const char = emojiChar(name);
    if (!char) return whole;
    const html = `<span class="emoji" title=":${attr(name)}:">${char}</span>`;
    return stash ? stash.put(html) : html;
  });
}

function renderToken(body, ctx, stash) {
  const [target, ...labelParts] = body.split("|");
  const label = labelParts.join("|");
  if (target.startsWith("@")) {
    const id = target.slice(1);
    const user = ctx.users?.get(id);
    const name = user ? (user.real_name || user.name) : (label || id);
    const mine = id === ctx.me ? " mine" : "";
    return `<span class="mention${mine}" data-user="${attr(id)}">@${escapeHtml(name)}</span>`;
  }
  if (target.startsWith("#")) {
    const id = target.slice(1);
    const channel = ctx.channels?.get(id);
    const name = channel ? channel.name : (label || id);
    return `<a href="#" class="channel-link" data-channel="${attr(id)}">#${escapeHtml(name)}</a>`;
  }
  if (target.startsWith("!date^")) {
    const date = slackDate(body, ctx.tz || "UTC", ctx.nowMs ?? Date.now());
    if (!date) return escapeHtml(unescapeSlack(label || body));
    const text = `<span class="slack-date" title="${attr(unescapeSlack(label))}">${escapeHtml(date.text)}</span>`;
    const link = date.link && safeUrl(date.link);
    return link ? `<a href="${attr(link)}" target="_blank" rel="noopener noreferrer">${text}</a>` : text;
  }
  if (target.startsWith("!subteam^")) {
    return `<span class="mention">${escapeHtml(unescapeSlack(label || "@group"))}</span>`;
  }
  if (target.startsWith("!")) {
    const word = target.slice(1).split("^")[0];
    if (["here", "channel", "everyone"].includes(word)) {
      return `<span class="mention broadcast">@${word}</span>`;
    }
    return escapeHtml(unescapeSlack(label || `<${body}>`));
  }
  const url = safeUrl(target);
  if (!url) return escapeHtml(unescapeSlack(`<${body}>`));
  const shown = label ? inline(label, ctx, stash, { tokens: false }) : escapeHtml(url);
  return `<a href="${attr(url)}" target="_blank" rel="noopener noreferrer">${shown}</a>`;
}

// A bare http(s) URL in message text, which Slack links too: it ends at a space, a quote,
// a backtick, an angle bracket (raw, or as Slack's &lt; &gt;) or a placeholder.
const BARE_URL = /\bhttps?:\/\/(?:(?!&lt;|&gt;)[^\s<>"'`\uE000-\uF8FF])+/gi;
// Trailing characters that end the sentence, not the URL.
const URL_TAIL = /[.,;:!?*_~]$/;

/** Bare URLs to links (finished HTML, stashed); the same safeUrl rules as <url|label>. */
function linkBareUrls(text, stash) {
  return text.replace(BARE_URL, (found) => {
    let raw = found;
    for (;;) {
      const last = raw.at(-1);
      const unbalanced = (last === ")" && !raw.includes("(")) || (last === "]" && !raw.includes("["));
      if (!URL_TAIL.test(raw) && !unbalanced) break;
      raw = raw.slice(0, -1);
    }
    const url = safeUrl(raw);
    if (!url) return found;
    const link = `<a href="${attr(url)}" target="_blank" rel="noopener noreferrer">${escapeHtml(unescapeSlack(raw))}</a>`;
    return stash.put(link) + found.slice(raw.length);
  });
}

const FORMATS = [
  // [marker, tag] — a marker opens after a non-word character and closes before one
  ["\\*", "b"],
  ["_", "i"],
  ["~", "s"],
];

function applyFormats(text) {
  let out = text;
  for (const [m, tag] of FORMATS) {
    const re = new RegExp(`(^|[^\\w${m}])${m}(?!\\s)([^${m}\\n]*?[^\\s${m}])${m}(?=[^\\w${m}]|$)`, "g");
    out = out.replace(re, `$1<${tag}>$2</${tag}>`);
  }
  return out;
}

/** One line-free run of mrkdwn (no code blocks, no quotes) to HTML. */
function inline(text, ctx, stash, { tokens = true } = {}) {
  let work = String(text);
  // inline code first: nothing inside it is formatted
  work = work.replace(/`([^`\n]+)`/g, (_, code) => stash.put(`<code>${escapeHtml(unescapeSlack(code))}</code>`));
  if (tokens) {
    work = work.replace(/<([^<>\n]+)>/g, (_, body) => stash.put(renderToken(body, ctx, stash)));
    work = linkBareUrls(work, stash); // not inside a link's label: no link in a link
  }
  work = escapeHtml(unescapeSlack(work));
  work = emojify(work, stash);
  work = applyFormats(work);
  return work;
}

/** Render mrkdwn text to HTML (safe to assign to innerHTML).
 * ctx: {users: Map, channels: Map, me, tz, nowMs}. */
export function mrkdwn(text, ctx = {}) {
  const stash = new Stash();
  let source = unmarked(text);
  // ```preformatted``` blocks keep their text as is
  source = source.replace(/```([\s\S]*?)```/g, (_, code) =>
    stash.put(`<pre class="pre">${escapeHtml(unescapeSlack(code.replace(/^\n/, "")))}</pre>`));
  const lines = source.split("\n");
  const html = [];
  let quote = [];
  const flushQuote = () => {
    if (quote.length) {
      html.push(stash.put(`<blockquote>${quote.join("<br>")}</blockquote>`));
      quote = [];
    }
  };
  for (const line of lines) {
    const q = /^(?:&gt;|>)\s?(.*)$/.exec(line);
    if (q) {
      quote.push(inline(q[1], ctx, stash));
    } else {
      flushQuote();
      html.push(inline(line, ctx, stash));
    }
  }
  flushQuote();
  // a quote block already ends its line: don't add a <br> after it
  let joined = "";
  html.forEach((part, i) => {
    joined += part;
    if (i < html.length - 1) {
      const isBlock = Boolean(stash.get(part)?.startsWith("<blockquote"));
      if (!isBlock) joined += "<br>";
    }
  });
  return stash.restore(joined);
}

/** A plain_text object's text to HTML: escaped, with :emoji: when it asks for them. */
export function plainText(obj) {
  if (!obj) return "";
  const text = typeof obj === "string" ? obj : obj.text;
  const escaped = escapeHtml(unmarked(text));
  return obj.emoji === false ? escaped : emojify(escaped, null);
}

/** A text object (plain_text or mrkdwn) to HTML. A plain_text section keeps its line
 * breaks, as in Slack (a post's text shown as the network will show it). */
export function textObject(obj, ctx) {
  if (!obj) return "";
  if (obj.type === "mrkdwn") return mrkdwn(obj.text, ctx);
  return plainText(obj).replace(/\n/g, "<br>");
}
