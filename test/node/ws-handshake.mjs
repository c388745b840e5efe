// ws-handshake.mjs: opens a WebSocket with the npm `ws` client and reports how
// the opening handshake ended, for tests of refused handshakes.
//
//   node ws-handshake.mjs --url ws://127.0.0.1:PORT/echo [--origin http://...] [--protocol-version 13|8] [--timeout 30000]
//
// --protocol-version 8 sends Sec-WebSocket-Version: 8 (ws supports only 8 and
// 13), which a server speaking only 13 refuses with 426.
//
// Prints one JSON line and exits 0 once the handshake ended either way:
//   {"ok":true,"opened":true,"extensions":"..."}     the server switched protocols (closed again with 1000)
//   {"ok":true,"opened":false,"status":403,"headers":{...},"body":"..."}   it answered with another status
// or exits 1 with {"ok":false,"error":"..."} (no answer in time, socket error).
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    origin: { type: 'string' },
    'protocol-version': { type: 'string', default: '13' },
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

if (!opts.url) fail('missing --url');
const timeoutMs = Number(opts.timeout);
if (!(timeoutMs > 0)) fail(`bad --timeout ${opts.timeout}`);
setTimeout(() => fail(`no handshake answer within ${timeoutMs} ms`), timeoutMs);

let ws;
try {
  ws = new WebSocket(opts.url, {
    origin: opts.origin,
    protocolVersion: Number(opts['protocol-version']),
    perMessageDeflate: false,
  });
} catch (err) {
  fail(`new WebSocket: ${err.message}`);
}

let extensions = '';
ws.on('upgrade', (res) => {
  extensions = res.headers['sec-websocket-extensions'] ?? '';
});
// With a listener for 'unexpected-response', ws leaves the response to us
// instead of failing with a generic error.
ws.on('unexpected-response', (req, res) => {
  const chunks = [];
  res.on('data', (c) => chunks.push(c));
  res.on('end', () => {
    finish({
      ok: true,
      opened: false,
      status: res.statusCode,
      headers: res.headers,
      body: Buffer.concat(chunks).toString(),
    });
  });
  res.on('error', (err) => fail(`reading the response: ${err.message}`));
});
ws.on('open', () => {
  ws.once('close', (code) => finish({ ok: true, opened: true, extensions, closeCode: code }));
  ws.close(1000, 'done');
});
ws.on('error', (err) => fail(`websocket error: ${err.message}`));
