// Block Kit -> DOM, for messages, modals and the Home tab.
//
// renderBlocks(blocks, ctx) draws what the app sent. Interactive elements outside input
// blocks (buttons, menus in "actions" blocks and section accessories) call
// ctx.onAction({action_id, block_id, value}) at once, as a click in Slack sends
// block_actions. Elements inside input blocks are form fields: they register in
// ctx.fields so the modal can collect {block_id: {action_id: value}} on submit (and
// send an action right away only when the block asks with dispatch_action).
//
// ctx: {users: Map, channels: Map, me, tz, nowMs, people: [user], rooms: [channel],
//       onAction, fields: [], prefill: {block: {action: value}}, errors: {block: text}}

import { h } from "./dom.js";
import { escapeHtml, mrkdwn, plainText, safeUrl, textObject } from "./mrkdwn.js";
import { fromInputs, toInputs } from "./dates.js";

/** Render a list of blocks into a fragment. */
export function renderBlocks(blocks, ctx) {
  const out = h("div", { class: "blocks" });
  for (const block of blocks || []) {
    out.append(renderBlock(block, ctx));
  }
  return out;
}

function renderBlock(block, ctx) {
  const renderer = BLOCKS[block.type];
  const node = renderer ? renderer(block, ctx) : unsupported(`a ${block.type} block`);
  if (block.block_id) node.dataset.blockId = block.block_id;
  return node;
}

function unsupported(what) {
  return h("div", { class: "unsupported" }, `The playground can't show ${what} yet.`);
}

const BLOCKS = {
  header: (b) => h("div", { class: "b-header", html: plainText(b.text) }),
  divider: () => h("hr", { class: "b-divider" }),
  section: renderSection,
  context: (b, ctx) =>
    h("div", { class: "b-context" },
      (b.elements || []).map((e) =>
        e.type === "image"
          ? imageNode(e.image_url, e.alt_text, "ctx-img")
          : h("span", { class: "ctx-text", html: textObject(e, ctx) }))),
  image: (b) =>
    h("figure", { class: "b-image" },
      b.title ? h("figcaption", { html: plainText(b.title) }) : null,
      imageNode(b.image_url || b.slack_file?.url, b.alt_text, "")),
  actions: (b, ctx) =>
    h("div", { class: "b-actions" }, (b.elements || []).map((e) => actionElement(e, b, ctx))),
  input: renderInput,
  rich_text: renderRichText,
  video: (b) => h("div", { class: "b-context" }, `🎬 ${b.title?.text || "Video"}`),
};

/** A path on this server ("/files/…"): a "/" followed by neither another "/" nor a
 * backslash (browsers read "//host/x" and "/\\host/x" as another host's). */
export function localPath(url) {
  return typeof url === "string" && /^\/(?![/\\])[^\s\u0000-\u001f]*$/.test(url) ? url : null;
}

function imageNode(url, alt, cls) {
  const safe = typeof url === "string" ? safeUrl(url) || localPath(url) : null;
  if (!safe) return h("span", { class: "img-missing" }, `[image: ${alt || "no URL"}]`);
  const img = h("img", { class: cls, src: safe, alt: alt || "", loading: "lazy" });
  img.addEventListener("error", () => img.replaceWith(h("span", { class: "img-missing" }, `[image: ${alt || url}]`)));
  return img;
}

function renderSection(b, ctx) {
  const main = h("div", { class: "section-main" });
  if (b.text) main.append(h("div", { class: "section-text", html: textObject(b.text, ctx) }));
  if (b.fields?.length) {
    main.append(h("div", { class: "section-fields" },
      b.fields.map((f) => h("div", { class: "field", html: textObject(f, ctx) }))));
  }
  const node = h("div", { class: "b-section" }, main);
  if (b.accessory) {
    const acc = b.accessory.type === "image"
      ? imageNode(b.accessory.image_url, b.accessory.alt_text, "accessory-img")
      : actionElement(b.accessory, b, ctx);
    node.append(h("div", { class: "section-accessory" }, acc));
  }
  return node;
}

// ------------------------------------------------------------------ rich text

function richElements(elements, ctx) {
  return (elements || []).map((e) => {
    if (e.type === "text") {
      let node = document.createTextNode(e.text);
      const s = e.style || {};
      if (s.code) node = h("code", {}, node);
      if (s.bold) node = h("b", {}, node);
      if (s.italic) node = h("i", {}, node);
      if (s.strike) node = h("s", {}, node);
      return node;
    }
    if (e.type === "link") {
      const url = safeUrl(e.url);
      return url ? h("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, e.text || url) : e.text || e.url;
    }
    if (e.type === "user") return h("span", { class: "mention", html: mrkdwn(`<@${e.user_id}>`, ctx) });
    if (e.type === "channel") return h("span", { html: mrkdwn(`<#${e.channel_id}>`, ctx) });
    if (e.type === "emoji") return h("span", { html: mrkdwn(`:${e.name}:`, ctx) });
    if (e.type === "broadcast") return h("span", { class: "mention broadcast" }, `@${e.range}`);
    return e.text || "";
  });
}

function renderRichText(b, ctx) {
  const node = h("div", { class: "b-rich" });
  for (const part of b.elements || []) {
    if (part.type === "rich_text_section") node.append(h("div", {}, richElements(part.elements, ctx)));
    else if (part.type === "rich_text_quote") node.append(h("blockquote", {}, richElements(part.elements, ctx)));
    else if (part.type === "rich_text_preformatted") node.append(h("pre", { class: "pre" }, richElements(part.elements, ctx)));
    else if (part.type === "rich_text_list") {
      const list = h(part.style === "ordered" ? "ol" : "ul");
      for (const item of part.elements || []) list.append(h("li", {}, richElements(item.elements, ctx)));
      node.append(list);
    }
  }
  return node;
}

// -------------------------------------------------------------- the elements

function actionElement(el, block, ctx) {
  const send = (value) => ctx.onAction?.({ action_id: el.action_id, block_id: block.block_id, value });
  if (el.type === "button") return button(el, ctx, () => send(undefined));
  if (el.type === "overflow") return overflow(el, ctx, send);
  const field = control(el, block, ctx, send);
  return field ? field.node : unsupported(`a ${el.type}`);
}

function button(el, ctx, onClick) {
  const style = el.style === "primary" ? " primary" : el.style === "danger" ? " danger" : "";
  const node = h("button", {
    type: "button",
    class: `btn${style}`,
    dataset: { actionId: el.action_id || "" },
    html: plainText(el.text),
  });
  node.addEventListener("click", async () => {
    if (el.confirm && !(await confirmDialog(el.confirm, ctx))) return;
    const url = el.url && safeUrl(el.url);
    if (url) window.open(url, "_blank", "noopener");
    onClick();
  });
  return node;
}

function overflow(el, ctx, send) {
  const menu = h("div", { class: "overflow-menu", hidden: true });
  for (const option of el.options || []) {
    menu.append(h("button", {
      type: "button",
      class: "overflow-item",
      html: plainText(option.text),
      onclick: () => { menu.hidden = true; send(option.value); },
    }));
  }
  const toggle = h("button", {
    type: "button",
    class: "btn overflow",
    title: "More actions",
    "aria-label": "More actions",
    dataset: { actionId: el.action_id },
    onclick: () => { menu.hidden = !menu.hidden; },
  }, "⋯");
  return h("span", { class: "overflow-wrap" }, toggle, menu);
}

/** A confirm object ({title, text, confirm, deny, style}) as a small dialog; resolves
 * true when confirmed. */
export function confirmDialog(confirm, ctx) {
  return new Promise((resolve) => {
    const close = (answer) => { overlay.remove(); resolve(answer); };
    const ok = h("button", {
      type: "button", class: `btn ${confirm.style === "danger" ? "danger" : "primary"}`,
      html: plainText(confirm.confirm || { text: "Yes" }), onclick: () => close(true),
    });
    const overlay = h("div", { class: "overlay confirm-overlay" },
      h("div", { class: "dialog", role: "dialog", "aria-modal": "true" },
        h("div", { class: "dialog-head", html: plainText(confirm.title || { text: "Are you sure?" }) }),
        h("div", { class: "dialog-body", html: textObject(confirm.text, ctx) }),
        h("div", { class: "dialog-foot" },
          h("button", { type: "button", class: "btn", html: plainText(confirm.deny || { text: "Cancel" }), onclick: () => close(false) }),
          ok)));
    document.body.append(overlay);
    ok.focus();
  });
}

function optionsOf(el) {
  const groups = el.option_groups?.map((g) => ({ label: g.label, options: g.options || [] }));
  return groups || [{ label: null, options: el.options || [] }];
}

function selectNode(el, choices, current, onChange, label) {
  // choices: [{label (HTML or null), options: [{value, html}]}]
  const select = h("select", {
    class: "select",
    dataset: { actionId: el.action_id || "" },
    "aria-label": label || el.placeholder?.text || "Choose",
  });
  select.append(h("option", { value: "", disabled: true, html: escapeHtml(el.placeholder?.text || "Select an item") }));
  for (const group of choices) {
    const parent = group.label ? h("optgroup", { label: group.label }) : select;
    for (const option of group.options) {
      parent.append(h("option", { value: option.value, html: option.html }));
    }
    if (parent !== select) select.append(parent);
  }
  select.value = current ?? "";
  if (select.value !== (current ?? "")) select.value = "";
  if (!select.value) select.selectedIndex = 0;
  if (onChange) select.addEventListener("change", () => onChange(select.value || null));
  return select;
}

/** An external select: a search box whose text is sent to the app (block_suggestion, as
 * Slack does while the person types) and a menu of the options it answers with. */
function externalNode(el, block, ctx, current, onChange, label) {
  const initial = el.initial_option ? [el.initial_option] : [];
  const toChoices = (options) => [{ label: null, options: options.map((o) => ({ value: o.value, html: plainText(o.text) })) }];
  let select = selectNode(el, toChoices(initial), current, onChange, label);
  const search = h("input", {
    type: "search", class: "text-input external-search",
    placeholder: el.placeholder?.text || "Type to search",
    "aria-label": `${label || "Menu"}: search`,
  });
  const wrap = h("div", { class: "external-select", dataset: { actionId: el.action_id || "" } }, search, select);
  let timer = null;
  let asked = 0;
  const ask = async () => {
    const number = ++asked;
    let options = [];
    try {
      options = await ctx.suggest({ block_id: block.block_id, action_id: el.action_id, value: search.value });
    } catch {
      options = [];
    }
    if (number !== asked) return; // a newer search is on its way
    const keep = select.value;
    const known = options.some((o) => o.value === keep) ? options : [...initial.filter((o) => o.value === keep), ...options];
    const fresh = selectNode(el, toChoices(known), keep || null, onChange, label);
    select.replaceWith(fresh);
    select = fresh;
  };
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 200); });
  search.addEventListener("focus", () => { if (!asked) ask(); }, { once: true });
  select.addEventListener("focus", () => { if (!asked) ask(); }, { once: true });
  return { node: wrap, get: () => select.value || null };
}

function staticChoices(el) {
  return optionsOf(el).map((g) => ({
    label: g.label ? g.label.text : null,
    options: g.options.map((o) => ({ value: o.value, html: plainText(o.text) })),
  }));
}

function peopleChoices(ctx) {
  return [{
    label: null,
    options: (ctx.people || []).map((u) => ({ value: u.id, html: escapeHtml(u.real_name || u.name) })),
  }];
}

function roomChoices(ctx) {
  return [{
    label: null,
    options: (ctx.rooms || []).map((c) => ({ value: c.id, html: `#${escapeHtml(c.name)}` })),
  }];
}

/** A multi-select: the chosen items as removable chips, and a menu to add more. */
function multiNode(el, choices, current, onChange, label) {
  const chosen = new Set(current || []);
  const wrap = h("div", { class: "multi", dataset: { actionId: el.action_id || "" } });
  const labelOf = new Map();
  for (const g of choices) for (const o of g.options) labelOf.set(o.value, o.html);
  const draw = () => {
    wrap.replaceChildren();
    const chips = h("div", { class: "chips" });
    for (const value of chosen) {
      chips.append(h("span", { class: "chip", dataset: { value } },
        h("span", { html: labelOf.get(value) ?? escapeHtml(value) }),
        h("button", {
          type: "button", class: "chip-x", "aria-label": "Remove", title: "Remove",
          onclick: () => { chosen.delete(value); draw(); onChange?.([...chosen]); },
        }, "×")));
    }
    const left = choices.map((g) => ({ label: g.label, options: g.options.filter((o) => !chosen.has(o.value)) }));
    const adder = selectNode(
      { action_id: el.action_id, placeholder: { text: chosen.size ? "Add another…" : (el.placeholder?.text || "Select items") } },
      left, "", (value) => { if (value) { chosen.add(value); draw(); onChange?.([...chosen]); } }, label);
    adder.classList.add("multi-add");
    wrap.append(chips, adder);
  };
  draw();
  return { node: wrap, get: () => [...chosen] };
}

function choiceList(el, type, current, onChange) {
  const name = `${el.action_id}-${Math.random().toString(36).slice(2)}`;
  const chosen = new Set(type === "checkbox" ? current || [] : current ? [current] : []);
  const boxes = [];
  const list = h("div", { class: `choices ${type}`, dataset: { actionId: el.action_id || "" } });
  for (const option of el.options || []) {
    const input = h("input", { type, name, value: option.value, checked: chosen.has(option.value) });
    boxes.push(input);
    input.addEventListener("change", () => onChange?.(get()));
    list.append(h("label", { class: "choice" }, input,
      h("span", { class: "choice-text" },
        h("span", { html: textObject(option.text, {}) }),
        option.description ? h("span", { class: "choice-desc", html: textObject(option.description, {}) }) : null)));
  }
  const get = () => {
    const on = boxes.filter((b) => b.checked).map((b) => b.value);
    return type === "checkbox" ? on : (on[0] ?? null);
  };
  return { node: list, get };
}

function textInput(el, current, onChange, label) {
  const attrs = {
    class: "text-input",
    dataset: { actionId: el.action_id || "" },
    placeholder: el.placeholder?.text,
    maxlength: el.max_length,
    "aria-label": label,
  };
  let node;
  if (el.multiline || el.type === "rich_text_input") {
    node = h("textarea", { ...attrs, rows: 4 });
  } else {
    const type = { email_text_input: "email", url_text_input: "url", number_input: "number" }[el.type] || "text";
    node = h("input", { ...attrs, type });
    if (el.type === "number_input") {
      node.step = el.is_decimal_allowed ? "any" : "1";
      if (el.min_value != null) node.min = el.min_value;
      if (el.max_value != null) node.max = el.max_value;
    }
  }
  const initial = el.type === "rich_text_input" ? richToText(el.initial_value) : el.initial_value;
  node.value = current ?? initial ?? "";
  if (onChange) node.addEventListener("change", () => onChange(node.value || null));
  const get = () => (node.value === "" ? null : node.value);
  return { node, get };
}

function richToText(value) {
  if (!value || typeof value === "string") return value || "";
  const parts = [];
  const walk = (n) => { if (n.text) parts.push(n.text); (n.elements || []).forEach(walk); };
  walk(value);
  return parts.join("");
}

function dateTimeNode(el, current, onChange, ctx) {
  // current: epoch seconds, or (a redraw while half filled) the two inputs as typed
  const typed = current && typeof current === "object" ? current : null;
  const epoch = typed ? null : current ?? el.initial_date_time ?? null;
  const start = typed || (epoch ? toInputs(epoch * 1000, ctx.tz) : { date: "", time: "" });
  const date = h("input", { type: "date", class: "date-input", value: start.date, "aria-label": "Date" });
  const time = h("input", { type: "time", class: "time-input", value: start.time, "aria-label": "Time" });
  const get = () => fromInputs(date.value, time.value, ctx.tz);
  const changed = () => { const v = get(); if (v !== null) onChange?.(v); };
  date.addEventListener("change", changed);
  time.addEventListener("change", changed);
  const node = h("div", { class: "datetime", dataset: { actionId: el.action_id || "" } }, date, time,
    h("span", { class: "tz-note" }, ctx.tz));
  const partial = () => Boolean(date.value) !== Boolean(time.value);
  return {
    node, get, partial,
    // what a redraw of the form keeps: a date without its time yet (or the reverse) too
    kept: () => (partial() ? { date: date.value, time: time.value } : get()),
  };
}

/** A stateful element as a control: {node, get()} (get returns the value the stand-in
 * takes: a string, a list, epoch seconds, or null when empty). */
function control(el, block, ctx, onChange, label) {
  const current = ctx.prefill?.[block.block_id]?.[el.action_id];
  switch (el.type) {
    case "plain_text_input":
    case "email_text_input":
    case "url_text_input":
    case "number_input":
    case "rich_text_input":
      return textInput(el, current, onChange, label);
    case "external_select":
      if (ctx.suggest) return externalNode(el, block, ctx, current ?? el.initial_option?.value, onChange, label);
    // falls through: without a way to ask the app, the options the element carries
    case "static_select": {
      const node = selectNode(el, staticChoices(el), current ?? el.initial_option?.value, onChange, label);
      return { node, get: () => node.value || null };
    }
    case "users_select": {
      const node = selectNode(el, peopleChoices(ctx), current ?? el.initial_user, onChange, label);
      return { node, get: () => node.value || null };
    }
    case "conversations_select":
    case "channels_select": {
      const initial = el.initial_conversation ?? el.initial_channel;
      const node = selectNode(el, roomChoices(ctx), current ?? initial, onChange, label);
      return { node, get: () => node.value || null };
    }
    case "multi_static_select":
    case "multi_external_select":
      return multiNode(el, staticChoices(el), current ?? (el.initial_options || []).map((o) => o.value), onChange, label);
    case "multi_users_select":
      return multiNode(el, peopleChoices(ctx), current ?? el.initial_users, onChange, label);
    case "multi_conversations_select":
    case "multi_channels_select":
      return multiNode(el, roomChoices(ctx), current ?? el.initial_conversations ?? el.initial_channels, onChange, label);
    case "radio_buttons":
      return choiceList(el, "radio", current ?? el.initial_option?.value, onChange);
    case "checkboxes":
      return choiceList(el, "checkbox", current ?? (el.initial_options || []).map((o) => o.value), onChange);
    case "datepicker": {
      const node = h("input", { type: "date", class: "date-input", value: current ?? el.initial_date ?? "", "aria-label": label, dataset: { actionId: el.action_id } });
      if (onChange) node.addEventListener("change", () => node.value && onChange(node.value));
      return { node, get: () => node.value || null };
    }
    case "timepicker": {
      const node = h("input", { type: "time", class: "time-input", value: current ?? el.initial_time ?? "", "aria-label": label, dataset: { actionId: el.action_id } });
      if (onChange) node.addEventListener("change", () => node.value && onChange(node.value));
      return { node, get: () => node.value || null };
    }
    case "datetimepicker":
      return dateTimeNode(el, current, onChange, ctx);
    default:
      return null;
  }
}

function renderInput(b, ctx) {
  const el = b.element || {};
  const label = b.label?.text || "";
  const dispatch = b.dispatch_action
    ? (value) => ctx.onAction?.({ action_id: el.action_id, block_id: b.block_id, value })
    : null;
  const field = control(el, b, ctx, dispatch, label);
  const error = ctx.errors?.[b.block_id];
  const node = h("div", { class: `b-input${error ? " has-error" : ""}` },
    h("label", { class: "input-label" },
      h("span", { html: plainText(b.label) }),
      b.optional ? h("span", { class: "optional" }, " (optional)") : null),
    field ? field.node : unsupported(`a ${el.type} input`),
    b.hint ? h("div", { class: "input-hint", html: plainText(b.hint) }) : null,
    h("div", { class: "input-error", role: "alert", hidden: !error }, error || ""));
  if (field && ctx.fields) {
    ctx.fields.push({
      block_id: b.block_id, action_id: el.action_id, type: el.type,
      optional: Boolean(b.optional), get: field.get, partial: field.partial, kept: field.kept, node,
    });
  }
  return node;
}
