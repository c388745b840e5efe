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

const errorText = (err) => (err.code ? `${err.code}: ${err.message}` : err.message);

// addLine appends an <li> to a log, keeping it short, and returns it.
function addLine(list, parts, cls = '') {
  const li = document.createElement('li');
  if (cls) li.className = cls;
  for (const [k, v] of parts) {
    const span = document.createElement('span');
    span.className = k;
    span.textContent = v;
    li.append(span, ' ');
  }
  list.prepend(li);
  while (list.children.length > 200) list.lastElementChild.remove();
  return li;
}

// ---- connection state and login

const online = () => client.state === 'online';

function renderState(state, info) {
  const el = $('state');
  el.dataset.state = state;
  el.textContent = state === 'online' ? `online as ${client.name}` : state;
  if (info) $('login-info').textContent = info;
  const connected = state !== 'disconnected' && state !== 'closed';
  $('connect').disabled = connected;
  $('name').disabled = connected;
  $('disconnect').disabled = !connected;
  for (const f of document.querySelectorAll('.panel button, .panel input')) f.disabled = !online();
  document.body.classList.toggle('is-online', online());
}

client.addEventListener('state', (e) => {
  renderState(e.detail.state, e.detail.info);
  if (e.detail.state === 'online' && e.detail.info === 'reconnected') refreshOnline();
  if (e.detail.state === 'disconnected' || e.detail.state === 'closed') resetChannels();
});

// The server's error notifications: a refused frame, or the reason of a
// close with 4000 that follows.
client.addEventListener('error', (e) => {
  $('login-info').textContent = `Server: ${e.detail.errorCode} ${e.detail.errorReason}`;
});

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  if (!name) return;
  $('login-info').textContent = '';
  try {
    await client.start(name);
  } catch (err) {
    $('login-info').textContent = `Cannot log in: ${errorText(err)}`;
    return;
  }
  $('echo-input').focus();
  try {
    await client.subscribe('presence', onPresence);
  } catch { /* the list still refreshes on login and reconnect */ }
  await refreshOnline();
});

$('disconnect').addEventListener('click', () => {
  client.stop();
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
  $('echo-error').textContent = '';
  const start = performance.now();
  try {
    const reply = await client.request('echo', data);
    const ms = performance.now() - start;
    addLine($('echo-log'), [['time', time()], ['text', show(reply)], ['meta', `${ms.toFixed(1)} ms`]]);
    input.value = '';
  } catch (err) {
    $('echo-error').textContent = errorText(err);
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

function renderOnline() {
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
    addLine(log, [['time', time(m.at)], ['from', m.dir === 'in' ? peer : 'me'], ['text', m.text]], m.dir);
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
  $('routed-error').textContent = '';
  if (to !== peer) pickPeer(to);
  try {
    await client.request('send', { to, data: parseInput(text) });
    remember(to, 'out', text);
    renderConversation();
    input.value = '';
  } catch (err) {
    $('routed-error').textContent = `Cannot send to ${to}: ${errorText(err)}`;
  }
});

// ---- channels: group and stream share the subscribe toggle

const channelUI = {
  group: { button: 'group-sub', state: 'group-state', error: 'group-error', onPub: onGroup },
  stream: { button: 'stream-sub', state: 'stream-state', error: 'stream-error', onPub: onStream },
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
    $(ui.error).textContent = '';
    try {
      if (client.subscribed(channel)) {
        await client.unsubscribe(channel);
        renderChannel(channel);
      } else {
        const r = await client.subscribe(channel, ui.onPub);
        renderChannel(channel, `subscribed at offset ${r.offset}`);
      }
    } catch (err) {
      $(ui.error).textContent = errorText(err);
      renderChannel(channel);
    }
  });
}

client.addEventListener('recovered', (e) => {
  const { channel, missed, lost } = e.detail;
  if (!channelUI[channel]) return;
  renderChannel(channel, lost ? 'resubscribed: missed messages could not be recovered'
    : `recovered (${missed} missed)`);
  const el = $(channelUI[channel].state);
  el.dataset.recovered = String(!lost);
});

function onGroup(p) {
  addLine($('group-log'), [['time', time()], ['from', p.from || 'server'], ['text', show(p.data)], ['meta', `#${p.offset}`]]);
}

$('group-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = $('group-input');
  const text = input.value;
  $('group-error').textContent = '';
  // Cleared at once: our own publication can arrive before the reply,
  // and what is typed meanwhile must not be lost. Put back on error.
  input.value = '';
  try {
    await client.request('publish', { channel: 'group', data: parseInput(text) });
  } catch (err) {
    $('group-error').textContent = errorText(err);
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
  chart.push({ in: d.messagesInPerSec ?? 0, out: d.messagesOutPerSec ?? 0 });
}

// ---- video room (room.js)

window.switchboardApp.room = setupVideoRoom(client, $);

// ---- start

$('ws-url').textContent = wsURL();
renderState('disconnected');
renderOnline();
chart.draw();
$('name').focus();
