// ws-close.mjs: connects with the npm `ws` client, commits one protocol abuse
// and reports the close code and reason the server answered with.
//
//   node ws-close.mjs --url ws://127.0.0.1:PORT/echo --case CASE [--limit N] [--deflate] [--origin http://...] [--timeout 30000]
//
// Cases (the code a conforming server sends is in brackets):
//   invalid-utf8             a text message that is not valid UTF-8 [1007]
//   invalid-utf8-fragmented  a text message whose second fragment is not valid UTF-8 [1007]
//   too-big                  a binary message of --limit + 1 bytes [1009]
//   too-big-fragmented       the same, in fragments of at most --limit / 2 + 1 bytes [1009]
//   unmasked                 a text frame from the client without a mask [1002]
//   close-invalid-utf8       a close frame whose reason is not valid UTF-8 [1007 or 1002]
//   idle                     nothing at all: waits for the server to close (deadlines)
//
// Prints one JSON line and exits 0 once a close arrived:
//   {"ok":true,"case":"...","code":1007,"reason":"...","error":"<socket error, if any>"}
// or exits 1 with {"ok":false,"case":"...","error":"..."} (no close in time, handshake failed).
// A connection dropped without a close frame reports code 1006.
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    case: { type: 'string' },
    limit: { type: 'string' },
    deflate: { type: 'boolean', default: false },
    origin: { type: 'string' },
    timeout: { type: 'string', default: '30000' },
  },
});

// "κόσμε" followed by a UTF-16 surrogate (ED A0 80), which UTF-8 forbids.
const INVALID_UTF8 = Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80]);

function limit() {
  const n = Number(opts.limit);
  if (!Number.isInteger(n) || n < 1) fail(`case ${opts.case} needs --limit N (N >= 1), got ${opts.limit}`);
  return n;
}

const CASES = {
  'invalid-utf8': (ws) => ws.send(INVALID_UTF8, { binary: false }),
  'invalid-utf8-fragmented': (ws) => {
    ws.send(Buffer.from('hello '), { binary: false, fin: false });
    ws.send(INVALID_UTF8, { fin: true });
  },
  'too-big': (ws) => ws.send(Buffer.alloc(limit() + 1, 0x61), { binary: true }),
  'too-big-fragmented': (ws) => {
    let left = limit() + 1;
    const chunk = Math.floor(limit() / 2) + 1;
    let first = true;
    while (left > 0) {
      const n = Math.min(chunk, left);
      left -= n;
      // Continuation frames ignore the binary flag; ws sends opcode 0 after the first.
      ws.send(Buffer.alloc(n, 0x62), { binary: first, fin: left === 0 });
      first = false;
    }
  },
  unmasked: (ws) => ws.send('not masked', { mask: false }),
  'close-invalid-utf8': (ws) => ws.close(1000, INVALID_UTF8),
  idle: () => {},
};

let socketError;

function finish(result) {
  if (socketError) result.error = socketError;
  process.stdout.write(JSON.stringify({ case: opts.case, ...result }) + '\n');
  process.exit(result.ok ? 0 : 1);
}

function fail(message) {
  socketError = undefined;
  finish({ ok: false, error: message });
}

if (!opts.url) fail('missing --url');
const abuse = CASES[opts.case];
if (!abuse) fail(`unknown --case ${JSON.stringify(opts.case)}; known: ${Object.keys(CASES).join(', ')}`);
const timeoutMs = Number(opts.timeout);
if (!(timeoutMs > 0)) fail(`bad --timeout ${opts.timeout}`);
if (opts.case.startsWith('too-big')) limit();
setTimeout(() => fail(`no close within ${timeoutMs} ms`), timeoutMs);

const ws = new WebSocket(opts.url, {
  origin: opts.origin,
  perMessageDeflate: opts.deflate ? { threshold: 0 } : false,
});

let opened = false;
ws.on('open', () => {
  opened = true;
  abuse(ws);
});
ws.on('message', () => {}); // an echo of the abuse, if any, is not our business
ws.on('error', (err) => {
  if (!opened) fail(`websocket error: ${err.message}`);
  // After the abuse the server may reset the connection; the close follows.
  socketError = err.message;
});
ws.on('close', (code, reason) => finish({ ok: true, code, reason: reason.toString() }));
