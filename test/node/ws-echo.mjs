// ws-echo.mjs: round-trips text and binary messages through a WebSocket echo
// endpoint with the npm `ws` client and checks that each one comes back
// identical and with the same type.
//
//   node ws-echo.mjs --url ws://127.0.0.1:PORT/echo [--deflate] [--origin http://...] [--timeout 30000]
//
// Prints one JSON line on stdout and exits 0 on success:
//   {"ok":true,"messages":N,"extensions":"<Sec-WebSocket-Extensions>","results":[...]}
// or exits 1 with {"ok":false,"error":"..."}.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const SIZES = [0, 1, 125, 126, 65535, 65536, 1048576];

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    deflate: { type: 'boolean', default: false },
    origin: { type: 'string' },
    timeout: { type: 'string', default: '30000' },
  },
});

function finish(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}

function fail(message) {
  finish({ ok: false, error: message });
}

// utf8Text returns a string of exactly n UTF-8 bytes that mixes 1-, 2-, 3- and
// 4-byte characters, so that multibyte characters straddle frame and buffer
// boundaries.
function utf8Text(n) {
  const chars = ['a', 'é', '€', '😀', 'Z', 'ß', '中', '𝄞'];
  let out = '';
  let left = n;
  for (let i = 0; left > 0; i++) {
    const c = chars[i % chars.length];
    const size = Buffer.byteLength(c);
    if (size <= left) {
      out += c;
      left -= size;
    } else {
      out += 'a'.repeat(left);
      left = 0;
    }
  }
  return out;
}

if (!opts.url) fail('missing --url');
const timeoutMs = Number(opts.timeout);
if (!(timeoutMs > 0)) fail(`bad --timeout ${opts.timeout}`);
setTimeout(() => fail(`timeout after ${timeoutMs} ms`), timeoutMs);

const cases = [];
for (const size of SIZES) {
  cases.push({ type: 'text', size, payload: Buffer.from(utf8Text(size)) });
  cases.push({ type: 'binary', size, payload: randomBytes(size) });
}

const ws = new WebSocket(opts.url, {
  origin: opts.origin,
  perMessageDeflate: opts.deflate ? { threshold: 0 } : false,
  maxPayload: 64 << 20,
});

let extensions = '';
let pending = null; // resolve function of the message we wait for
const results = [];

ws.on('upgrade', (res) => {
  extensions = res.headers['sec-websocket-extensions'] ?? '';
});
ws.on('error', (err) => fail(`websocket error: ${err.message}`));
ws.on('close', (code, reason) => {
  if (pending) fail(`connection closed early: code ${code} reason ${JSON.stringify(reason.toString())}`);
});
ws.on('message', (data, isBinary) => {
  if (!pending) fail('unexpected message from server');
  const resolve = pending;
  pending = null;
  resolve({ data, isBinary });
});

ws.on('open', async () => {
  for (const c of cases) {
    const start = performance.now();
    const reply = new Promise((resolve) => { pending = resolve; });
    // Text is sent as a string so that ws frames it as text the usual way.
    ws.send(c.type === 'text' ? c.payload.toString() : c.payload, { binary: c.type === 'binary' });
    const { data, isBinary } = await reply;
    const ms = Math.round((performance.now() - start) * 10) / 10;
    const gotType = isBinary ? 'binary' : 'text';
    if (gotType !== c.type) fail(`${c.type} message of ${c.size} bytes came back as ${gotType}`);
    if (!c.payload.equals(data)) {
      fail(`${c.type} message of ${c.size} bytes came back different (${data.length} bytes)`);
    }
    results.push({ type: c.type, size: c.size, ok: true, ms });
  }
  ws.once('close', () => finish({ ok: true, messages: results.length, extensions, results }));
  ws.close(1000, 'done');
});
