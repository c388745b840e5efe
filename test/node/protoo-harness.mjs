// protoo-harness.mjs: what the protoo-client scenario scripts share. A
// script defines its scenarios and calls runScenarios; it is run as
//
//   node SCRIPT --url ws://127.0.0.1:PORT/... --scenario NAME [--timeout 30000]
//
// and prints one JSON object on stdout, {"ok":true,...findings} with exit 0,
// or {"ok":false,"error":"..."} with exit 1, for the Go tests to check.
import { parseArgs } from 'node:util';
import protooClient from 'protoo-client';

export const { values: opts } = parseArgs({
  options: {
    url: { type: 'string' },
    scenario: { type: 'string' },
    timeout: { type: 'string', default: '30000' },
  },
});

function finish(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}
const fail = (message) => finish({ ok: false, error: message });
if (!opts.url || !opts.scenario) fail('missing --url or --scenario');
setTimeout(() => fail(`timeout after ${opts.timeout} ms in ${opts.scenario}`), Number(opts.timeout));

// connect opens a protoo Peer and resolves once it is open. Without retry
// options protoo-client's default retry policy applies. Every notification
// is kept in peer.notes, every transport event in peer.events, and the time
// of the close in peer.closedAt.
export function connect(url, retry) {
  const transport = new protooClient.WebSocketTransport(url, retry ? { retry } : undefined);
  const peer = new protooClient.Peer(transport);
  peer.notes = [];
  peer.events = [];
  peer.closedAt = null;
  peer.on('notification', (n) => peer.notes.push(n));
  for (const ev of ['open', 'failed', 'disconnected', 'close']) peer.on(ev, () => peer.events.push(ev));
  peer.on('close', () => { peer.closedAt = Date.now(); });
  return new Promise((resolve, reject) => {
    peer.once('open', () => resolve(peer));
    peer.once('failed', () => reject(new Error(`connection to ${url} failed`)));
  });
}

// waitFor polls cond every 10 ms until it returns something truthy.
export async function waitFor(what, cond, ms = 10000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// errorOf returns {code, message} of a rejected request, or fails.
export async function errorOf(p) {
  try {
    const v = await p;
    throw new Error(`request succeeded with ${JSON.stringify(v)}, want an error`);
  } catch (e) {
    if (e.code === undefined) throw e;
    return { code: e.code, message: e.message };
  }
}

// runScenarios runs the scenario named by --scenario and prints its result.
export function runScenarios(scenarios) {
  const run = scenarios[opts.scenario];
  if (!run) fail(`unknown scenario ${opts.scenario}`);
  run().then((out) => finish({ ok: true, ...out }), (e) => fail(`${opts.scenario}: ${e.stack || e}`));
}
