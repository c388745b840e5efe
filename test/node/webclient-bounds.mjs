// webclient-bounds.mjs: runs the web app's client (internal/server/web/client.js)
// in Node against a scripted protoo server of its own (npm `ws` on
// 127.0.0.1) and checks two of its limits:
//
//   held     a subscription recovering a gap holds back at most 4096 live
//            publications: the server opens a gap, leaves the recovery
//            unanswered while it sends --count more, then answers it; the
//            handler must get the newest 4096 only, in order.
//   restore  a reconnect whose resume login fails (error 500) is abandoned
//            with close code 4002 "restore failed".
//
//   node webclient-bounds.mjs [--count 5000] [--timeout 30000]
//
// Prints one JSON line and exits 0:
//   {"ok":true,"delivered":N,"first":F,"last":L,"restoreCode":C,"restoreReason":"..."}
// or exits 1 with {"ok":false,"error":"..."}.
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';

const { values: opts } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    timeout: { type: 'string', default: '30000' },
  },
});
const count = Number(opts.count);

function fail(error) {
  console.log(JSON.stringify({ ok: false, error: String(error) }));
  process.exit(1);
}
setTimeout(() => fail(`no result within ${opts.timeout} ms`), Number(opts.timeout)).unref();

// The page's globals that client.js and protoo.js use.
globalThis.WebSocket = WebSocket;
const { Client } = await import('../../internal/server/web/client.js');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'protoo' });
await new Promise((resolve) => wss.on('listening', resolve));
const url = `ws://127.0.0.1:${wss.address().port}/ws`;

const send = (ws, m) => ws.send(JSON.stringify(m));
const ok = (ws, id, data) => send(ws, { response: true, id, ok: true, data });
const publication = (offset) => ({ notification: true, method: 'publication', data: { channel: 'c', offset, data: { n: offset }, from: 'x' } });

let conns = 0;
let first = null; // the server side of the first connection
let restoreClose = null;
const restoreClosed = new Promise((resolve) => { restoreClose = resolve; });
let gapAnswered = null;
const gapDone = new Promise((resolve) => { gapAnswered = resolve; });

wss.on('connection', (ws) => {
  const n = ++conns;
  ws.on('close', (code, reason) => { if (n === 2) restoreClose({ code, reason: reason.toString() }); });
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString());
    if (!m.request) return;
    if (m.method === 'login' && n === 1) { ok(ws, m.id, { name: 'alice', resume: 'tok' }); return; }
    if (m.method === 'login') { send(ws, { response: true, id: m.id, ok: false, errorCode: 500, errorReason: 'scripted failure' }); return; }
    if (m.method !== 'subscribe') return;
    if (!m.data.since) {
      ok(ws, m.id, { channel: 'c', epoch: 'e', offset: 1, recovered: false, publications: [] });
      first = ws;
      return;
    }
    for (let i = 4; i < 3 + count; i++) send(ws, publication(i));
    // Not recoverable: the client delivers what it held.
    ok(ws, m.id, { channel: 'c', epoch: 'e', offset: 2, recovered: false, publications: [] });
    gapAnswered();
  });
});

const client = new Client(url);
await client.start('alice');
const got = [];
let recovered = false;
client.addEventListener('recovered', () => { recovered = true; });
await client.subscribe('c', (p) => got.push(p.offset));
// A gap (offset 3 after 1) starts a recovery; everything after it is held
// back until the recovery's reply.
send(first, publication(3));
await gapDone;
const deadline = Date.now() + 10000;
while ((!recovered || got.length === 0 || got[got.length - 1] !== 2 + count) && Date.now() < deadline) {
  await new Promise((r) => setTimeout(r, 20));
}
for (let i = 1; i < got.length; i++) {
  if (got[i] !== got[i - 1] + 1) fail(`offsets out of order at ${i}: ${got[i - 1]} then ${got[i]}`);
}

// Drop the connection abnormally: the client reconnects, its resume login
// fails, and it abandons that connection.
for (const ws of wss.clients) ws.terminate();
const rc = await restoreClosed;
client.stop();
wss.close();
console.log(JSON.stringify({ ok: true, delivered: got.length, first: got[0] ?? 0, last: got[got.length - 1] ?? 0, restoreCode: rc.code, restoreReason: rc.reason }));
process.exit(0);
