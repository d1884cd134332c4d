// The chat page: a chat list, the current conversation with its branches,
// streamed replies and a usage panel, over the app's own /api/v1 routes.

import { Api, ApiError, formatCost } from "./api.js";
import { costChart, lastDays } from "./chart.js";

const USER_KEY = "synergia.user";
const DELETED_KEY = "synergia.deleted";
const DEFAULT_USER = "alice";
const PAGE_SIZE = 20;
const PINNED_LIMIT = 100;
const CHART_DAYS = 14;
const DELETED_KEPT = 10;
const STOP_GRACE_MS = 3000;
const TITLE_CHARS = 60;

/** The echo model as a catalog entry; priced like gpt-4o so that costs show. */
const ECHO_MODEL = {
  provider: "echo",
  name: "echo",
  display_name: "Echo",
  input_price_per_million: "2.50",
  output_price_per_million: "10",
};

const $ = (id) => document.getElementById(id);

const state = {
  user: localStorage.getItem(USER_KEY) || DEFAULT_USER,
  models: new Map(), // every live model, by id
  enabledModels: [],
  pinned: [],
  recent: [],
  cursor: null,
  showArchived: false,
  chat: null, // the open chat (ChatRead), null for a new one not yet sent
  draftModelId: null,
  entries: [], // the thread: [{message, sibling_ids}]
  editingId: null,
  stream: null, // {chatId, controller, messageId, text, stopping, abortTimer}
  usageOpen: false,
  usageScope: "user",
};

const api = new Api(
  "api/v1",
  () => state.user,
  (pending) => {
    // Busy while requests are in flight (the tests wait for 0 before looking).
    document.body.dataset.pending = String(pending);
    $("conversation").setAttribute("aria-busy", String(pending > 0));
  },
);

// ---------------------------------------------------------------------- helpers

/** An element with attributes (`class`, `text`, `on<event>`, others as is) and children. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function icon(path) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  const shape = document.createElementNS("http://www.w3.org/2000/svg", "path");
  shape.setAttribute("d", path);
  svg.append(shape);
  return svg;
}

const ICONS = {
  previous: "M15 6l-6 6 6 6",
  next: "M9 6l6 6-6 6",
  edit: "M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4",
  regenerate: "M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6",
  copy: "M9 9h10v10H9zM5 15V5h10",
};

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const clock = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const integer = new Intl.NumberFormat();

function relativeTime(iso) {
  const seconds = (Date.parse(iso) - Date.now()) / 1000;
  const size = Math.abs(seconds);
  if (size < 45) return "just now";
  if (size < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (size < 86400) return relative.format(Math.round(seconds / 3600), "hour");
  if (size < 7 * 86400) return relative.format(Math.round(seconds / 86400), "day");
  return new Date(iso).toLocaleDateString(undefined, { month: "short", day: "numeric" });
}

function plural(count, word) {
  return `${integer.format(count)} ${word}${count === 1 ? "" : "s"}`;
}

function chatTitle(chat) {
  return chat && chat.title ? chat.title : chat ? "Untitled chat" : "New chat";
}

function titleFrom(text) {
  const line = text.trim().split("\n")[0].trim();
  return line.length > TITLE_CHARS ? `${line.slice(0, TITLE_CHARS - 1).trimEnd()}…` : line;
}

function modelName(id) {
  if (!id) return null;
  const model = state.models.get(id);
  return model ? model.display_name || model.name : "Removed model";
}

// ------------------------------------------------------------------------ toast

let toastTimer = null;

function hideToast() {
  $("toast").hidden = true;
  clearTimeout(toastTimer);
}

/** A short notice, optionally with one action button ("Undo"). */
function toast(text, action) {
  $("toast-text").textContent = text;
  const button = $("toast-action");
  button.hidden = !action;
  button.onclick = null;
  if (action) {
    button.textContent = action.label;
    button.onclick = () => {
      hideToast();
      guard(action.run)();
    };
  }
  $("toast").hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(hideToast, action ? 10000 : 6000);
}

/** Says something to screen readers once (a finished reply), without moving focus. */
function announce(text) {
  $("announcer").textContent = text;
}

function showError(error) {
  if (error instanceof ApiError) toast(error.message);
  else toast(`Something went wrong: ${error.message}`);
}

/** An event handler that reports its errors in the toast instead of losing them. */
function guard(handler) {
  return async (...args) => {
    try {
      await handler(...args);
    } catch (error) {
      showError(error);
    }
  };
}

// ----------------------------------------------------------------------- models

async function loadModels() {
  const models = await api.get("models");
  state.models = new Map(models.map((model) => [model.id, model]));
  state.enabledModels = models.filter((model) => model.is_enabled);
  $("no-model-banner").hidden = state.enabledModels.length > 0;
  renderModelPicker();
}

/** The model the next reply uses: the chat's, else the one picked for the new chat. */
function currentModelId() {
  if (state.chat && state.chat.model_id) return state.chat.model_id;
  const picked = state.draftModelId;
  if (picked && state.enabledModels.some((model) => model.id === picked)) return picked;
  return state.enabledModels.length ? state.enabledModels[0].id : null;
}

function renderModelPicker() {
  const select = $("chat-model");
  const chosen = currentModelId();
  const options = state.enabledModels.map((model) =>
    el("option", { value: model.id, text: `${model.display_name || model.name} (${model.provider})` }),
  );
  if (chosen && !state.enabledModels.some((model) => model.id === chosen)) {
    options.unshift(el("option", { value: chosen, disabled: true, text: `${modelName(chosen)} (unavailable)` }));
  }
  if (!options.length) options.push(el("option", { value: "", text: "No model" }));
  select.replaceChildren(...options);
  select.value = chosen || "";
  select.disabled = !state.enabledModels.length;
}

async function addEchoModel() {
  try {
    await api.post("models", ECHO_MODEL);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "model_already_exists")) throw error;
  }
  await loadModels();
  $("composer-input").focus();
}

// ------------------------------------------------------------------------ chats

function deletedKey() {
  return `${DELETED_KEY}:${state.user}`;
}

/** Chats this page deleted, newest first: the API lists live chats only. */
function deletedChats() {
  try {
    const saved = JSON.parse(localStorage.getItem(deletedKey()) || "[]");
    return Array.isArray(saved) ? saved : [];
  } catch {
    return [];
  }
}

function rememberDeleted(chats) {
  localStorage.setItem(deletedKey(), JSON.stringify(chats.slice(0, DELETED_KEPT)));
}

/** The first page of chats (or as many as are shown), pinned ones apart. */
async function loadChats() {
  const archived = state.showArchived ? true : undefined;
  const shown = Math.min(1000, Math.max(PAGE_SIZE, state.recent.length));
  const [pinned, recent] = await Promise.all([
    api.get("chats", { pinned: true, limit: PINNED_LIMIT, include_archived: archived }),
    api.get("chats", { pinned: false, limit: shown, include_archived: archived }),
  ]);
  state.pinned = pinned.items;
  state.recent = recent.items;
  state.cursor = recent.next_cursor;
  renderChatList();
}

async function loadMoreChats() {
  if (!state.cursor) return;
  const page = await api.get("chats", {
    pinned: false,
    limit: PAGE_SIZE,
    cursor: state.cursor,
    include_archived: state.showArchived ? true : undefined,
  });
  state.recent.push(...page.items);
  state.cursor = page.next_cursor;
  renderChatList();
}

function chatItem(chat) {
  const current = state.chat && state.chat.id === chat.id;
  const activity = chat.last_message_at || chat.created_at;
  return el(
    "li",
    {},
    el(
      "button",
      {
        type: "button",
        class: "chat-item",
        "data-chat-id": chat.id,
        "aria-current": current ? "page" : false,
        onclick: guard(() => openChat(chat.id)),
      },
      el("span", { class: "chat-item__title", text: chatTitle(chat) }),
      el(
        "span",
        { class: "chat-item__meta" },
        el("span", { text: `${plural(chat.message_count, "message")} · ${relativeTime(activity)}` }),
        chat.is_archived ? el("span", { class: "tag tag--small", text: "Archived" }) : null,
      ),
    ),
  );
}

function renderChatList() {
  $("pinned-group").hidden = !state.pinned.length;
  $("pinned-list").replaceChildren(...state.pinned.map(chatItem));
  $("chat-list").replaceChildren(...state.recent.map(chatItem));
  $("chat-list-empty").hidden = state.recent.length > 0 || state.pinned.length > 0;
  $("load-more").hidden = !state.cursor;
  const deleted = deletedChats();
  $("deleted-group").hidden = !deleted.length;
  $("deleted-list").replaceChildren(
    ...deleted.map((chat) =>
      el(
        "li",
        { class: "deleted-item" },
        el("span", { class: "deleted-item__title", text: chat.title || "Untitled chat" }),
        el("button", {
          type: "button",
          class: "button button--ghost button--small",
          "data-restore": chat.id,
          "aria-label": `Restore ${chat.title || "untitled chat"}`,
          text: "Restore",
          onclick: guard(() => restoreChat(chat.id)),
        }),
      ),
    ),
  );
}

// ------------------------------------------------------------------ conversation

function setLocation(chatId) {
  history.replaceState(null, "", chatId ? `#chat=${chatId}` : location.pathname);
}

function closeSidebar() {
  $("layout").classList.remove("layout--sidebar-open");
  $("sidebar-toggle").setAttribute("aria-expanded", "false");
}

async function openChat(id, { focus = true } = {}) {
  const view = await api.get(`chats/${id}/conversation`);
  state.chat = view.chat;
  state.entries = view.messages;
  state.editingId = null;
  setLocation(id);
  renderAll();
  scrollToBottom(true);
  closeSidebar();
  if (focus) $("composer-input").focus();
  if (state.usageOpen) await loadUsage();
}

function newChat() {
  state.chat = null;
  state.entries = [];
  state.editingId = null;
  setLocation(null);
  renderAll();
  closeSidebar();
  if (state.usageOpen && state.usageScope === "chat") setUsageScope("user");
  $("composer-input").focus();
}

/** Reads the open chat again: its thread, siblings and counters. */
async function reloadConversation() {
  if (!state.chat) return;
  const id = state.chat.id;
  const view = await api.get(`chats/${id}/conversation`);
  if (!state.chat || state.chat.id !== id) return; // another chat was opened meanwhile
  state.chat = view.chat;
  state.entries = view.messages;
  renderHeader();
  renderConversation();
}

function renderAll() {
  renderHeader();
  renderModelPicker();
  renderConversation();
  renderComposer();
  renderChatList();
}

function renderHeader() {
  const chat = state.chat;
  $("chat-title").textContent = chatTitle(chat);
  document.title = chat ? `${chatTitle(chat)} · Synergia chat` : "Synergia chat";
  $("chat-actions").hidden = !chat;
  $("chat-archived-tag").hidden = !(chat && chat.is_archived);
  if (!chat) {
    hideRename();
    return;
  }
  const pin = $("chat-pin");
  pin.textContent = chat.is_pinned ? "Unpin" : "Pin";
  pin.setAttribute("aria-pressed", String(chat.is_pinned));
  const archive = $("chat-archive");
  archive.textContent = chat.is_archived ? "Unarchive" : "Archive";
  archive.setAttribute("aria-pressed", String(chat.is_archived));
}

function nearBottom() {
  const box = $("messages-scroll");
  return box.scrollHeight - box.scrollTop - box.clientHeight < 120;
}

function scrollToBottom(force = false) {
  const box = $("messages-scroll");
  if (force || nearBottom()) box.scrollTop = box.scrollHeight;
}

function renderConversation() {
  const list = $("messages");
  list.replaceChildren(...state.entries.map(renderEntry));
  $("empty-state").hidden = state.entries.length > 0;
}

function roleLabel(message) {
  if (message.role === "user") return "You";
  if (message.role === "assistant") return modelName(message.model_id) || "Assistant";
  return message.role.charAt(0).toUpperCase() + message.role.slice(1);
}

function switcher(entry) {
  const ids = entry.sibling_ids;
  if (ids.length < 2) return null;
  const index = ids.indexOf(entry.message.id);
  const busy = Boolean(state.stream);
  const go = (target, direction) =>
    guard(async () => {
      await api.post(`messages/${target}/select`);
      await reloadConversation();
      focusSwitcher(target, direction);
    });
  return el(
    "div",
    { class: "switcher", role: "group", "aria-label": "Versions of this message" },
    el(
      "button",
      {
        type: "button",
        class: "icon-button icon-button--small",
        "data-action": "previous",
        "aria-label": "Previous version",
        disabled: index <= 0 || busy,
        onclick: go(ids[index - 1], "previous"),
      },
      icon(ICONS.previous),
    ),
    el("span", {
      class: "switcher__position",
      "aria-label": `Version ${index + 1} of ${ids.length}`,
      text: `${index + 1}/${ids.length}`,
    }),
    el(
      "button",
      {
        type: "button",
        class: "icon-button icon-button--small",
        "data-action": "next",
        "aria-label": "Next version",
        disabled: index >= ids.length - 1 || busy,
        onclick: go(ids[index + 1], "next"),
      },
      icon(ICONS.next),
    ),
  );
}

/** After a branch switch the buttons are new: put focus back where the user was. */
function focusSwitcher(messageId, direction) {
  const item = document.querySelector(`.message[data-id="${messageId}"]`);
  if (!item) return;
  const wanted = item.querySelector(`[data-action="${direction}"]`);
  const other = item.querySelector(`[data-action="${direction === "next" ? "previous" : "next"}"]`);
  (wanted && !wanted.disabled ? wanted : other || item).focus();
}

function messageMeta(message) {
  const parts = [];
  if (message.status === "streaming") {
    parts.push(el("span", { class: "message__streaming", text: "Writing…" }));
  } else if (message.role === "assistant") {
    parts.push(
      el("span", { class: "message__cost", title: "Cost of this reply (USD)", text: formatCost(message.cost) }),
      el("span", {
        class: "message__tokens",
        text: `${integer.format(message.input_tokens)} in · ${integer.format(message.output_tokens)} out tokens`,
      }),
    );
  }
  parts.push(
    el("time", { datetime: message.created_at, text: clock.format(new Date(message.created_at)) }),
  );
  return el("div", { class: "message__meta" }, ...parts);
}

function actionButton(label, path, onclick, disabled) {
  return el(
    "button",
    { type: "button", class: "button button--ghost button--tiny", onclick, disabled },
    icon(path),
    label,
  );
}

function renderEntry(entry) {
  const message = entry.message;
  const streaming = state.stream && state.stream.messageId === message.id;
  const content = streaming ? state.stream.text : message.content;
  const busy = Boolean(state.stream);
  const item = el("li", {
    class: `message message--${message.role}`,
    "data-id": message.id,
    "data-role": message.role,
    "data-status": message.status,
    tabindex: "-1",
  });
  const head = el(
    "div",
    { class: "message__head" },
    el("span", { class: "message__author", text: roleLabel(message) }),
    message.status === "cancelled" ? el("span", { class: "tag tag--small tag--warn", text: "Stopped" }) : null,
    message.status === "failed" ? el("span", { class: "tag tag--small tag--error", text: "Failed" }) : null,
  );
  item.append(head);

  if (state.editingId === message.id) {
    item.append(editor(message));
    return item;
  }
  const body = el("div", {
    class: `message__content${message.status === "streaming" && !content ? " message__content--typing" : ""}`,
    text: content,
  });
  if (message.status === "streaming") {
    body.setAttribute("aria-busy", "true");
    if (!content) body.append(el("span", { class: "typing", "aria-label": "Writing" }, el("i"), el("i"), el("i")));
  }
  item.append(body);
  if (message.status === "failed" && message.error) {
    item.append(el("p", { class: "message__error", text: message.error }));
  }

  const actions = [];
  if (message.role === "user") {
    actions.push(
      actionButton("Edit", ICONS.edit, () => startEditing(message.id), busy),
    );
  } else if (message.role === "assistant" && message.status !== "streaming") {
    actions.push(
      actionButton("Regenerate", ICONS.regenerate, guard(() => regenerate(message.id)), busy),
      actionButton("Copy", ICONS.copy, guard(() => copyText(message.content)), !message.content),
    );
  }
  item.append(
    el(
      "div",
      { class: "message__foot" },
      switcher(entry),
      messageMeta(message),
      actions.length ? el("div", { class: "message__actions" }, ...actions) : null,
    ),
  );
  return item;
}

async function copyText(text) {
  await navigator.clipboard.writeText(text);
  toast("Copied.");
}

// ------------------------------------------------------------------------ edits

function startEditing(id) {
  if (state.stream) return;
  state.editingId = id;
  renderConversation();
  const input = document.querySelector(".message__editor textarea");
  if (input) {
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
    autosize(input);
  }
}

function stopEditing(id) {
  state.editingId = null;
  renderConversation();
  const item = document.querySelector(`.message[data-id="${id}"] .message__actions button`);
  if (item) item.focus();
}

function editor(message) {
  const inputId = `edit-${message.id}`;
  const input = el("textarea", { id: inputId, rows: "2" });
  input.value = message.content;
  const form = el(
    "form",
    { class: "message__editor" },
    el("label", { class: "visually-hidden", for: inputId, text: "Edit your message" }),
    input,
    el(
      "div",
      { class: "message__editor-actions" },
      el("button", {
        type: "button",
        class: "button button--ghost button--small",
        text: "Cancel",
        onclick: () => stopEditing(message.id),
      }),
      el("button", { type: "submit", class: "button button--primary button--small", text: "Save & send" }),
    ),
  );
  input.addEventListener("input", () => autosize(input));
  input.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      stopEditing(message.id);
    } else if (sendKey(event)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener(
    "submit",
    guard(async (event) => {
      event.preventDefault();
      const content = input.value.trim();
      if (!content || content === message.content) {
        stopEditing(message.id);
        return;
      }
      await api.post(`messages/${message.id}/edit`, { content });
      state.editingId = null;
      await reloadConversation();
      $("composer-input").focus();
      await streamReply(`chats/${state.chat.id}/replies`);
    }),
  );
  return form;
}

// ---------------------------------------------------------------------- replies

function renderComposer() {
  const streaming = Boolean(state.stream);
  $("send").hidden = streaming;
  const stop = $("stop");
  stop.hidden = !streaming;
  stop.disabled = Boolean(state.stream && state.stream.stopping);
  stop.lastChild.textContent = state.stream && state.stream.stopping ? " Stopping…" : " Stop";
  $("composer-hint").hidden = streaming;
  $("composer-hint-streaming").hidden = !streaming;
}

function updateStreamingNode() {
  const stream = state.stream;
  if (!stream || !state.chat || state.chat.id !== stream.chatId) return;
  const body = document.querySelector(`.message[data-id="${stream.messageId}"] .message__content`);
  if (!body) return;
  const follow = nearBottom();
  body.classList.remove("message__content--typing");
  body.textContent = stream.text;
  if (follow) scrollToBottom(true);
}

/** Puts a message from the stream (start, done, cancelled) into the thread shown. */
function showStreamed(message, replacing) {
  if (!state.chat || state.chat.id !== message.chat_id) return;
  const index = state.entries.findIndex((entry) => entry.message.id === (replacing || message.id));
  if (index >= 0 && replacing) {
    // a regenerated answer takes the old one's place, as its newest sibling
    const siblings = [...state.entries[index].sibling_ids, message.id];
    state.entries.splice(index, state.entries.length - index, { message, sibling_ids: siblings });
  } else if (index >= 0) {
    state.entries[index] = { ...state.entries[index], message };
  } else {
    state.entries.push({ message, sibling_ids: [message.id] });
  }
  renderConversation();
  scrollToBottom();
}

/** Streams a reply (`chats/{id}/replies` or `messages/{id}/regenerate`) into the thread. */
async function streamReply(path, { replacing = null } = {}) {
  if (state.stream || !state.chat) return;
  const controller = new AbortController();
  const stream = { chatId: state.chat.id, controller, messageId: null, text: "", stopping: false };
  state.stream = stream;
  renderComposer();
  renderConversation();
  try {
    for await (const { event, data } of api.stream(path, undefined, controller.signal)) {
      if (event === "start") {
        stream.messageId = data.id;
        showStreamed(data, replacing);
      } else if (event === "delta") {
        stream.text += data.content;
        updateStreamingNode();
      } else if (event === "done" || event === "cancelled") {
        if (state.stream === stream) state.stream = null;
        showStreamed(data);
        announce(
          event === "done"
            ? `${roleLabel(data)} replied: ${data.content}`
            : `Reply stopped: ${data.content}`,
        );
      } else if (event === "error") {
        toast(`The reply failed: ${data.detail}`);
        announce(`The reply failed: ${data.detail}`);
      }
    }
  } catch (error) {
    if (error.name !== "AbortError") showError(error);
  } finally {
    clearTimeout(stream.abortTimer);
    const hadFocus = document.activeElement === $("stop") || document.activeElement === document.body;
    if (state.stream === stream) state.stream = null; // (a newer reply may have started)
    renderComposer();
    if (hadFocus) $("composer-input").focus();
    const results = await Promise.allSettled([reloadConversation(), loadChats(), refreshUsage()]);
    const failed = results.find((result) => result.status === "rejected");
    if (failed) showError(failed.reason);
  }
}

async function regenerate(id) {
  await streamReply(`messages/${id}/regenerate`, { replacing: id });
}

/** The stop button: cancel the reply; the stream then ends with a `cancelled` event. */
async function stop() {
  const stream = state.stream;
  if (!stream || stream.stopping) return;
  stream.stopping = true;
  renderComposer();
  if (!stream.messageId) {
    stream.controller.abort(); // not started yet: leaving makes the server cancel it
    return;
  }
  try {
    await api.post(`messages/${stream.messageId}/cancel`);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === "invalid_state")) showError(error); // done already
  }
  // The stream should end by itself at its next word; if not, hang up.
  stream.abortTimer = setTimeout(() => stream.controller.abort(), STOP_GRACE_MS);
}

/** The chat to send to: the open one (given a model if it has none), or a new one. */
async function chatToSendTo(text) {
  const modelId = currentModelId();
  if (!modelId) throw new Error("add a model to the catalog first (the banner above)");
  if (!state.chat) {
    state.chat = await api.post("chats", { title: titleFrom(text), model_id: modelId });
    state.entries = [];
    setLocation(state.chat.id);
    renderHeader();
  } else if (!state.chat.model_id) {
    state.chat = await api.patch(`chats/${state.chat.id}`, { model_id: modelId });
  }
  return state.chat;
}

async function send() {
  const input = $("composer-input");
  const text = input.value.trim();
  if (!text || state.stream) return;
  input.value = "";
  autosize(input);
  input.focus();
  let chat;
  try {
    chat = await chatToSendTo(text);
    const message = await api.post(`chats/${chat.id}/messages`, { role: "user", content: text });
    state.entries.push({ message, sibling_ids: [message.id] });
    renderConversation();
    scrollToBottom(true);
  } catch (error) {
    if (!input.value) input.value = text; // give the text back
    autosize(input);
    throw error;
  }
  loadChats().catch(showError);
  await streamReply(`chats/${chat.id}/replies`);
}

// --------------------------------------------------------------- chat actions

function showRename() {
  if (!state.chat) return;
  $("chat-title").hidden = true;
  $("rename-form").hidden = false;
  const input = $("rename-input");
  input.value = state.chat.title || "";
  input.focus();
  input.select();
}

function hideRename() {
  $("rename-form").hidden = true;
  $("chat-title").hidden = false;
}

async function rename(event) {
  event.preventDefault();
  const title = $("rename-input").value.trim();
  if (!title) return;
  state.chat = await api.patch(`chats/${state.chat.id}`, { title });
  hideRename();
  renderHeader();
  $("chat-rename").focus();
  await loadChats();
}

async function togglePin() {
  state.chat = await api.patch(`chats/${state.chat.id}`, { is_pinned: !state.chat.is_pinned });
  renderHeader();
  await loadChats();
  toast(state.chat.is_pinned ? "Pinned to the top of the list." : "Unpinned.");
}

async function toggleArchive() {
  const chat = await api.patch(`chats/${state.chat.id}`, { is_archived: !state.chat.is_archived });
  state.chat = chat;
  renderHeader();
  await loadChats();
  if (chat.is_archived) {
    toast(state.showArchived ? "Archived." : "Archived: hidden from the list (Show archived).", {
      label: "Undo",
      run: async () => {
        state.chat = await api.patch(`chats/${chat.id}`, { is_archived: false });
        renderHeader();
        await loadChats();
      },
    });
  } else {
    toast("Back in the list.");
  }
}

async function deleteChat() {
  const chat = state.chat;
  if (state.stream && state.stream.chatId === chat.id) await stop();
  await api.delete(`chats/${chat.id}`);
  rememberDeleted([
    { id: chat.id, title: chat.title },
    ...deletedChats().filter((saved) => saved.id !== chat.id),
  ]);
  newChat();
  await loadChats();
  toast(`Deleted “${chatTitle(chat)}”.`, { label: "Undo", run: () => restoreChat(chat.id) });
}

async function restoreChat(id) {
  try {
    await api.post(`chats/${id}/restore`);
  } finally {
    rememberDeleted(deletedChats().filter((saved) => saved.id !== id));
    renderChatList();
  }
  await loadChats();
  await openChat(id);
  toast("Restored.");
}

async function changeModel() {
  const modelId = $("chat-model").value || null;
  if (!state.chat) {
    state.draftModelId = modelId;
    return;
  }
  state.chat = await api.patch(`chats/${state.chat.id}`, { model_id: modelId });
  toast(`Replies in this chat now come from ${modelName(modelId)}.`);
}

// ------------------------------------------------------------------------ usage

function setUsageScope(scope) {
  state.usageScope = scope === "chat" && state.chat ? "chat" : "user";
  $("usage-scope-chat").setAttribute("aria-pressed", String(state.usageScope === "chat"));
  $("usage-scope-user").setAttribute("aria-pressed", String(state.usageScope === "user"));
  $("usage-scope-chat").disabled = !state.chat;
}

function setUsageOpen(open) {
  state.usageOpen = open;
  $("usage-panel").hidden = !open;
  $("layout").classList.toggle("layout--usage-open", open);
  $("usage-user").setAttribute("aria-expanded", String(open && state.usageScope === "user"));
  $("usage-chat").setAttribute("aria-expanded", String(open && state.usageScope === "chat"));
}

/** Closes the usage panel and gives focus back to the button that opened it. */
function closeUsage() {
  const opener = state.usageScope === "chat" && state.chat ? $("usage-chat") : $("usage-user");
  setUsageOpen(false);
  opener.focus();
}

async function toggleUsage(scope) {
  if (state.usageOpen && state.usageScope === scope) {
    closeUsage();
    return;
  }
  setUsageScope(scope);
  setUsageOpen(true);
  await loadUsage();
  $("usage-title").focus();
}

async function refreshUsage() {
  if (state.usageOpen) await loadUsage();
}

async function loadUsage() {
  setUsageScope(state.usageScope);
  setUsageOpen(true);
  const chat = state.usageScope === "chat" ? state.chat : null;
  const scope = chat ? { chat_id: chat.id } : {};
  const days = lastDays(CHART_DAYS);
  const [totals, byDay, byModel] = await Promise.all([
    api.get("usage", scope),
    api.get("usage/breakdown", { by: "day", since: `${days[0]}T00:00:00Z`, ...scope }),
    api.get("usage/breakdown", { by: "model", ...scope }),
  ]);
  $("usage-subject").textContent = chat
    ? `Chat “${chatTitle(chat)}”, user ${state.user}`
    : `Every chat of ${state.user}, deleted ones included (the money was spent)`;
  const cached = totals.cache_read_tokens + totals.cache_write_tokens;
  const figures = [
    ["Cost", formatCost(totals.cost), "usage-total-cost"],
    ["Messages", integer.format(totals.message_count)],
    ["Input tokens", integer.format(totals.input_tokens)],
    ["Output tokens", integer.format(totals.output_tokens)],
  ];
  if (cached) figures.push(["Cached input tokens", integer.format(cached)]);
  $("usage-totals").replaceChildren(
    ...figures.map(([label, value, id]) =>
      el("div", { class: "figure" }, el("dt", { text: label }), el("dd", { id, text: value })),
    ),
  );
  $("usage-chart").replaceChildren(costChart(byDay, days));
  const rows = byModel
    .filter((row) => row.key !== null)
    .sort((a, b) => Number(b.cost) - Number(a.cost))
    .map((row) =>
      el(
        "tr",
        {},
        el("th", { scope: "row", text: modelName(row.key) }),
        el("td", { text: integer.format(row.message_count) }),
        el("td", { text: integer.format(row.input_tokens + row.output_tokens) }),
        el("td", { text: formatCost(row.cost) }),
      ),
    );
  if (!rows.length) {
    rows.push(el("tr", {}, el("td", { colspan: "4", class: "muted", text: "No model replies yet." })));
  }
  $("usage-models").tBodies[0].replaceChildren(...rows);
}

// --------------------------------------------------------------------- identity

async function switchUser() {
  const input = $("user-id");
  const user = input.value.trim();
  if (!user) {
    input.value = state.user;
    toast("A user id is needed: it is sent as X-User-Id with every request.");
    return;
  }
  if (user === state.user) return;
  if (state.stream) await stop();
  state.user = user;
  localStorage.setItem(USER_KEY, user);
  state.recent = [];
  newChat();
  await Promise.all([loadModels(), loadChats(), refreshUsage()]);
  toast(`Signed in as ${user} (stand-in: no password, any id).`);
}

// ------------------------------------------------------------------- composer

/** Enter sends; Shift+Enter is a new line (and so is Enter while composing text in an IME). */
function sendKey(event) {
  return event.key === "Enter" && !event.shiftKey && !event.altKey && !event.isComposing;
}

function autosize(textarea) {
  textarea.style.height = "auto";
  textarea.style.height = `${Math.min(textarea.scrollHeight, 240)}px`;
}

// ------------------------------------------------------------------------- init

function bind() {
  const input = $("composer-input");
  $("composer").addEventListener(
    "submit",
    guard(async (event) => {
      event.preventDefault();
      await send();
    }),
  );
  input.addEventListener("keydown", (event) => {
    if (sendKey(event)) {
      event.preventDefault();
      if (!state.stream) $("composer").requestSubmit();
    } else if (event.key === "Escape" && state.stream) {
      event.preventDefault();
      guard(stop)();
    }
  });
  input.addEventListener("input", () => autosize(input));
  $("stop").addEventListener("click", guard(stop));

  $("identity-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guard(switchUser)();
  });
  $("user-id").addEventListener("change", guard(switchUser));

  $("new-chat").addEventListener("click", newChat);
  $("load-more").addEventListener("click", guard(loadMoreChats));
  $("show-archived").addEventListener(
    "change",
    guard(async (event) => {
      state.showArchived = event.target.checked;
      await loadChats();
    }),
  );
  $("add-echo-model").addEventListener("click", guard(addEchoModel));
  $("chat-model").addEventListener("change", guard(changeModel));

  $("chat-rename").addEventListener("click", showRename);
  $("rename-form").addEventListener("submit", guard(rename));
  $("rename-cancel").addEventListener("click", () => {
    hideRename();
    $("chat-rename").focus();
  });
  $("rename-input").addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      hideRename();
      $("chat-rename").focus();
    }
  });
  $("chat-pin").addEventListener("click", guard(togglePin));
  $("chat-archive").addEventListener("click", guard(toggleArchive));
  $("chat-delete").addEventListener("click", guard(deleteChat));

  $("usage-user").addEventListener("click", guard(() => toggleUsage("user")));
  $("usage-chat").addEventListener("click", guard(() => toggleUsage("chat")));
  $("usage-close").addEventListener("click", closeUsage);
  $("usage-scope-chat").addEventListener("click", guard(async () => {
    setUsageScope("chat");
    await loadUsage();
  }));
  $("usage-scope-user").addEventListener("click", guard(async () => {
    setUsageScope("user");
    await loadUsage();
  }));
  $("usage-panel").addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeUsage();
  });

  $("sidebar-toggle").addEventListener("click", () => {
    const open = $("layout").classList.toggle("layout--sidebar-open");
    $("sidebar-toggle").setAttribute("aria-expanded", String(open));
  });
}

async function start() {
  bind();
  $("user-id").value = state.user;
  $("usage-title").setAttribute("tabindex", "-1");
  renderAll();
  try {
    await Promise.all([loadModels(), loadChats()]);
    const wanted = /^#chat=([0-9a-f-]{36})$/i.exec(location.hash);
    if (wanted) {
      try {
        await openChat(wanted[1]);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        newChat();
      }
    } else {
      $("composer-input").focus();
    }
  } catch (error) {
    showError(error);
  }
  document.body.dataset.ready = "true";
}

start();
