// The network panes: what the accounts the app connected show on the local Bluesky and
// Mastodon (/ui/api/networks), and the form a customer posts with (/ui/api/network_post).
// Everything shown comes from the stand-ins; the page only draws it.

import * as api from "./api.js";
import { h, initials, replaceChildren } from "./dom.js";
import { clockLabel } from "./dates.js";
import { safeUrl } from "./mrkdwn.js";

const ICONS = { bluesky: "🦋", mastodon: "🐘" };

export function icon(pane) {
  return ICONS[pane.network] || "🌐";
}

function link(href, text, extra = {}) {
  const url = safeUrl(String(href || ""));
  return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer", ...extra }, text) : text;
}

const KINDS = { mention: "mentions the brand", reply: "replies", quote: "quotes the brand" };

function postNode(post, tz) {
  const time = Date.parse(post.created_at || post.indexed_at);
  return h("article", { class: `net-post${post.ours ? " ours" : ""}`, dataset: { id: post.id, kind: post.kind } },
    h("div", { class: "avatar" }, initials(post.author.name || post.author.handle.slice(1))),
    h("div", { class: "net-body" },
      h("div", { class: "net-head" },
        h("span", { class: "net-name" }, post.author.name || post.author.handle),
        h("span", { class: "net-handle" }, post.author.handle),
        KINDS[post.kind] ? h("span", { class: "net-kind" }, KINDS[post.kind]) : null,
        h("span", { class: "net-time" }, Number.isNaN(time) ? "" : clockLabel(time, tz))),
      post.reply_to
        ? h("div", { class: "net-reply" }, "↳ in reply to ", link(post.reply_to.url, post.reply_to.author))
        : null,
      h("p", { class: "net-text" }, post.segments.map((s) => (s.href ? link(s.href, s.text) : s.text))),
      post.media.length
        ? h("div", { class: "net-media" }, post.media.map((m) => h("figure", {},
          m.type.startsWith("video") ? h("video", { src: m.url, controls: true, "aria-label": m.alt }) : h("img", { src: m.url, alt: m.alt, loading: "lazy" }),
          h("figcaption", { class: m.alt ? "" : "no-alt" }, m.alt ? `Alt: ${m.alt}` : "No alt text"))))
        : null,
      post.card
        ? h("div", { class: "net-card" }, link(post.card.uri, post.card.title || post.card.uri),
          post.card.description ? h("div", {}, post.card.description) : null)
        : null,
      h("div", { class: "net-url" }, link(post.url, post.url))));
}

/** The pane's fixed parts (header, list, the customer's form): built once per pane. */
export function buildPane(pane, { as, toast }) {
  const header = h("div", { class: "channel-head net-pane-head" });
  const list = h("div", { class: "net-posts", role: "feed", "aria-label": `Posts on ${pane.label}` });
  const text = h("textarea", {
    class: "net-input", rows: 3, "aria-label": `Post on ${pane.label} as the customer`,
  });
  text.value = pane.mention;
  const replyTo = h("select", { class: "net-reply-to", "aria-label": "In reply to" });
  const send = h("button", { type: "submit", class: "btn primary" }, "Post");
  const error = h("div", { class: "net-error", role: "alert", hidden: true });
  const form = h("form", {
    class: "net-form",
    onsubmit: async (e) => {
      e.preventDefault();
      send.disabled = true;
      error.hidden = true;
      try {
        await api.post("network_post", { as: as(), pane: pane.id, text: text.value, reply_to: replyTo.value || null });
        text.value = pane.mention;
        replyTo.value = "";
        toast(`Posted on ${pane.label} as ${pane.customer}.`);
      } catch (problem) {
        error.textContent = problem.message;
        error.hidden = false;
      } finally {
        send.disabled = false;
      }
    },
  },
  h("label", { class: "net-form-label" }, `Post as a customer (${pane.customer})`),
  text, h("div", { class: "net-form-row" }, replyTo, send), error);
  return { header, list, form, replyTo };
}

/** Draw the pane's data into its parts (posts newest first). */
export function drawPane(parts, pane, tz) {
  replaceChildren(parts.header,
    h("h1", {}, h("span", { class: "hash" }, icon(pane)), `${pane.label} · ${pane.handle}`),
    h("span", { class: "purpose" },
      `Brand ${pane.brand} · ${pane.server}${pane.state === "connected" ? "" : ` · ${pane.state}`}`));
  const wanted = JSON.stringify(pane.posts.map((p) => [p.id, p.media.length, p.reply_to?.id]));
  if (parts.list.dataset.shown !== wanted) {
    parts.list.dataset.shown = wanted;
    replaceChildren(parts.list, pane.posts.length
      ? pane.posts.map((p) => postNode(p, tz))
      : h("div", { class: "empty" }, pane.missing
        ? `${pane.handle} isn't on this ${pane.label} any more.`
        : `Nothing on ${pane.label} yet. An approved post due on ${pane.label} appears here once Postroom publishes it.`));
  }
  const ours = pane.posts.filter((p) => p.ours);
  const key = JSON.stringify(ours.map((p) => p.id));
  if (parts.replyTo.dataset.shown === key) return;
  parts.replyTo.dataset.shown = key;
  const chosen = parts.replyTo.value;
  replaceChildren(parts.replyTo, h("option", { value: "" }, "Not a reply (a mention)"),
    ours.map((p) => h("option", { value: p.id },
      `Reply to: ${p.text.slice(0, 60)}${p.text.length > 60 ? "…" : ""}`)));
  parts.replyTo.value = ours.some((p) => p.id === chosen) ? chosen : "";
}
