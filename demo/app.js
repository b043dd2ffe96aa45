// The demo chat page. Plain browser JavaScript on the two global builds:
// window.signalR (@microsoft/signalr), window.signalRGraceful (this project) and
// window.signalRGracefulOverlap (its optional make-before-break handoff, a second script).
const { GracefulConnection } = window.signalRGraceful;
const { overlap } = window.signalRGracefulOverlap;
const signalR = window.signalR;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("status"), me: $("me"), state: $("state"), server: $("server"),
  messages: $("messages"), outbox: $("outbox"), composer: $("composer"), text: $("text"),
  counter: $("counter"), note: $("composer-note"), messagesJump: $("messages-jump"),
  join: $("join"), name: $("name"),
  serverList: $("server-list"), ops: $("ops"), addServer: $("add-server"), timeline: $("timeline"),
  timelineJump: $("timeline-jump"),
};

/** The hub refuses longer texts (demo/chat-hub.ts); the page says so before sending. */
const TEXT_LIMIT = 500;
/** The counter shows from here on. */
const TEXT_WARN_AT = 400;

const SDK_EVENTS = ["state", "exit", "exitIgnored", "draining", "reconnecting", "reconnected", "migrated", "resumed", "closed", "server", "undelivered", "retry", "duplicateDropped", "error"];
const NAMES = ["ada", "grace", "linus", "barbara", "ken", "margaret", "dennis", "frances", "alan", "radia"];
const draftKey = (name) => `signalr-graceful-demo:draft:${name}`;

let me = "";
let conn;
/** Every message seen, by its global id: the page de-duplicates on it. */
const messages = new Map();
let lastSeenId = 0;
/** My messages not yet confirmed, by clientMsgId. */
const outbox = new Map();
let servers = [];
/** Until the first snapshot arrives, "no server available" would be a guess. */
let serversKnown = false;

// ---- lists that follow their newest entry -----------------------------------------------

/**
 * Keeps a scrolling list at its newest entry unless the user scrolled up to read; then a
 * "jump to latest" button shows. Whether the user is reading is decided by the user's own
 * scrolling (scrollTop decreasing while not at the bottom), never by how far from the bottom
 * the list happens to be after a layout change: a list that shrinks keeps following.
 */
function followLatest(box, jump) {
  let following = true;
  let lastTop = box.scrollTop;
  const atBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight < 4;
  const toBottom = () => {
    box.scrollTop = box.scrollHeight;
    lastTop = box.scrollTop;
  };
  const setFollowing = (on) => {
    following = on;
    jump.hidden = on;
  };
  box.addEventListener("scroll", () => {
    if (atBottom()) setFollowing(true);
    else if (box.scrollTop < lastTop) setFollowing(false); // the user scrolled up
    lastTop = box.scrollTop;
  });
  new ResizeObserver(() => {
    if (following) toBottom();
  }).observe(box);
  jump.addEventListener("click", () => {
    setFollowing(true);
    toBottom();
  });
  return {
    /** Call after the list changed. `force`: scroll there even if the user was reading. */
    changed(force = false) {
      if (force) setFollowing(true);
      if (following) toBottom();
    },
  };
}

const timelineFollow = followLatest(ui.timeline, ui.timelineJump);
const messagesFollow = followLatest(ui.messages, ui.messagesJump);

// ---- timeline -------------------------------------------------------------------------

/** A transition (start, exit, migration, drop) lasts from its first event to `resumed`. */
let transition;
let transitionCount = 0;
/**
 * Rows that repeat within a transition (each failed attempt logs the same lines again), by a
 * key with the numbers taken out: a repeat updates its row (count, latest text, time) and
 * moves it to the bottom instead of adding one.
 */
let repeatRows = new Map();

function clock() {
  return new Date().toTimeString().slice(0, 8);
}

function beginTransition(cause) {
  if (transition) return;
  transitionCount++;
  transition = { t0: performance.now(), cause };
  repeatRows = new Map();
  const li = document.createElement("li");
  li.className = "transition";
  li.innerHTML = `<span class="t">${clock()}</span><span class="what"></span>`;
  li.querySelector(".what").textContent = `Transition ${transitionCount} · ${cause}`;
  appendTimeline(li);
}

function endTransition() {
  transition = undefined;
}

/** `opts.repeats`: this row may repeat (a failed attempt); collapse repeats into one row. */
function log(kind, name, detail, opts = {}) {
  const t = transition ? `+${Math.round(performance.now() - transition.t0)} ms` : clock();
  const key = opts.repeats ? `${kind}|${name}|${detail.replace(/\d+/g, "#")}` : undefined;
  const seen = key && repeatRows.get(key);
  if (seen && seen.isConnected) {
    seen.dataset.count = String(Number(seen.dataset.count) + 1);
    seen.querySelector(".t").textContent = t;
    seen.querySelector(".detail").textContent = detail;
    seen.querySelector(".count").textContent = `×${seen.dataset.count}`;
    seen.title = `${name}: ${detail} (${seen.dataset.count} times)`;
    appendTimeline(seen); // moves it to the bottom: the newest entry stays in view
    return;
  }
  const li = document.createElement("li");
  li.className = `ev ${kind}${opts.level ? ` ${opts.level}` : ""}`;
  li.dataset.event = name;
  li.dataset.count = "1";
  li.innerHTML = `<span class="t"></span><span class="name"></span><span class="detail"></span><span class="count"></span>`;
  li.querySelector(".t").textContent = t;
  li.querySelector(".name").textContent = name;
  li.querySelector(".detail").textContent = detail;
  if (key) repeatRows.set(key, li);
  appendTimeline(li);
}

function appendTimeline(li) {
  const box = ui.timeline;
  box.append(li);
  while (box.children.length > 300) box.firstElementChild.remove();
  timelineFollow.changed();
}

const describe = {
  state: (p) => `${p.from} → ${p.to}`,
  exit: (p) => `${p.serverId ?? "our server"} is leaving${p.mode ? ` · ${p.mode}` : ""}${p.timeoutMs !== undefined ? ` · ${p.timeoutMs} ms left` : ""}`,
  exitIgnored: (p) => `exit from ${p.serverId ?? "?"} is not for us (${p.reason}; we are on ${p.currentServerId ?? "?"})`,
  draining: (p) => `old connection finishes its work (≤ ${Math.round(p.deadlineMs)} ms)`,
  reconnecting: (p) => `${p.reason}, attempt ${p.attempt}${p.delayMs !== undefined ? `, in ${Math.round(p.delayMs)} ms` : ""}${p.error ? ` (${p.error.message})` : ""}`,
  reconnected: (p) => `new connection ${short(p.connectionId)} after ${p.reason}`,
  migrated: (p) => `${p.from} → ${p.to}, same connection ${short(p.connectionId)}`,
  resumed: (p) => `${p.reason}: usable again on ${p.serverId ?? "?"}, ${p.flushed} buffered sent, gap ${p.gapMs} ms${p.handoff ? " (handoff: old connection kept until now)" : ""}`,
  closed: (p) => `${p.reason}${p.error ? `: ${p.error.message}` : ""}`,
  server: (p) => (p.previous ? `now on ${p.serverId} (was ${p.previous})` : `on ${p.serverId}`),
  undelivered: (p) => `${p.kind} ${p.method}: ${p.error.message}`,
  retry: (p) => `re-sent ${p.method} (${p.reason}, attempt ${p.attempt})`,
  duplicateDropped: (p) => `copy of ${p.method} ${p.key} already shown: dropped`,
  error: (p) => `${p.source} threw: ${p.error?.message ?? p.error}`,
};

const short = (id) => (id ? `${id.slice(0, 6)}…` : "");

function onSdkEvent(name, p) {
  if (name === "state" && p.to !== "Connected" && p.to !== "Disconnected") {
    beginTransition({ Connecting: "connecting", Draining: "our server is leaving", Reconnecting: "connection lost" }[p.to] ?? p.to);
  }
  if (name === "exit") beginTransition(`exit from ${p.serverId ?? "our server"}`);
  if (name === "migrated") beginTransition(`migration ${p.from} → ${p.to}`);
  // A server change outside a reconnect is the service migrating us (`migrated` follows).
  if (name === "server" && p.previous) beginTransition(`migration ${p.previous} → ${p.serverId}`);
  const level = name === "error" || name === "undelivered" ? "bad" : name === "resumed" ? "good" : undefined;
  log("sdk", name, describe[name] ? describe[name](p) : JSON.stringify(p), { level, repeats: name === "reconnecting" });
  if (name === "state" || name === "server") renderHeader();
  onRetryPoint(name, p);
  if (name === "resumed" || name === "closed") endTransition();
  // A throwing handler is a bug in this page: make it loud.
  if (name === "error") console.error("[demo] handler error", p.error);
}

/**
 * SignalR's and the SDK's warnings and errors go to the timeline, and to the console. What the
 * SDK recovers from is a warning there, not an error: SignalR's report of a dropped connection,
 * and failed attempts while the SDK is (re)connecting (it retries by its policy).
 */
const RECOVERED = /^Connection disconnected with error/;
const logger = {
  log(level, message) {
    if (level < signalR.LogLevel.Warning) return;
    const recovering = conn && (conn.state === "Reconnecting" || conn.state === "Connecting");
    const error = level >= signalR.LogLevel.Error && !recovering && !RECOVERED.test(message);
    log("log", level >= signalR.LogLevel.Error ? "signalr error" : "signalr warning", message, { level: "muted", repeats: true });
    if (error) console.error(`[signalr] ${message}`);
    else console.warn(`[signalr] ${message}`);
  },
};

// ---- header ---------------------------------------------------------------------------

/**
 * The header tells the truth in every state: the server is named only while the connection is
 * on it; while (re)connecting it says whether any server is there to reach.
 */
function renderHeader() {
  const state = conn?.state ?? "Disconnected";
  ui.state.textContent = state;
  ui.state.dataset.state = state;
  const serverId = conn?.serverId;
  const anyRunning = servers.some((s) => s.state === "running");
  let text;
  let on = "";
  if ((state === "Connected" || state === "Draining") && serverId) {
    text = state === "Draining" ? `leaving ${serverId}` : `on ${serverId}`;
    on = serverId;
  } else if (state === "Reconnecting" || state === "Connecting") {
    text = serversKnown && !anyRunning ? "no server available" : "finding a server…";
  } else {
    text = state === "Connected" ? "on an unnamed server" : "not connected";
  }
  ui.server.textContent = text;
  ui.server.dataset.server = on;
  ui.server.dataset.none = String(text === "no server available");
  renderServers();
}

// ---- messages -------------------------------------------------------------------------

/** Adds a message once (by id), in id order. Returns true when it was new. */
function addMessage(m) {
  if (!m || typeof m.id !== "number" || messages.has(m.id)) return false;
  messages.set(m.id, m);
  lastSeenId = Math.max(lastSeenId, m.id);
  const pending = outbox.get(m.clientMsgId);
  if (pending) {
    pending.el.remove();
    outbox.delete(m.clientMsgId);
  }
  const li = document.createElement("li");
  li.className = `msg${m.user === me ? " mine" : ""}`;
  li.dataset.id = String(m.id);
  li.innerHTML = `<div class="meta"><span class="user"></span><span class="via"></span></div><div class="body"></div>`;
  li.querySelector(".user").textContent = m.user;
  li.querySelector(".via").textContent = `#${m.id} · via ${m.serverId}`;
  li.querySelector(".body").textContent = m.text;
  // Insert in id order (broadcasts from two servers may cross).
  let before = null;
  for (const el of ui.messages.children) {
    if (Number(el.dataset.id) > m.id) {
      before = el;
      break;
    }
  }
  ui.messages.insertBefore(li, before);
  messagesFollow.changed(m.user === me);
  return true;
}

function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

async function sendMessage(text) {
  const clientMsgId = newClientMsgId();
  const li = document.createElement("li");
  li.className = "msg mine pending";
  li.innerHTML = `<div class="meta"><span class="user"></span><span class="via"></span></div><div class="body"></div>`;
  li.querySelector(".user").textContent = me;
  li.querySelector(".body").textContent = text;
  const status = li.querySelector(".via");
  status.textContent = conn.state === "Connected" ? "sending…" : `queued while ${conn.state.toLowerCase()}`;
  ui.outbox.append(li);
  outbox.set(clientMsgId, { el: li, text });
  messagesFollow.changed(true);
  if (conn.state !== "Connected") log("app", "send", `"${text}" held by the SDK until resumed`);
  try {
    // Idempotent on the server by clientMsgId, and in retryableMethods: safe to re-send.
    addMessage(await conn.invoke("SendMessage", clientMsgId, me, text));
    localStorage.removeItem(draftKey(me));
  } catch (e) {
    status.textContent = `not delivered: ${e.message}`;
    li.classList.add("failed");
    log("app", "send failed", `"${text}": ${e.message}`, { level: "bad" });
    console.error("[demo] message not delivered", e);
  }
}

// ---- connection -----------------------------------------------------------------------

async function joinChat(name) {
  me = name;
  ui.me.textContent = name;
  ui.status.hidden = false;
  ui.join.hidden = true;
  ui.composer.hidden = false;
  const draft = localStorage.getItem(draftKey(name));
  if (draft) {
    ui.text.value = draft;
    updateCounter();
    log("app", "draft restored", `"${draft}"`);
  }
  ui.text.focus();

  const build = () =>
    new signalR.HubConnectionBuilder()
      .withUrl(`/chat?user=${encodeURIComponent(name)}`) // the app servers' load balancer
      .configureLogging(logger)
      .build();
  conn = new GracefulConnection(build(), {
    drainTimeoutMs: 8_000,
    retryableMethods: ["SendMessage"],
    retryInitialStart: true,
    logger,
    // On an exit, open the new connection before closing the old one: no gap at all.
    // Messages carry ids, so a copy received on both connections is dropped once.
    overlap: overlap({ createConnection: build, messageKey: (method, args) => (method === "message" && args[0] ? String(args[0].id) : undefined) }),
  });
  window.demoConnection = conn; // for poking at in the console
  renderHeader();

  // A handler's return value would be taken as a client result: return nothing.
  conn.on("message", (m) => {
    addMessage(m);
  });
  for (const name of SDK_EVENTS) conn.events.on(name, (p) => onSdkEvent(name, p));

  // Business logic before the SDK leaves the old server: keep what the user was typing.
  conn.onExit(async (ctx) => {
    const draft = ui.text.value;
    if (draft.trim()) {
      localStorage.setItem(draftKey(me), draft);
      log("app", "onExit", `draft saved: "${draft}"`, { level: "good" });
    } else {
      log("app", "onExit", `no draft to save; ${Math.round(ctx.budgetMs)} ms budget`);
    }
  });

  // State restore after every (re)connection: fetch what was missed, de-duplicated by id.
  conn.onResume(async (ctx) => {
    const since = lastSeenId;
    const missed = await ctx.invoke("History", since);
    let added = 0;
    for (const m of missed) if (addMessage(m)) added++;
    log("app", "onResume", `History(${since}) → ${missed.length} message(s), ${added} new`);
  });

  try {
    await conn.start();
  } catch (e) {
    log("app", "start failed", e.message, { level: "bad" });
    console.error("[demo] could not start", e);
  }
}

ui.join.addEventListener("submit", (ev) => {
  ev.preventDefault();
  const name = ui.name.value.trim();
  if (name) void joinChat(name);
});

let noteTimer;
/** A short line under the composer: why nothing was sent. */
function composerNote(text, level = "warn") {
  clearTimeout(noteTimer);
  ui.note.textContent = text;
  ui.note.dataset.level = level;
  ui.note.hidden = !text;
  if (text) noteTimer = setTimeout(() => composerNote(""), 4_000);
}

function updateCounter() {
  const n = ui.text.value.trim().length;
  ui.counter.hidden = n < TEXT_WARN_AT;
  ui.counter.textContent = `${n}/${TEXT_LIMIT}`;
  ui.counter.classList.toggle("over", n > TEXT_LIMIT);
  if (n <= TEXT_LIMIT && ui.note.dataset.level === "over") composerNote("");
}

ui.text.addEventListener("input", updateCounter);
// A phone has no room for the hint.
const narrow = matchMedia("(max-width: 600px)");
const fullPlaceholder = ui.text.placeholder;
const fitPlaceholder = () => (ui.text.placeholder = narrow.matches ? "Type a message…" : fullPlaceholder);
narrow.addEventListener("change", fitPlaceholder);
fitPlaceholder();

ui.composer.addEventListener("submit", (ev) => {
  ev.preventDefault();
  if (!conn) return;
  const text = ui.text.value.trim();
  if (!text) {
    composerNote("Type a message first: there is nothing to send.");
    ui.text.focus();
    return;
  }
  if (text.length > TEXT_LIMIT) {
    composerNote(`Too long by ${text.length - TEXT_LIMIT} characters (the limit is ${TEXT_LIMIT}): nothing was sent.`, "over");
    ui.text.focus();
    return;
  }
  ui.text.value = "";
  updateCounter();
  composerNote("");
  void sendMessage(text);
});

// ---- servers panel (control API) ------------------------------------------------------

const ACTIONS = [
  { label: "Shut down — WaitForClientsClose", path: "shutdown", body: { mode: "WaitForClientsClose" }, cls: "" },
  { label: "Shut down — MigrateClients", path: "shutdown", body: { mode: "MigrateClients" }, cls: "" },
  { label: "Kill", path: "kill", body: {}, cls: "danger" },
];

async function control(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) log("app", "control", `${path}: ${data.error ?? res.status}`, { level: "bad" });
  return data;
}

const STATE_LABEL = { running: "online", shuttingDown: "shutting down", stopped: "stopped", killed: "killed" };
/** Whether the stopped servers' summary is expanded (kept across re-renders). */
let goneOpen = false;

function serverRow(s, mine) {
  const li = document.createElement("li");
  li.className = `srv ${s.state}${s.id === mine ? " mine" : ""}`;
  li.dataset.server = s.id;
  const head = document.createElement("div");
  head.className = "srv-head";
  head.innerHTML = `<span class="srv-name"></span><span class="srv-state"></span>${s.id === mine ? `<span class="srv-you">you</span>` : ""}<span class="srv-count"></span>`;
  head.querySelector(".srv-name").textContent = s.id;
  head.querySelector(".srv-state").textContent = s.state === "shuttingDown" && s.mode ? `${STATE_LABEL[s.state]} · ${s.mode}` : STATE_LABEL[s.state];
  head.querySelector(".srv-count").textContent = s.state === "running" || s.state === "shuttingDown" ? `${s.clients} client${s.clients === 1 ? "" : "s"}` : "";
  li.append(head);
  if (s.state === "running") {
    const row = document.createElement("div");
    row.className = "srv-actions";
    for (const a of ACTIONS) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = a.label;
      if (a.cls) b.className = a.cls;
      b.addEventListener("click", () => {
        b.disabled = true;
        log("app", "control", `${a.label} ${s.id}`);
        void control(`/api/servers/${encodeURIComponent(s.id)}/${a.path}`, a.body);
      });
      row.append(b);
    }
    li.append(row);
  } else if (s.report) {
    const r = document.createElement("div");
    r.className = "srv-report";
    r.textContent = `${s.report.modeName}: ${s.report.durationMs} ms · ${s.report.closedByClients} left · ${s.report.migrated} migrated · ${s.report.dropped} dropped`;
    li.append(r);
  }
  return li;
}

/** Servers still up get a row each; stopped and killed ones fold into one summary line. */
function renderServers() {
  const mine = conn?.state === "Connected" || conn?.state === "Draining" ? conn.serverId : undefined;
  const up = servers.filter((s) => s.state === "running" || s.state === "shuttingDown");
  const gone = servers.filter((s) => s.state === "stopped" || s.state === "killed");
  const rows = up.map((s) => serverRow(s, mine));
  if (up.length === 0 && serversKnown) {
    const none = document.createElement("li");
    none.className = "srv-none";
    none.textContent = "No server is running: add one.";
    rows.push(none);
  }
  if (gone.length > 0) {
    const li = document.createElement("li");
    li.className = "srv-gone";
    const details = document.createElement("details");
    details.open = goneOpen;
    details.addEventListener("toggle", () => (goneOpen = details.open));
    const summary = document.createElement("summary");
    const stopped = gone.filter((s) => s.state === "stopped").length;
    const killed = gone.length - stopped;
    summary.textContent = `${[stopped && `${stopped} stopped`, killed && `${killed} killed`].filter(Boolean).join(", ")}: ${gone.map((s) => s.id).join(", ")}`;
    summary.title = "Show each one's shutdown report";
    const list = document.createElement("ul");
    list.className = "gone-list";
    list.append(...gone.map((s) => serverRow(s, mine)));
    details.append(summary, list);
    li.append(details);
    rows.push(li);
  }
  ui.serverList.replaceChildren(...rows);
}

ui.addServer.addEventListener("click", () => void control("/api/servers", {}));

/** What the servers did, newest last; a line too long for the card shows whole on hover or click. */
function showOps(line) {
  const li = document.createElement("li");
  li.textContent = `${clock()}  ${line}`;
  li.title = li.textContent;
  li.tabIndex = 0;
  const toggle = () => li.classList.toggle("open");
  li.addEventListener("click", toggle);
  li.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      toggle();
    }
  });
  ui.ops.append(li);
  while (ui.ops.children.length > 4) ui.ops.firstElementChild.remove();
}

/**
 * A server came up while this tab waits for one: retry now rather than at the end of the
 * backoff (seconds, by then). The SDK's `retryNow()` cuts a wait short and returns false when
 * there is none (an attempt is under way): if that attempt fails, the next wait is cut short.
 */
let retryWhenWaiting = false;

function retryIfWaiting(started) {
  if (!conn || started.length === 0 || (conn.state !== "Reconnecting" && conn.state !== "Connecting")) return;
  if (retryNow()) log("app", "retry now", `${started.join(", ")} is up: retrying at once`);
  else {
    retryWhenWaiting = true;
    log("app", "retry now", `${started.join(", ")} is up: an attempt is under way (if it fails, the next one starts at once)`);
  }
}

function retryNow() {
  try {
    return conn.retryNow() !== false;
  } catch (e) {
    log("app", "retry now", e.message, { level: "bad" });
    return true;
  }
}

/** After `reconnecting` (a wait was just scheduled) or a state change: act on a pending retry. */
function onRetryPoint(name, p) {
  if (name === "state" && p.to === "Connected") retryWhenWaiting = false;
  if (name === "reconnecting" && retryWhenWaiting && p.delayMs > 0) {
    retryWhenWaiting = false;
    setTimeout(() => {
      if (retryNow()) log("app", "retry now", "retrying at once after the failed attempt");
    }, 0);
  }
}

const events = new EventSource("/api/events");
events.addEventListener("servers", (e) => {
  const before = new Set(servers.filter((s) => s.state === "running").map((s) => s.id));
  servers = JSON.parse(e.data).servers;
  const started = serversKnown ? servers.filter((s) => s.state === "running" && !before.has(s.id)).map((s) => s.id) : [];
  serversKnown = true;
  renderHeader();
  retryIfWaiting(started);
});
events.addEventListener("log", (e) => showOps(JSON.parse(e.data).line));
window.addEventListener("pagehide", () => events.close());

// ---- start ----------------------------------------------------------------------------

const params = new URLSearchParams(location.search);
ui.name.value = params.get("name") ?? NAMES[Math.floor(Math.random() * NAMES.length)];
if (params.get("name")) void joinChat(params.get("name"));
else ui.name.focus();
