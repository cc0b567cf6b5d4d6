// The playground page: a Slack-like client over the stand-in's /ui/api.
//
// The page keeps no state of its own beyond what a Slack client keeps (where you are,
// what you typed, what you have read); everything it shows is fetched again after each
// change the stand-in reports over server-sent events. Rendering is split in parts:
// top bar (clock, "Play as"), sidebar, the main pane (a channel, or the app's Home /
// Messages tabs), the thread pane and the modal.

import * as api from "./api.js";
import { h, initials, replaceChildren } from "./dom.js";
import { clockLabel, clockTime, dayKey, dayLabel, fromInputs, toInputs, zoned } from "./dates.js";
import { allEmojiNames, emojiChar, FREQUENT } from "./emoji.js";
import { escapeHtml, mrkdwn, safeUrl } from "./mrkdwn.js";
import { localPath, renderBlocks } from "./blocks.js";
import { GUIDE } from "./guide.js";
import { buildPane, drawPane, icon as networkIcon } from "./networks.js";

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  ws: null, // /ui/api/workspace
  users: new Map(),
  channels: new Map(),
  where: { kind: "channel", id: null, tab: "home" }, // or {kind: "app", tab: "home"|"messages"}, {kind: "network", id}
  networks: [], // /ui/api/networks: a pane per account the app connected on a network
  conversation: null, // /ui/api/conversation
  thread: null, // {channel, ts}
  threadData: null,
  surfaces: { modals: [], home: null },
  notices: [], // the page's own notices ("/x is not a valid command"), {channel, thread_ts, ms, text}
  clock: { serverMs: Date.now(), localMs: Date.now(), busy: false, canAdvance: true },
  seen: {}, // conversation id -> the newest ts the person has looked at
  // person -> what they had seen when this tab first showed them: their ephemerals up to
  // there were shown before, and vanish on reload as in Slack; newer ones stay
  floors: {},
  homeOpening: false,
  connected: true,
  version: -1,
};

// ------------------------------------------------------------------- helpers

function nowMs() {
  return state.clock.serverMs + (Date.now() - state.clock.localMs);
}

function myTz() {
  return state.users.get(state.me)?.tz || "UTC";
}

function ctx(extra = {}) {
  return {
    users: state.users,
    channels: state.channels,
    me: state.me,
    tz: myTz(),
    nowMs: nowMs(),
    people: [...state.users.values()].filter((u) => !u.is_bot && !u.deleted),
    rooms: [...state.channels.values()],
    ...extra,
  };
}

function tsMs(ts) {
  return Math.floor(Number(ts) * 1000);
}

function tsAfter(a, b) {
  if (!a) return false;
  if (!b) return true;
  const [as, am = "0"] = a.split(".");
  const [bs, bm = "0"] = b.split(".");
  return Number(as) > Number(bs) || (as === bs && Number(am) > Number(bm));
}

export function toast(text, kind = "info") {
  const node = h("div", { class: `toast ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  $("toasts").append(node);
  setTimeout(() => node.remove(), 7000);
}

function deliveryProblem(delivery, what) {
  if (!delivery || delivery.ok) return null;
  if (delivery.error === "not_a_command") return delivery.detail;
  const app = state.ws?.app?.name || "The app";
  const code = delivery.error || "dispatch_failed";
  return `${what} failed with the error "${code}"` + (code === "dispatch_failed" ? ` — ${app} didn't answer.` : "");
}

// ---------------------------------------------------------------- the URL

function readUrl() {
  const params = new URLSearchParams(location.search);
  state.me = params.get("as");
  const c = params.get("c");
  if (c === "app") state.where = { kind: "app", tab: params.get("tab") === "messages" ? "messages" : "home" };
  else if (c && c.startsWith("net:")) state.where = { kind: "network", id: c.slice(4) };
  else if (c) state.where = { kind: "channel", id: c };
  const link = permalinkOf(location.href, true);
  if (link) state.pendingLink = link; // opened once the workspace is known
}

/** A permalink to a message of this workspace ({base}/archives/C123/p1700000000123456,
 * thread replies with ?thread_ts=) as {channel, ts, thread_ts}, or null. */
function permalinkOf(href, here = false) {
  let url;
  try { url = new URL(href, location.href); } catch { return null; }
  const ours = here || url.origin === location.origin || url.origin === state.ws?.permalink_base;
  const m = /^\/archives\/([A-Z0-9]+)\/p(\d{7,})$/.exec(url.pathname);
  if (!ours || !m) return null;
  const digits = m[2];
  const ts = `${digits.slice(0, -6)}.${digits.slice(-6)}`;
  const thread = url.searchParams.get("thread_ts");
  return { channel: m[1], ts, thread_ts: thread && thread !== ts ? thread : null };
}

/** Open a permalink in the page: its conversation (and thread), scrolled to the message,
 * highlighted. */
/** A link to this playground under another of its names (the app knows it as
 * 127.0.0.1:PORT, the page may be open at localhost:PORT): the same path at the page's
 * own address, or null. */
function atThisAddress(href) {
  const base = state.ws?.permalink_base;
  let url, ours;
  try { url = new URL(href, location.href); ours = base && new URL(base); } catch { return null; }
  if (!ours || url.origin !== ours.origin || url.origin === location.origin) return null;
  return `${location.origin}${url.pathname}${url.search}${url.hash}`;
}

function openLink(link) {
  const dm = state.ws?.dm?.id;
  if (link.channel === dm) {
    state.where = { kind: "app", tab: "messages" };
  } else if (memberOf(link.channel)) {
    state.where = { kind: "channel", id: link.channel };
  } else {
    const c = state.channels.get(link.channel);
    toast(`You're not in ${c ? `#${c.name}` : "that conversation"} as ${state.users.get(state.me)?.real_name}.`);
    return;
  }
  state.thread = link.thread_ts ? { channel: link.channel, ts: link.thread_ts } : null;
  state.jump = { ...link };
  mainKey = null;
  writeUrl();
  refresh();
}

/** Scroll to the message a permalink named and highlight it, once it is drawn. */
function applyJump() {
  const jump = state.jump;
  if (!jump) return;
  const box = jump.thread_ts ? threadPane.messages : main.messages;
  const loaded = jump.thread_ts ? state.threadData : state.conversation;
  if (!box || !loaded) return;
  const node = [...box.querySelectorAll(".msg")].find((n) => n.dataset.ts === jump.ts);
  state.jump = null;
  if (!node) {
    toast("That message isn't there any more.");
    return;
  }
  box.pinned = false;
  box.anchor = node;
  node.scrollIntoView({ block: "center" });
  node.classList.add("highlight");
  setTimeout(() => node.classList.remove("highlight"), 4000);
}

function writeUrl() {
  const params = new URLSearchParams();
  if (state.me) params.set("as", state.me);
  if (state.where.kind === "app") {
    params.set("c", "app");
    params.set("tab", state.where.tab);
  } else if (state.where.kind === "network") {
    params.set("c", `net:${state.where.id}`);
  } else if (state.where.id) {
    params.set("c", state.where.id);
  }
  history.replaceState(null, "", `/?${params}`);
}

// ------------------------------------------------------------- loading data

let refreshing = false;
let dirty = false;

/** Fetch everything the page shows and draw it; calls made meanwhile coalesce. */
async function refresh() {
  if (refreshing) {
    dirty = true;
    return;
  }
  refreshing = true;
  try {
    do {
      dirty = false;
      await load();
      render();
    } while (dirty);
  } catch (error) {
    console.error(error);
    toast(`Couldn't load the playground: ${error.message}`, "error");
  } finally {
    refreshing = false;
  }
}

function conversationId() {
  if (state.where.kind === "app") return state.where.tab === "messages" ? state.ws?.dm?.id : null;
  if (state.where.kind === "network") return null;
  return state.where.id;
}

async function load() {
  const ws = await api.get("workspace", { as: state.me });
  applyWorkspace(ws);
  if (state.where.kind === "channel" && !memberOf(state.where.id)) {
    const first = ws.channels.find((c) => c.is_member);
    state.where = first ? { kind: "channel", id: first.id } : { kind: "app", tab: "home" };
    state.thread = null;
    writeUrl();
  }
  const id = conversationId();
  const [conversation, surfaces, thread, networks] = await Promise.all([
    id ? api.get("conversation", { as: state.me, channel: id }) : null,
    api.get("surfaces", { as: state.me }),
    state.thread ? api.get("thread", { as: state.me, channel: state.thread.channel, ts: state.thread.ts }).catch(() => null) : null,
    api.get("networks", { as: state.me }),
  ]);
  state.networks = networks.panes;
  if (state.where.kind === "network" && !state.networks.some((p) => p.id === state.where.id)) {
    const first = ws.channels.find((c) => c.is_member);
    state.where = first ? { kind: "channel", id: first.id } : { kind: "app", tab: "home" };
    writeUrl();
  }
  state.conversation = conversation;
  state.surfaces = surfaces;
  state.threadData = thread;
  if (state.thread && !thread) state.thread = null;
}

function memberOf(id) {
  return Boolean(id && state.channels.get(id)?.is_member);
}

function applyWorkspace(ws) {
  state.ws = ws;
  state.users = new Map(ws.users.map((u) => [u.id, u]));
  state.channels = new Map(ws.channels.map((c) => [c.id, c]));
  setClock(ws.clock);
  loadSeen(ws);
}

function setClock(clock) {
  state.clock = {
    serverMs: clock.epoch_ms,
    localMs: Date.now(),
    busy: clock.busy,
    canAdvance: clock.can_advance,
  };
}

// What the person has read, per person, kept in the browser like a Slack client does.
function seenKey() {
  return `postroom-playground-seen:${state.me}`;
}

function loadSeen(ws) {
  const stored = localStorage.getItem(seenKey());
  if (stored) {
    state.seen = JSON.parse(stored);
  } else {
    // first visit as this person: what is already there counts as read
    state.seen = Object.fromEntries(ws.channels.map((c) => [c.id, c.latest]));
    state.seen[ws.dm.id] = ws.dm.latest;
    saveSeen();
  }
  state.floors[state.me] ||= { ...state.seen };
}

/** Not an ephemeral this person already saw before the tab (re)loaded. */
function current(m, conversation) {
  return !m.is_ephemeral || m.is_notice || tsAfter(m.ts, state.floors[state.me]?.[conversation]);
}

/** The newest ts among messages (the page's own notices don't count). */
function newestTs(messages) {
  return messages.reduce((newest, m) => (!m.is_notice && tsAfter(m.ts, newest) ? m.ts : newest), null);
}

function saveSeen() {
  localStorage.setItem(seenKey(), JSON.stringify(state.seen));
}

function markSeen(id, latest) {
  if (id && tsAfter(latest, state.seen[id])) {
    state.seen[id] = latest;
    saveSeen();
  }
}

// ------------------------------------------------------------------ drawing

function render() {
  renderTopbar();
  renderSidebar();
  renderMain();
  renderThread();
  renderModal();
  applyJump();
}

function personLabel(user) {
  return user.title ? `${user.real_name} — ${user.title}` : user.real_name;
}

function renderTopbar() {
  const select = $("play-as");
  const people = state.ws.users.filter((u) => !u.is_bot && !u.deleted);
  const wanted = people.map((u) => `${u.id}|${personLabel(u)}`).join("\n");
  if (select.dataset.list !== wanted) {
    replaceChildren(select, people.map((u) => h("option", { value: u.id }, personLabel(u))));
    select.dataset.list = wanted;
  }
  select.value = state.me;
  renderClock();
}

function renderClock() {
  const tz = myTz();
  $("clock-label").textContent = clockLabel(nowMs(), tz);
  $("clock-zone").textContent = tz;
  $("jump-zone").textContent = tz;
  $("clock-busy").hidden = !state.clock.busy;
  $("clock-button").classList.toggle("busy", state.clock.busy);
  $("clock-button").disabled = !state.clock.canAdvance;
}

function avatar(user, big = false) {
  if (!user) return h("div", { class: `avatar${big ? " big" : ""}` }, "?");
  if (user.app) return h("div", { class: `avatar app${big ? " big" : ""}` }, "P");
  return h("div", { class: `avatar${big ? " big" : ""}`, style: { background: `#${user.color}` } }, initials(user.real_name));
}

function renderSidebar() {
  $("team-name").textContent = state.ws.team.name;
  const me = state.users.get(state.me);
  replaceChildren($("me"), avatar(me), h("span", { class: "me-name" }, me.real_name),
    me.title ? h("span", { class: "me-title" }, me.title) : null);
  const list = $("channel-list");
  replaceChildren(list, state.ws.channels.filter((c) => c.is_member).map((c) => {
    const current = state.where.kind === "channel" && state.where.id === c.id;
    const unread = !current && tsAfter(c.latest, state.seen[c.id]);
    return h("li", {},
      h("a", {
        href: "#",
        class: `side-item${current ? " current" : ""}${unread ? " unread" : ""}`,
        dataset: { channel: c.id },
        "aria-current": current ? "page" : null,
        onclick: (e) => { e.preventDefault(); goChannel(c.id); },
      }, h("span", { class: "hash" }, c.is_private ? "🔒" : "#"), c.name));
  }));
  const app = state.ws.app;
  const inApp = state.where.kind === "app";
  const unread = tsAfter(state.ws.dm.latest, state.seen[state.ws.dm.id]) && !(inApp && state.where.tab === "messages");
  replaceChildren($("app-list"), h("li", {},
    h("a", {
      href: "#",
      class: `side-item app-item${inApp ? " current" : ""}${unread ? " unread" : ""}`,
      dataset: { app: app.user_id },
      onclick: (e) => { e.preventDefault(); goApp(unread ? "messages" : "home"); },
    }, h("span", { class: "app-dot" }, "P"), app.name, unread ? h("span", { class: "badge", "aria-label": "new messages" }, "●") : null)));
  $("network-section").hidden = !state.networks.length;
  replaceChildren($("network-list"), state.networks.map((pane) => {
    const current = state.where.kind === "network" && state.where.id === pane.id;
    return h("li", {},
      h("a", {
        href: "#",
        class: `side-item${current ? " current" : ""}`,
        dataset: { network: pane.id },
        title: `${pane.label} · ${pane.handle}`,
        "aria-current": current ? "page" : null,
        onclick: (e) => { e.preventDefault(); goNetwork(pane.id); },
      }, h("span", { class: "hash" }, networkIcon(pane)), h("span", { class: "side-name" }, `${pane.label} · ${pane.short_handle}`)));
  }));
}

// ------------------------------------------------------------ navigation

function goChannel(id) {
  state.where = { kind: "channel", id };
  state.thread = null;
  mainKey = null;
  writeUrl();
  refresh();
}

function goNetwork(id) {
  state.where = { kind: "network", id };
  state.thread = null;
  mainKey = null;
  writeUrl();
  refresh();
}

function goApp(tab) {
  const opening = !(state.where.kind === "app" && state.where.tab === tab);
  state.where = { kind: "app", tab };
  state.thread = null;
  mainKey = null;
  writeUrl();
  if (tab === "home" && opening) openHome();
  refresh();
}

async function openHome() {
  state.homeOpening = true;
  try {
    const result = await api.post("home", { as: state.me });
    const problem = deliveryProblem(result.delivery, "Opening the Home tab");
    if (problem) toast(problem, "error");
  } catch (error) {
    toast(error.message, "error");
  } finally {
    state.homeOpening = false;
    refresh();
  }
}

function openThread(channel, ts) {
  state.thread = { channel, ts };
  refresh();
}

// ------------------------------------------------------------- main pane

let mainKey = null; // what the main pane shows; rebuilt only when it changes
const main = { messages: null, composer: null, home: null, header: null, network: null };

function renderMain() {
  const key = state.where.kind === "app" ? `app:${state.where.tab}:${state.me}` : `${state.where.kind}:${state.where.id}:${state.me}`;
  if (key !== mainKey) {
    mainKey = key;
    buildMain();
  }
  if (state.where.kind === "network") {
    const shown = state.networks.find((p) => p.id === state.where.id);
    if (shown && main.network) drawPane(main.network, shown, myTz());
  } else if (state.where.kind === "channel") {
    updateChannelHeader();
    const shown = visibleMessages();
    drawMessages(main.messages, shown, { stick: true });
    markSeen(state.where.id, newestTs([...shown, { ts: state.channels.get(state.where.id)?.latest }]));
  } else if (state.where.tab === "messages") {
    const shown = visibleMessages();
    drawMessages(main.messages, shown, { stick: true });
    markSeen(state.ws.dm.id, newestTs([...shown, { ts: state.ws.dm.latest }]));
  } else {
    drawHome();
  }
}

function buildMain() {
  const pane = $("main");
  main.messages = null;
  main.home = null;
  main.network = null;
  if (state.where.kind === "network") {
    const shown = state.networks.find((p) => p.id === state.where.id);
    if (!shown) return;
    main.network = buildPane(shown, { as: () => state.me, toast });
    replaceChildren(pane, main.network.header, h("div", { class: "list-wrap" }, main.network.list), main.network.form);
  } else if (state.where.kind === "channel") {
    main.header = h("div", { class: "channel-head" });
    const { list, wrap } = messageList("Messages");
    main.messages = list;
    const c = state.channels.get(state.where.id);
    main.composer = composer({ placeholder: `Message #${c?.name || ""}`, channel: () => state.where.id });
    replaceChildren(pane, main.header, wrap, main.composer);
  } else {
    const app = state.ws.app;
    const tab = (name, label) => h("button", {
      type: "button", role: "tab", class: `tab${state.where.tab === name ? " current" : ""}`,
      "aria-selected": state.where.tab === name ? "true" : "false",
      onclick: () => goApp(name),
    }, label);
    main.header = h("div", { class: "channel-head app-head" },
      avatar({ app: true }, true),
      h("div", {}, h("h1", {}, app.name, h("span", { class: "app-badge" }, "APP")),
        h("nav", { class: "tabs", role: "tablist" }, tab("home", "Home"), tab("messages", "Messages"))));
    if (state.where.tab === "messages") {
      const { list, wrap } = messageList("Messages");
      main.messages = list;
      main.composer = composer({
        placeholder: `Message ${app.name} (slash commands only)`,
        channel: () => state.ws.dm.id,
        commandsOnly: true,
      });
      replaceChildren(pane, main.header, wrap, main.composer);
    } else {
      main.home = h("div", { class: "home" });
      replaceChildren(pane, main.header, main.home);
    }
  }
}

function updateChannelHeader() {
  const c = state.channels.get(state.where.id);
  if (!c) return;
  const about = c.purpose || c.topic;
  replaceChildren(main.header,
    h("h1", {}, h("span", { class: "hash" }, c.is_private ? "🔒" : "#"), c.name),
    about ? h("span", { class: "purpose" }, about) : null,
    h("span", { class: "members", title: c.members.map((id) => state.users.get(id)?.real_name).join(", ") },
      `👥 ${c.members.length}`),
    c.app_member ? null : h("span", { class: "no-app", title: "Postroom can't see this channel until someone invites it" }, "Postroom is not in this channel"));
}

function visibleMessages() {
  const id = conversationId();
  const messages = (state.conversation?.messages || []).filter((m) => current(m, id));
  const notices = state.notices.filter((n) => n.channel === id && !n.thread_ts).map(noticeMessage);
  return [...messages, ...notices].sort((a, b) => Number(a.ts) - Number(b.ts));
}

function noticeMessage(n) {
  return { ts: (n.ms / 1000).toFixed(6), is_notice: true, text: n.text, is_ephemeral: true, key: n.key };
}

function drawHome() {
  const home = state.surfaces.home;
  if (!home) {
    replaceChildren(main.home, h("div", { class: "empty" },
      state.homeOpening ? "Opening the Home tab…" : `${state.ws.app.name} hasn't published a Home tab for you yet.`));
    main.home.dataset.hash = "";
    return;
  }
  if (main.home.dataset.hash === home.hash) return;
  main.home.dataset.hash = home.hash;
  replaceChildren(main.home, renderBlocks(home.blocks, ctx({
    onAction: (a) => act({ ...a, view_id: home.id }),
  })));
}

// --------------------------------------------------------------- messages

/** Draw a list of messages, reusing the nodes of messages that did not change. */
function drawMessages(container, messages, { stick = false, inThread = false } = {}) {
  if (!container) return;
  const old = new Map([...container.children].map((n) => [n.dataset.key, n]));
  const nodes = [];
  let lastDay = null;
  const tz = myTz();
  const now = nowMs();
  messages.forEach((m, i) => {
    const ms = tsMs(m.ts);
    const day = dayKey(ms, tz);
    if (!inThread && day !== lastDay) {
      const key = `day:${day}:${dayLabel(ms, tz, now)}`;
      nodes.push(old.get(key) || h("div", { class: "day-divider", dataset: { key } }, h("span", {}, dayLabel(ms, tz, now))));
      lastDay = day;
    }
    if (inThread && i === 1) {
      const key = `replies:${messages.length - 1}`;
      nodes.push(old.get(key) || h("div", { class: "replies-divider", dataset: { key } },
        `${messages.length - 1} ${messages.length === 2 ? "reply" : "replies"}`));
    }
    const key = m.key || `${m.is_ephemeral ? "e" : "m"}:${m.ts}`;
    const sig = JSON.stringify([m, state.me, tz, Math.floor(now / 60000), state.users.size, inThread]);
    let node = old.get(key);
    if (!node || node.dataset.sig !== sig) {
      node = messageNode(m, { inThread });
      node.dataset.key = key;
      node.dataset.sig = sig;
    }
    nodes.push(node);
  });
  if (!messages.length) {
    nodes.push(h("div", { class: "empty", dataset: { key: "empty" } }, inThread ? "" : "No messages yet."));
  }
  const same = nodes.length === container.children.length && nodes.every((n, i) => container.children[i] === n);
  if (!same) container.replaceChildren(...nodes);
  const newest = nodes.at(-1)?.dataset.key;
  if (stick && container.pinned) {
    toBottom(container);
  } else if (newest !== container.newestSeen) {
    container.pill?.removeAttribute("hidden"); // something new, below the view
  }
}

// A message list sticks to the bottom while its reader is there ("pinned"): new
// messages, and images that finish loading, keep the newest in view. Scrolled up, it
// stays put and a "New messages" pill offers the way down.
function distanceFromBottom(box) {
  return box.scrollHeight - box.scrollTop - box.clientHeight;
}

function toBottom(box) {
  box.pinned = true;
  box.anchor = null;
  box.scrollTop = box.scrollHeight;
  box.setTop = box.scrollTop; // its scroll event is ours, not the reader's
  box.newestSeen = box.lastElementChild?.dataset.key;
  box.pill?.setAttribute("hidden", "");
}

function messageList(label, extraClass = "") {
  const list = h("div", { class: `messages${extraClass}`, role: "log", "aria-label": label });
  const pill = h("button", {
    type: "button", class: "new-pill", hidden: true,
    onclick: () => toBottom(list),
  }, "New messages ↓");
  list.pinned = true;
  list.pill = pill;
  list.addEventListener("scroll", () => {
    // where toBottom() put it, even if the content grew since (an image's size arriving)
    if (list.pinned && Math.abs(list.scrollTop - list.setTop) < 2) return;
    list.setTop = null;
    list.pinned = distanceFromBottom(list) < 60;
    if (list.pinned) {
      list.newestSeen = list.lastElementChild?.dataset.key;
      pill.hidden = true;
    }
  });
  // an image loading makes its message taller: still pinned, still at the bottom (or,
  // after a permalink, still on the linked message until the reader moves)
  list.addEventListener("load", () => {
    if (list.pinned) toBottom(list);
    else if (list.anchor?.isConnected) list.anchor.scrollIntoView({ block: "center" });
  }, true);
  for (const kind of ["wheel", "touchstart", "keydown", "mousedown"]) {
    list.addEventListener(kind, () => { list.anchor = null; }, { passive: true });
  }
  return { list, wrap: h("div", { class: "list-wrap" }, list, pill) };
}

function authorOf(m) {
  if (m.is_notice) return { name: "Slackbot", node: h("div", { class: "avatar slackbot" }, "S"), app: false };
  if (m.bot_id || m.user === state.ws.app.user_id) {
    return { name: state.ws.app.name, node: avatar({ app: true }), app: true };
  }
  const user = state.users.get(m.user);
  return { name: user?.real_name || m.user || "someone", node: avatar(user), app: Boolean(user?.is_bot) };
}

function messageNode(m, { inThread }) {
  const author = authorOf(m);
  const ms = tsMs(m.ts);
  const channel = m.channel || conversationId();
  const body = h("div", { class: "msg-body" });
  body.append(h("div", { class: "msg-head" },
    h("span", { class: "author" }, author.name),
    author.app ? h("span", { class: "app-badge" }, "APP") : null,
    h("time", { datetime: new Date(ms).toISOString(), title: new Date(ms).toUTCString() }, clockTime(ms, myTz())),
    m.edited ? h("span", { class: "edited" }, "(edited)") : null));
  if (m.subtype === "tombstone") {
    body.append(h("div", { class: "tombstone" }, "This message was deleted."));
  } else if (m.blocks?.length) {
    body.append(renderBlocks(m.blocks, ctx({
      // the click comes from the message as this page shows it (Slack's client does the
      // same): if the app has changed it since, the stand-in sends this version's element
      onAction: (a) => act({ ...a, channel: m.channel || channel, message_ts: m.ts, revision: m.revision }),
    })));
  } else if (m.text) {
    body.append(h("div", { class: "msg-text", html: mrkdwn(m.text, ctx()) }));
  }
  for (const attachment of m.attachments || []) body.append(attachmentNode(attachment));
  if (m.files?.length) body.append(h("div", { class: "files" }, m.files.map(fileNode)));
  if (m.reactions?.length) {
    body.append(h("div", { class: "reactions" }, m.reactions.map((r) => reactionPill(r, channel, m.ts))));
  }
  if (!inThread && m.reply_count) {
    body.append(h("button", {
      type: "button", class: "reply-count",
      onclick: () => openThread(channel, m.ts),
    }, `💬 ${m.reply_count} ${m.reply_count === 1 ? "reply" : "replies"}`));
  }
  if (m.is_ephemeral) {
    body.append(h("div", { class: "only-you" }, "👁 Only visible to you"));
  }
  const node = h("div", {
    class: `msg${m.is_ephemeral ? " ephemeral" : ""}`,
    dataset: { ts: m.ts, channel, user: m.user || "" },
  }, author.node, body);
  if (!m.is_ephemeral && m.subtype !== "tombstone") {
    node.append(h("div", { class: "msg-tools" },
      h("button", {
        type: "button", class: "tool", title: "Add reaction", "aria-label": "Add reaction",
        onclick: (e) => openPicker(e.currentTarget, channel, m.ts),
      }, "☺+"),
      inThread ? null : h("button", {
        type: "button", class: "tool", title: "Reply in thread", "aria-label": "Reply in thread",
        onclick: () => openThread(channel, m.ts),
      }, "💬")));
  }
  return node;
}

function attachmentNode(a) {
  const color = a.color ? (a.color.startsWith("#") ? a.color : ({ good: "#2eb67d", warning: "#ecb22e", danger: "#e01e5a" }[a.color] || `#${a.color}`)) : "#ddd";
  const node = h("div", { class: "attachment", style: { borderLeftColor: color } });
  if (a.pretext) node.append(h("div", { html: mrkdwn(a.pretext, ctx()) }));
  if (a.title) node.append(h("div", { class: "att-title" }, a.title));
  if (a.text) node.append(h("div", { html: mrkdwn(a.text, ctx()) }));
  if (a.blocks?.length) node.append(renderBlocks(a.blocks, ctx()));
  for (const f of a.fields || []) node.append(h("div", { class: "att-field" }, h("b", {}, f.title), h("div", { html: mrkdwn(f.value, ctx()) })));
  if (a.footer) node.append(h("div", { class: "b-context", html: mrkdwn(a.footer, ctx()) }));
  return node;
}

function fileSize(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function fileNode(f) {
  const url = f.url_private || f.url_private_download;
  // a file on this server by its path, another one only over http(s): never
  // javascript:, data: or a protocol-relative address
  let local = null;
  try { local = url ? new URL(url, location.href) : null; } catch { local = null; }
  const href = local && local.origin === location.origin ? localPath(local.pathname) : safeUrl(url || "");
  if ((f.mimetype || "").startsWith("image/") && href) {
    return h("figure", { class: "file image-file" },
      h("figcaption", {}, f.title || f.name),
      h("a", { href, target: "_blank", rel: "noopener" }, h("img", { src: href, alt: f.alt_txt || f.title || f.name })));
  }
  return h("a", { class: "file doc-file", href: href || "#", download: f.name || true },
    h("span", { class: "file-icon" }, (f.filetype || "file").toUpperCase().slice(0, 4)),
    h("span", { class: "file-meta" }, h("span", { class: "file-name" }, f.title || f.name),
      h("span", { class: "file-size" }, `${f.pretty_type || ""} ${fileSize(f.size)} · Download`)));
}

function reactionPill(r, channel, ts) {
  const mine = r.users.includes(state.me);
  const who = r.users.map((id) => state.users.get(id)?.real_name || id).join(", ");
  return h("button", {
    type: "button",
    class: `reaction${mine ? " mine" : ""}`,
    title: `${who} reacted with :${r.name}:`,
    dataset: { emoji: r.name },
    onclick: () => { if (!mine) react(channel, ts, r.name); },
  }, h("span", { class: "emoji" }, emojiChar(r.name) || `:${r.name}:`), h("span", { class: "count" }, String(r.count)));
}

// ----------------------------------------------------------------- picker

let picker = null;

function closePicker() {
  picker?.remove();
  picker = null;
}

function openPicker(anchor, channel, ts) {
  closePicker();
  const featured = (state.ws.featured_emoji || []).filter(Boolean);
  const search = h("input", { type: "search", class: "picker-search", placeholder: "Search emoji", "aria-label": "Search emoji" });
  const grid = h("div", { class: "picker-grid" });
  const section = (title, names) => names.length
    ? [h("div", { class: "picker-section" }, title), h("div", { class: "picker-row" }, names.map(emojiButton))]
    : [];
  const emojiButton = (name) => h("button", {
    type: "button", class: "picker-emoji", title: `:${name}:`, "aria-label": `:${name}:`,
    dataset: { emoji: name },
    onclick: () => { closePicker(); react(channel, ts, name); },
  }, emojiChar(name) || `:${name}:`);
  const draw = () => {
    const q = search.value.trim().replace(/:/g, "").toLowerCase();
    if (q) {
      const names = [...new Set([...featured, ...allEmojiNames()])].filter((n) => n.includes(q));
      replaceChildren(grid, section("Search results", names), names.length ? null : h("div", { class: "empty" }, "No emoji found."));
      return;
    }
    replaceChildren(grid,
      section(`Routed by ${state.ws.app.name} — opens a ticket`, featured),
      section("Frequently used", FREQUENT.filter((n) => !featured.includes(n))),
      section("All", allEmojiNames().filter((n) => !featured.includes(n) && !FREQUENT.includes(n))));
  };
  search.addEventListener("input", draw);
  draw();
  picker = h("div", { class: "picker", role: "dialog", "aria-label": "Emoji picker" }, search, grid);
  document.body.append(picker);
  const box = anchor.getBoundingClientRect();
  const top = Math.min(box.bottom + 4, window.innerHeight - 380);
  const left = Math.min(Math.max(8, box.right - 340), window.innerWidth - 350);
  Object.assign(picker.style, { top: `${Math.max(8, top)}px`, left: `${left}px` });
  search.focus();
}

document.addEventListener("mousedown", (e) => {
  if (picker && !picker.contains(e.target) && !e.target.closest(".tool")) closePicker();
  const panel = $("clock-panel");
  if (!panel.hidden && !panel.contains(e.target) && !$("clock-button").contains(e.target)) toggleClockPanel(false);
});

// -------------------------------------------------------------- composer

function composer({ placeholder, channel, threadTs = null, commandsOnly = false }) {
  const input = h("textarea", { class: "composer-input", rows: 1, placeholder, "aria-label": placeholder });
  const hints = h("div", { class: "cmd-hints", hidden: true });
  const sendButton = h("button", { type: "button", class: "btn primary send", "aria-label": "Send" }, "Send");
  const mentions = mentionMenu(input);
  const showHints = () => {
    const text = input.value;
    const commands = state.ws.commands.filter((c) => text.startsWith("/") && !text.includes(" ") && c.command.startsWith(text));
    hints.hidden = !commands.length || threadTs !== null;
    replaceChildren(hints, commands.map((c) => h("button", {
      type: "button", class: "cmd-hint",
      onclick: () => { input.value = `${c.command} `; hints.hidden = true; input.focus(); },
    }, h("b", {}, c.command), " ", h("span", { class: "usage" }, c.usage_hint || ""),
    h("div", { class: "cmd-desc" }, c.description || ""))));
  };
  const submit = async () => {
    const text = input.value.trim();
    if (!text) return;
    const id = channel();
    if (commandsOnly && !text.startsWith("/")) {
      addNotice(id, threadTs, "Sending messages to this app has been turned off. Slash commands still work here.");
      input.value = "";
      return;
    }
    sendButton.disabled = true;
    input.disabled = true;
    // what you send (and the app's answer) shows at the bottom, wherever you had scrolled
    const list = threadTs === null ? main.messages : threadPane.messages;
    if (list) toBottom(list);
    try {
      const result = await api.post("send", { as: state.me, channel: id, text, thread_ts: threadTs });
      input.value = "";
      hints.hidden = true;
      const command = text.split(" ")[0];
      const problem = deliveryProblem(result.delivery, command);
      if (problem) {
        addNotice(id, threadTs, result.delivery.error === "not_a_command"
          ? `${command} is not a valid command. In Slack, all messages that start with the "/" character are interpreted as commands.`
          : `${problem}`);
      }
    } catch (error) {
      toast(error.message, "error");
    } finally {
      sendButton.disabled = false;
      input.disabled = false;
      input.focus();
      refresh();
    }
  };
  input.addEventListener("input", () => {
    showHints();
    mentions.update();
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  });
  input.addEventListener("keydown", (e) => {
    if (mentions.key(e)) return;
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  sendButton.addEventListener("click", submit);
  const help = threadTs === null
    ? h("div", { class: "composer-help" }, "Type ", h("b", {}, "/post"), " for the app's commands · ",
      h("b", {}, "@"), " a person, ", h("b", {}, "#"), " a channel · ",
      h("b", {}, "Enter"), " sends · ", h("b", {}, "Shift+Enter"), " adds a line")
    : null;
  return h("div", { class: "composer" }, hints, mentions.node,
    h("div", { class: "composer-box" }, input, sendButton), help);
}

// What `@` and `#` offer in the composer, as Slack's does: the people of the workspace
// and the channels one can see. A choice puts the handle in the text (`@maria`,
// `#support`), which Slack sends escaped (`<@U…|maria>`, `<#C…|support>`): the stand-in
// escapes what is typed the same way.
const MENTION_AT = /(?:^|[^\w<@#&])([@#])([\w.-]*)$/;
const MAX_MENTIONS = 8;

function mentionCandidates(sigil, typed) {
  const q = typed.toLowerCase();
  const starts = (...names) => names.some((n) => n && String(n).toLowerCase()
    .split(/[\s.\-_]+/).concat(String(n).toLowerCase()).some((w) => w.startsWith(q)));
  if (sigil === "@") {
    const people = [...state.users.values()]
      .filter((u) => !u.deleted && !u.is_bot && starts(u.name, u.display_name, u.real_name))
      .map((u) => ({
        handle: `@${u.name}`, key: u.id, user: u,
        label: u.real_name, detail: `@${u.name}${u.title ? ` · ${u.title}` : ""}`,
      }));
    const special = [["here", "Notify everyone online in this channel"], ["channel", "Notify everyone in this channel"]]
      .filter(([word]) => word.startsWith(q))
      .map(([word, detail]) => ({ handle: `@${word}`, key: word, label: `@${word}`, detail }));
    return [...people, ...special].slice(0, MAX_MENTIONS);
  }
  return [...state.channels.values()]
    .filter((c) => !c.is_archived && (!c.is_private || c.is_member) && starts(c.name))
    .sort((a, b) => Number(b.is_member) - Number(a.is_member) || a.name.localeCompare(b.name))
    .slice(0, MAX_MENTIONS)
    .map((c) => ({
      handle: `#${c.name}`, key: c.id, channel: c,
      label: `${c.is_private ? "🔒" : "#"}${c.name}`, detail: c.is_member ? c.purpose || "" : "not a member",
    }));
}

function mentionMenu(input) {
  const node = h("div", { class: "mention-menu", role: "listbox", "aria-label": "People and channels", hidden: true });
  let open = null; // {start, end, items, index}
  const close = () => { open = null; node.hidden = true; };
  const draw = () => {
    replaceChildren(node, open.items.map((item, i) => h("button", {
      type: "button", role: "option", class: `mention-option${i === open.index ? " active" : ""}`,
      "aria-selected": i === open.index ? "true" : "false", dataset: { handle: item.handle },
      onmousedown: (e) => e.preventDefault(), // keep the focus (and the caret) in the composer
      onclick: () => choose(i),
    }, item.user ? avatar(item.user) : h("span", { class: "mention-sigil" }, item.channel ? "" : "📣"),
    h("span", { class: "mention-label" }, item.label),
    h("span", { class: "mention-detail" }, item.detail))));
    node.hidden = false;
  };
  const choose = (i) => {
    const item = open?.items[i];
    if (!item) return;
    const before = input.value.slice(0, open.start);
    const after = input.value.slice(open.end).replace(/^[\w.-]*/, "");
    const spacer = after.startsWith(" ") ? "" : " ";
    input.value = `${before}${item.handle}${spacer}${after}`;
    const caret = before.length + item.handle.length + 1;
    input.setSelectionRange(caret, caret);
    close();
    input.focus();
    input.dispatchEvent(new Event("input"));
  };
  const update = () => {
    const caret = input.selectionStart;
    const found = caret === input.selectionEnd ? MENTION_AT.exec(input.value.slice(0, caret)) : null;
    const items = found ? mentionCandidates(found[1], found[2]) : [];
    if (!items.length) return close();
    open = { start: caret - found[2].length - 1, end: caret, items, index: 0 };
    draw();
  };
  const key = (e) => {
    if (!open) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      const step = e.key === "ArrowDown" ? 1 : -1;
      open.index = (open.index + step + open.items.length) % open.items.length;
      draw();
    } else if ((e.key === "Enter" || e.key === "Tab") && !e.shiftKey && !e.isComposing) {
      choose(open.index);
    } else if (e.key === "Escape") {
      close();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  };
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("click", update);
  return { node, update, key };
}

let noticeCount = 0;

function addNotice(channel, threadTs, text) {
  noticeCount += 1;
  state.notices.push({ channel, thread_ts: threadTs, ms: nowMs(), text, key: `n:${noticeCount}` });
  render();
}

// ------------------------------------------------------- doing things

async function act(action) {
  try {
    const result = await api.post("action", { as: state.me, ...action });
    const problem = deliveryProblem(result.delivery, "That action");
    if (problem) toast(problem, "error");
  } catch (error) {
    toast(error.message, "error");
  } finally {
    refresh();
  }
}

async function react(channel, ts, name) {
  try {
    const result = await api.post("react", { as: state.me, channel, ts, name });
    const problem = deliveryProblem(result.delivery, "The reaction");
    if (problem) toast(problem, "error");
  } catch (error) {
    toast(error.message, "error");
  } finally {
    refresh();
  }
}

// ----------------------------------------------------------------- thread

const threadPane = { key: null, messages: null };

function renderThread() {
  const pane = $("thread");
  if (!state.thread || !state.threadData) {
    pane.hidden = true;
    threadPane.key = null;
    return;
  }
  pane.hidden = false;
  const key = `${state.me}:${state.thread.channel}:${state.thread.ts}`;
  if (threadPane.key !== key) {
    threadPane.key = key;
    const c = state.channels.get(state.thread.channel);
    const { list, wrap } = messageList("Thread", " thread-messages");
    threadPane.messages = list;
    replaceChildren(pane,
      h("div", { class: "thread-head" },
        h("div", {}, h("b", {}, "Thread"), c ? h("span", { class: "thread-where" }, ` #${c.name}`) : null),
        h("button", {
          type: "button", class: "close-x", "aria-label": "Close thread", title: "Close",
          onclick: () => { state.thread = null; renderThread(); },
        }, "×")),
      wrap,
      composer({ placeholder: "Reply…", channel: () => state.thread.channel, threadTs: state.thread.ts }));
  }
  const notices = state.notices
    .filter((n) => n.channel === state.thread.channel && n.thread_ts === state.thread.ts)
    .map(noticeMessage);
  const [parent, ...all] = state.threadData.messages;
  const replies = all.filter((m) => current(m, state.thread.channel));
  markSeen(state.thread.channel, newestTs(replies));
  drawMessages(threadPane.messages, [parent, ...[...replies, ...notices].sort((a, b) => Number(a.ts) - Number(b.ts))],
    { stick: true, inThread: true });
}

// ------------------------------------------------------------------ modal

const modal = { id: null, hash: null, node: null, fields: [], errorsKey: null, busy: false, problem: null };

function renderModal() {
  const root = $("modal-root");
  const top = state.surfaces.modals.at(-1);
  if (!top) {
    if (modal.node) root.replaceChildren();
    Object.assign(modal, { id: null, hash: null, node: null, fields: [], errorsKey: null, problem: null });
    return;
  }
  const view = top.view;
  const errorsKey = JSON.stringify(top.errors || {});
  if (modal.id === view.id && modal.hash === view.hash) {
    if (modal.errorsKey !== errorsKey) {
      modal.errorsKey = errorsKey;
      showErrors(top.errors || {});
    }
    return;
  }
  const prefill = modal.id === view.id ? currentValues() : {};
  buildModal(view, top.errors || {}, prefill, state.surfaces.modals.length);
  modal.errorsKey = errorsKey;
}

function currentValues() {
  const values = {};
  for (const f of modal.fields) {
    (values[f.block_id] ||= {})[f.action_id] = f.kept ? f.kept() : f.get();
  }
  return values;
}

function showErrors(errors) {
  for (const f of modal.fields) {
    const text = errors[f.block_id];
    const box = f.node.querySelector(".input-error");
    f.node.classList.toggle("has-error", Boolean(text));
    box.hidden = !text;
    box.textContent = text || "";
  }
  const first = modal.fields.find((f) => errors[f.block_id]);
  first?.node.scrollIntoView({ block: "nearest" });
}

function buildModal(view, errors, prefill, depth) {
  const fields = [];
  const body = renderBlocks(view.blocks, ctx({
    fields,
    prefill,
    errors,
    onAction: (a) => act({ ...a, view_id: view.id }),
    suggest: async (q) => (await api.post("suggest", { as: state.me, view_id: view.id, ...q })).options,
  }));
  const problem = h("div", { class: "modal-problem", role: "alert", hidden: true });
  const close = () => closeModal(view.id);
  const submit = view.submit
    ? h("button", { type: "button", class: "btn primary", onclick: () => submitModal(view), html: escapeHtml(view.submit.text) })
    : null;
  const dialog = h("div", { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": view.title?.text || "Modal", dataset: { viewId: view.id, callbackId: view.callback_id || "" } },
    h("div", { class: "modal-head" },
      depth > 1 ? h("button", { type: "button", class: "back", "aria-label": "Back", title: "Back", onclick: close }, "←") : avatar({ app: true }),
      h("div", { class: "modal-title" }, view.title?.text || ""),
      h("button", { type: "button", class: "close-x", "aria-label": "Close", title: "Close", onclick: close }, "×")),
    h("div", { class: "modal-body" }, body),
    problem,
    h("div", { class: "modal-foot" },
      h("button", { type: "button", class: "btn", onclick: close }, view.close?.text || (view.submit ? "Cancel" : "Close")),
      submit));
  const overlay = h("div", { class: "overlay" }, dialog);
  $("modal-root").replaceChildren(overlay);
  Object.assign(modal, { id: view.id, hash: view.hash, node: dialog, fields, problem });
  const first = dialog.querySelector("input:not([type=hidden]), textarea, select");
  if (first && !dialog.contains(document.activeElement)) first.focus();
}

async function closeModal(viewId) {
  try {
    const result = await api.post("close", { as: state.me, view_id: viewId });
    const problem = deliveryProblem(result.delivery, "Closing");
    if (problem) toast(problem, "error");
  } catch (error) {
    toast(error.message, "error");
  } finally {
    refresh();
  }
}

async function submitModal(view) {
  if (modal.busy) return;
  // What the Slack client checks before sending: required inputs, complete date-times.
  const local = {};
  for (const f of modal.fields) {
    const value = f.get();
    const empty = value === null || value === "" || (Array.isArray(value) && !value.length);
    if (f.partial?.()) local[f.block_id] = "Pick both a date and a time.";
    else if (!f.optional && empty) local[f.block_id] = "Please complete this required field.";
  }
  if (Object.keys(local).length) {
    showErrors(local);
    return;
  }
  showErrors({});
  modal.problem.hidden = true;
  modal.busy = true;
  modal.node.classList.add("busy");
  try {
    const result = await api.post("submit", { as: state.me, view_id: view.id, values: currentValues() });
    if (result.delivery && !result.delivery.ok) {
      modal.problem.hidden = false;
      modal.problem.textContent = `We had some trouble connecting. Try again? (${result.delivery.error}${result.delivery.detail ? `: ${result.delivery.detail}` : ""})`;
    }
  } catch (error) {
    modal.problem.hidden = false;
    modal.problem.textContent = error.message;
  } finally {
    modal.busy = false;
    modal.node?.classList.remove("busy");
    modal.errorsKey = null; // draw the app's errors (or none) again
    refresh();
  }
}

document.addEventListener("keydown", (e) => {
  if (e.key !== "Escape") return;
  if (picker) closePicker();
  else if (!$("clock-panel").hidden) toggleClockPanel(false);
  else if (modal.id && !document.querySelector(".confirm-overlay")) closeModal(modal.id);
});

// ------------------------------------------------------------------ clock

function toggleClockPanel(open) {
  const panel = $("clock-panel");
  panel.hidden = !open;
  $("clock-button").setAttribute("aria-expanded", open ? "true" : "false");
  $("clock-error").hidden = true;
  if (open) {
    // suggest the next 09:00 in the viewer's zone (a common digest time)
    const tz = myTz();
    const now = nowMs();
    const today = toInputs(now, tz);
    const z = zoned(now, tz);
    let date = today.date;
    if (z.hour >= 9) date = toInputs(now + 86400000, tz).date;
    $("jump-date").value = date;
    $("jump-time").value = "09:00";
  }
}

async function jump(body) {
  $("clock-error").hidden = true;
  try {
    const result = await api.post("clock", body);
    setClock(result.clock);
    renderClock();
    toggleClockPanel(false);
    toast(`It is now ${clockLabel(nowMs(), myTz())} in the playground.`);
  } catch (error) {
    $("clock-error").hidden = false;
    $("clock-error").textContent = error.message;
  }
}

function setupClock() {
  $("clock-button").addEventListener("click", () => toggleClockPanel($("clock-panel").hidden));
  for (const b of document.querySelectorAll("[data-jump]")) {
    b.addEventListener("click", () => jump({ seconds: Number(b.dataset.jump) }));
  }
  $("jump-go").addEventListener("click", () => {
    const epoch = fromInputs($("jump-date").value, $("jump-time").value, myTz());
    if (epoch === null) {
      $("clock-error").hidden = false;
      $("clock-error").textContent = "Pick a date and a time.";
      return;
    }
    jump({ to: new Date(epoch * 1000).toISOString() });
  });
  setInterval(() => { if (state.ws) renderClock(); }, 10000);
}

// ------------------------------------------------------------------ guide

function renderGuide() {
  const pane = $("guide");
  const steps = GUIDE.map((step, i) => {
    const person = step.as && state.users.get(step.as);
    const room = step.channel && state.channels.get(step.channel);
    const network = step.channel?.startsWith("net:") && state.networks.find((p) => `net:${p.id}` === step.channel);
    return h("li", { class: "guide-step" },
      h("div", { class: "guide-text", html: mrkdwn(step.text, ctx()) }),
      h("div", { class: "guide-links" },
        person ? h("button", {
          type: "button", class: "btn small",
          onclick: () => playAs(step.as, step.channel === "app" ? null : step.channel, step.channel === "app" ? step.tab || "home" : null),
        }, `Play as ${person.real_name}${room ? ` in #${room.name}` : network ? ` on ${network.label}` : step.channel === "app" ? ` in ${state.ws.app.name}` : ""}`) : null),
      h("span", { class: "guide-number" }, String(i + 1)));
  });
  replaceChildren(pane,
    h("div", { class: "thread-head" }, h("b", {}, "Try it: a tour"),
      h("button", { type: "button", class: "close-x", "aria-label": "Close guide", onclick: () => toggleGuide(false) }, "×")),
    h("p", { class: "guide-intro" }, "This page is a small Slack. Everything in it — messages, forms, buttons, the Home tab — comes from the real Postroom app. Use ",
      h("b", {}, "Play as"), " to be someone else, and the clock to move time forward."),
    h("ol", { class: "guide-steps" }, steps));
}

function toggleGuide(open) {
  $("guide").hidden = !open;
  $("guide-button").setAttribute("aria-expanded", open ? "true" : "false");
  if (open) renderGuide();
}

// --------------------------------------------------------------- play as

let stopFollowing = null;

/** Be someone else; `app` ("home" or "messages") opens that tab of the app. */
function playAs(userId, channelId = null, app = null) {
  if (userId !== state.me) {
    state.me = userId;
    state.thread = null;
    state.notices = [];
    mainKey = null;
    modal.id = null;
    follow();
  }
  if (app) state.where = { kind: "app", tab: app };
  else if (channelId?.startsWith("net:")) state.where = { kind: "network", id: channelId.slice(4) };
  else if (channelId) state.where = { kind: "channel", id: channelId };
  mainKey = null;
  writeUrl();
  if (app === "home") openHome();
  refresh();
}

function follow() {
  stopFollowing?.();
  stopFollowing = api.follow(state.me, (change) => {
    setClock(change.clock);
    renderClock();
    if (change.version !== state.version) {
      state.version = change.version;
      refresh();
    }
  }, (connected) => {
    if (connected !== state.connected) {
      state.connected = connected;
      document.body.classList.toggle("offline", !connected);
      if (!connected) toast("Lost the connection to the playground; reconnecting…", "error");
      else refresh();
    }
  });
}

// ------------------------------------------------------------------- start

async function start() {
  readUrl();
  setupClock();
  $("play-as").addEventListener("change", (e) => playAs(e.target.value));
  $("guide-button").addEventListener("click", () => toggleGuide($("guide").hidden));
  document.addEventListener("click", (e) => {
    const anchor = e.target.closest("a[href]");
    const permalink = anchor && permalinkOf(anchor.href);
    if (permalink) {
      // a link to a message of this workspace opens here, not in a new tab
      e.preventDefault();
      openLink(permalink);
      return;
    }
    const here = anchor && atThisAddress(anchor.href);
    if (here) anchor.href = here; // then the browser follows it as usual
    const link = e.target.closest(".channel-link");
    if (link) {
      e.preventDefault();
      const id = link.dataset.channel;
      if (memberOf(id)) goChannel(id);
      else toast(`You're not in that channel as ${state.users.get(state.me)?.real_name}.`);
    }
  });
  if (!state.me) {
    // nobody chosen yet: the first person of the workspace (the seed lists the admin first)
    const probe = await api.get("people");
    state.me = probe.people[0]?.id;
    writeUrl();
  }
  follow();
  await refresh();
  if (state.pendingLink) {
    openLink(state.pendingLink);
    state.pendingLink = null;
  } else if (state.where.kind === "app" && state.where.tab === "home") {
    openHome();
  }
}

start().catch((error) => {
  console.error(error);
  replaceChildren($("main"), h("div", { class: "empty error" }, `The playground didn't start: ${error.message}`));
});
