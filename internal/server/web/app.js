// app.js: the Switchboard web app. A login form, then one tab per
// messaging workflow: echo, routed (one named client), group (a channel
// everyone may publish to), streamed (a channel the server feeds) and the
// video room (room.js: a WebRTC mesh signaled through a room).

import { Client, wsURL } from './client.js';
import { LineChart, formatNumber } from './chart.js';
import { setupVideoRoom } from './room.js';

const $ = (id) => document.getElementById(id);
const client = new Client(wsURL());
// For tests and the console.
window.switchboardApp = { client };

const time = (d = new Date()) => d.toLocaleTimeString([], { hour12: false });

// show renders a JSON value: strings as they are, the rest as JSON.
const show = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

// parseInput reads what the user typed: JSON when it is JSON, else the
// text as a string.
const parseInput = (text) => {
  const t = text.trim();
  if (/^[[{"]|^-?\d|^(true|false|null)$/.test(t)) {
    try { return JSON.parse(t); } catch { /* plain text */ }
  }
  return text;
};

const errorText = (err) => (err.code ? `${err.code} ${err.message}` : err.message);

// ---- errors: every error is shown in an element of class "error" (one
// red style) and remembers its cause, so that it goes away when the cause
// does: a recipient who comes online, a connection that is back. Any edit
// in the form an error belongs to clears it too.

const causes = new Map(); // error element id -> cause

// showError shows text in the error element id. cause is a string such as
// 'offline' or 'recipient:carol'; '' is cleared only by the user's next
// action.
function showError(id, text, cause = '') {
  $(id).textContent = text;
  causes.set(id, cause);
}

function clearError(id) {
  $(id).textContent = '';
  causes.delete(id);
}

// clearErrors clears every error whose cause is gone.
function clearErrors(gone) {
  for (const [id, cause] of causes) if (cause && gone(cause)) clearError(id);
}

function clearAllErrors() {
  for (const el of document.querySelectorAll('.error')) clearError(el.id);
}

// failure shows a failed request's error: one a lost connection caused
// goes away when the connection is back.
function failure(id, prefix, err) {
  showError(id, prefix + errorText(err), err.code ? '' : 'offline');
}

for (const [form, error] of [['login-form', 'login-error'], ['echo-form', 'echo-error'], ['routed-form', 'routed-error'],
  ['group-form', 'group-error'], ['video-form', 'video-error'], ['video-chat-form', 'video-error']]) {
  $(form).addEventListener('input', () => clearError(error));
}

// addLine appends an <li> to a log (newest last, as in a chat), keeping
// it short and scrolled to the newest line unless the user scrolled up,
// and returns it.
function addLine(list, parts, cls = '') {
  const li = document.createElement('li');
  if (cls) li.className = cls;
  for (const [k, v] of parts) {
    const span = document.createElement('span');
    span.className = k;
    span.textContent = v;
    li.append(span, ' ');
  }
  return appendLine(list, li);
}

// addSeparator appends a line that says what happened between the lines
// above and below it.
function addSeparator(list, text) {
  const li = document.createElement('li');
  li.className = 'separator';
  li.setAttribute('role', 'separator');
  li.textContent = text;
  return appendLine(list, li);
}

function appendLine(list, li) {
  const atEnd = list.scrollHeight - list.scrollTop - list.clientHeight < 8;
  list.append(li);
  while (list.children.length > 200) list.firstElementChild.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
  return li;
}

// ---- connection state and login

const online = () => client.state === 'online';

function renderState(state, info) {
  const el = $('state');
  el.dataset.state = state;
  // "online as" is left out on a narrow screen (class wide), the name not.
  if (state === 'online') {
    const wide = document.createElement('span');
    wide.className = 'wide';
    wide.textContent = 'online as ';
    el.replaceChildren(wide, client.name);
  } else {
    el.textContent = state;
  }
  el.title = el.textContent;
  // Closed by the server is an error: the user did not ask for it.
  if (state === 'closed') {
    $('login-info').textContent = '';
    showError('login-error', info ? info[0].toUpperCase() + info.slice(1) : 'Closed by the server.');
  } else if (info) {
    $('login-info').textContent = info === 'reconnected' ? 'Reconnected.' : info;
  }
  const connected = state !== 'disconnected' && state !== 'closed';
  $('connect').disabled = connected;
  $('name').disabled = connected;
  $('disconnect').disabled = !connected;
  for (const f of document.querySelectorAll('.panel button, .panel input')) f.disabled = !online();
  document.body.classList.toggle('is-online', online());
}

client.addEventListener('state', (e) => {
  renderState(e.detail.state, e.detail.info);
  if (e.detail.state === 'online') clearErrors((cause) => cause === 'offline');
  if (e.detail.state === 'online' && e.detail.info === 'reconnected') refreshOnline();
  if (e.detail.state === 'disconnected' || e.detail.state === 'closed') resetChannels();
});

// The server's error notifications: a refused frame, or the reason of a
// close with 4000 that follows.
client.addEventListener('error', (e) => {
  showError('login-error', `Server: ${e.detail.errorCode} ${e.detail.errorReason}`);
});

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  if (!name) return;
  $('login-info').textContent = '';
  clearError('login-error');
  try {
    await client.start(name);
  } catch (err) {
    showError('login-error', `Cannot log in: ${errorText(err)}`);
    return;
  }
  clearAllErrors(); // a new session: what failed before is stale
  $('echo-input').focus();
  try {
    await client.subscribe('presence', onPresence);
  } catch { /* the list still refreshes on login and reconnect */ }
  await refreshOnline();
});

$('disconnect').addEventListener('click', () => {
  client.stop();
  clearAllErrors(); // what failed belongs to the session that ended
  $('login-info').textContent = 'Disconnected.';
  $('name').focus();
});

// ---- tabs: buttons with ARIA roles; arrows, Home and End move between them

const tabs = [...document.querySelectorAll('[role=tab]')];
function selectTab(tab, focus = true) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
  if (tab.id === 'tab-streamed') chart.draw();
}
for (const t of tabs) {
  t.addEventListener('click', () => selectTab(t));
  t.addEventListener('keydown', (e) => {
    const i = tabs.indexOf(t);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    selectTab(tabs[(to + tabs.length) % tabs.length]);
  });
}

// ---- echo

$('echo-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('echo-input');
  const data = parseInput(input.value);
  clearError('echo-error');
  const start = performance.now();
  try {
    const reply = await client.request('echo', data);
    const ms = performance.now() - start;
    addLine($('echo-log'), [['time', time()], ['text', show(reply)], ['meta', `${ms.toFixed(1)} ms`]]);
    input.value = '';
  } catch (err) {
    failure('echo-error', 'Cannot echo: ', err);
  }
});

// ---- routed: the online list, a recipient, one conversation per peer

const conversations = new Map(); // peer -> [{dir, text, at}]
let peer = '';
let names = [];

function onPresence(p) {
  const d = p.data || {};
  if (!d.name || d.name === client.name) return;
  if (d.event === 'join' && !names.includes(d.name)) names = [...names, d.name].sort();
  if (d.event === 'leave') names = names.filter((n) => n !== d.name);
  renderOnline();
}

async function refreshOnline() {
  try {
    const r = await client.request('online', {});
    names = (r.names || []).filter((n) => n !== client.name);
    renderOnline();
  } catch { /* shown on the next change */ }
}

// A "not online" error goes when that client comes online.
const recipientOnline = (cause) => cause.startsWith('recipient:') && names.includes(cause.slice('recipient:'.length));

function renderOnline() {
  clearErrors(recipientOnline);
  const list = $('online-list');
  list.replaceChildren();
  const dl = $('online-names');
  dl.replaceChildren();
  for (const n of names) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'person';
    b.dataset.name = n;
    b.textContent = n;
    b.setAttribute('aria-pressed', String(n === peer));
    if ((conversations.get(n) || []).some((m) => m.unread)) b.classList.add('unread');
    b.addEventListener('click', () => pickPeer(n));
    li.append(b);
    list.append(li);
    const o = document.createElement('option');
    o.value = n;
    dl.append(o);
  }
  if (!names.length) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'Nobody else is online.';
    list.append(li);
  }
}

function pickPeer(name) {
  peer = name;
  $('routed-to').value = name;
  for (const m of conversations.get(name) || []) m.unread = false;
  renderConversation();
  renderOnline();
  $('routed-input').focus();
}

function renderConversation() {
  $('routed-title').textContent = peer ? `Conversation with ${peer}` : 'Conversation';
  const log = $('routed-log');
  log.replaceChildren();
  for (const m of conversations.get(peer) || []) {
    addLine(log, [['time', time(m.at)], ['from', m.dir === 'in' ? peer : client.name], ['text', m.text]], m.dir === 'in' ? 'in' : 'own');
  }
}

function remember(name, dir, text) {
  if (!conversations.has(name)) conversations.set(name, []);
  conversations.get(name).push({ dir, text, at: new Date(), unread: dir === 'in' && name !== peer });
}

client.addEventListener('message', (e) => {
  const { from, data } = e.detail;
  remember(from, 'in', show(data));
  if (!peer) pickPeer(from);
  else if (from === peer) renderConversation();
  else renderOnline();
});

$('routed-to').addEventListener('change', () => pickPeer($('routed-to').value.trim()));

$('routed-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const to = $('routed-to').value.trim();
  const input = $('routed-input');
  const text = input.value;
  clearError('routed-error');
  if (to !== peer) pickPeer(to);
  try {
    await client.request('send', { to, data: parseInput(text) });
    remember(to, 'out', text);
    renderConversation();
    input.value = '';
  } catch (err) {
    if (err.code === 404) showError('routed-error', `Cannot send to ${to}: ${errorText(err)}`, `recipient:${to}`);
    else failure('routed-error', `Cannot send to ${to}: `, err);
  }
});

// ---- channels: group and stream share the subscribe toggle

const channelUI = {
  group: {
    button: 'group-sub', state: 'group-state', error: 'group-error', onPub: onGroup,
    subscribed: 'subscribed: messages published from now on appear below',
  },
  stream: {
    button: 'stream-sub', state: 'stream-state', error: 'stream-error', onPub: onStream,
    subscribed: 'subscribed: the server sends its figures',
  },
};

function renderChannel(channel, text) {
  const ui = channelUI[channel];
  const on = client.subscribed(channel);
  $(ui.button).textContent = on ? 'Unsubscribe' : 'Subscribe';
  $(ui.button).setAttribute('aria-pressed', String(on));
  $(ui.state).textContent = text ?? (on ? 'subscribed' : 'not subscribed');
}

function resetChannels() {
  for (const ch of Object.keys(channelUI)) renderChannel(ch);
  names = [];
  renderOnline();
}

for (const [channel, ui] of Object.entries(channelUI)) {
  $(ui.button).addEventListener('click', async () => {
    clearError(ui.error);
    const on = client.subscribed(channel);
    try {
      if (on) {
        await client.unsubscribe(channel);
        renderChannel(channel);
      } else {
        await client.subscribe(channel, ui.onPub);
        renderChannel(channel, ui.subscribed);
      }
    } catch (err) {
      failure(ui.error, on ? 'Cannot unsubscribe: ' : 'Cannot subscribe: ', err);
      renderChannel(channel);
    }
  });
}

// After a reconnect the client catches up on what it missed, if the
// server still has it.
client.addEventListener('recovered', (e) => {
  const { channel, missed, lost, restarted } = e.detail;
  const ui = channelUI[channel];
  if (!ui) return;
  let text = missed ? `subscribed: caught up on ${missed} missed message${missed === 1 ? '' : 's'}` : 'subscribed again: nothing was missed';
  if (restarted) text = 'subscribed again after a server restart';
  else if (lost) text = 'subscribed again, but messages sent while you were away are missing';
  renderChannel(channel, text);
  $(ui.state).dataset.recovered = String(!lost);
  if (channel === 'group') groupCatchUp = false;
  if (channel === 'group' && lost) {
    addSeparator($('group-log'), restarted ? 'The server restarted. Messages below are new, numbered from #1 again.'
      : 'Reconnected. Messages sent while you were away are missing here.');
  }
});

// While the page reconnects, the publications it missed are replayed:
// a separator goes above the first of them.
let groupCatchUp = false;
client.addEventListener('state', (e) => {
  groupCatchUp = e.detail.state === 'reconnecting' && (groupCatchUp || client.subscribed('group'));
});

function onGroup(p) {
  if (groupCatchUp && client.state === 'reconnecting') {
    addSeparator($('group-log'), 'Reconnected. Messages sent while you were away:');
    groupCatchUp = false;
  }
  const own = p.from && p.from === client.name;
  addLine($('group-log'), [['time', time()], ['from', p.from || 'server'], ['text', show(p.data)], ['meta', `#${p.offset}`]], own ? 'own' : '');
}

$('group-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('group-input');
  const text = input.value;
  clearError('group-error');
  // Cleared at once: our own publication can arrive before the reply,
  // and what is typed meanwhile must not be lost. Put back on error.
  input.value = '';
  try {
    await client.request('publish', { channel: 'group', data: parseInput(text) });
  } catch (err) {
    failure('group-error', 'Cannot publish: ', err);
    if (input.value === '') input.value = text;
  }
});

// ---- streamed: live figures and a chart

const chart = new LineChart($('stream-chart'), [
  { key: 'in', label: 'in/s', color: '#2563eb' },
  { key: 'out', label: 'out/s', color: '#db2777' },
]);
let updates = 0;

function onStream(p) {
  const d = p.data || {};
  updates++;
  $('fig-connections').textContent = formatNumber(d.connections ?? 0);
  $('fig-in').textContent = formatNumber(d.messagesInPerSec ?? 0);
  $('fig-out').textContent = formatNumber(d.messagesOutPerSec ?? 0);
  $('fig-heap').textContent = formatNumber(d.heapBytes ?? 0) + 'B';
  $('fig-count').textContent = String(updates);
  chart.setInterval(d.intervalSeconds);
  chart.push({ in: d.messagesInPerSec ?? 0, out: d.messagesOutPerSec ?? 0 });
}

// The chart's time span needs the server's stream interval before the
// first update; a server without a stream says so.
async function loadStreamConfig() {
  try {
    const cfg = await (await fetch('/config.json', { cache: 'no-store' })).json();
    if (cfg.streamIntervalSeconds > 0) chart.setInterval(cfg.streamIntervalSeconds);
    else if (cfg.streamIntervalSeconds === 0) channelUI.stream.subscribed = 'subscribed, but this server publishes no figures (--stream-interval 0)';
  } catch { /* the first update tells */ }
}

// ---- video room (room.js)

window.switchboardApp.room = setupVideoRoom(client, $, { showError, clearError, clearErrors });
window.switchboardApp.chart = chart;

// ---- start

$('ws-url').textContent = wsURL();
renderState('disconnected');
renderOnline();
chart.draw();
loadStreamConfig();
$('name').focus();
