// protoo-messaging.mjs: drives Switchboard's messaging protocol (login,
// echo, routed, group, streamed, recovery) with the real npm protoo-client.
//
//   node protoo-messaging.mjs --url ws://127.0.0.1:PORT/ws --scenario NAME [--timeout 30000]
//
// Scenarios: workflows, recovery, login, errors. Prints one JSON object on
// stdout, {"ok":true,...findings} and exits 0, or {"ok":false,"error":"..."}
// and exits 1. The Go tests (internal/server/messaging_node_test.go) check
// the findings.
import { opts, connect as open, waitFor, errorOf, runScenarios } from './protoo-harness.mjs';

const NO_RETRY = { retries: 0 };

// connect opens a peer that does not retry.
const connect = (url) => open(url, NO_RETRY);

// login retries while the name is still held by a connection the server
// has not yet seen close.
async function login(peer, name) {
  const end = Date.now() + 10000;
  for (;;) {
    try {
      return await peer.request('login', { name });
    } catch (e) {
      if (e.code !== 409 || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

const pubs = (peer, channel) => peer.notes.filter((n) => n.method === 'publication' && n.data.channel === channel).map((n) => n.data);

runScenarios({
  async workflows() {
    const out = {};
    const a = await connect(opts.url);
    out.login = await a.request('login', { name: 'alice' });
    await a.request('subscribe', { channel: 'presence' });
    out.echo = await a.request('echo', { hello: 'world', n: [1, 2, 3] });
    const b = await connect(opts.url);
    await b.request('login', { name: 'bob' });
    out.presence = (await waitFor('presence join of bob', () => pubs(a, 'presence').find((p) => p.data.name === 'bob'))).data;
    out.online = await a.request('online', {});

    out.send = await a.request('send', { to: 'bob', data: { text: 'hi bob' } });
    out.message = (await waitFor('message at bob', () => b.notes.find((n) => n.method === 'message'))).data;
    out.sendUnknown = await errorOf(a.request('send', { to: 'nobody', data: {} }));

    out.subA = await a.request('subscribe', { channel: 'group' });
    out.subB = await b.request('subscribe', { channel: 'group' });
    out.publish = await b.request('publish', { channel: 'group', data: { text: 'hello group' } });
    out.groupA = await waitFor('group publication at alice', () => pubs(a, 'group')[0]);
    out.groupB = await waitFor('group publication at bob', () => pubs(b, 'group')[0]);

    out.subStream = await a.request('subscribe', { channel: 'stream' });
    const stream = await waitFor('3 stream publications', () => { const s = pubs(a, 'stream'); return s.length >= 3 && s; }, 15000);
    out.stream = stream.slice(0, 3);
    out.streamForbidden = await errorOf(b.request('publish', { channel: 'stream', data: { fake: true } }));
    out.unsubscribe = await a.request('unsubscribe', { channel: 'stream' });

    b.close();
    out.presenceLeave = (await waitFor('presence leave of bob', () => pubs(a, 'presence').find((p) => p.data.event === 'leave' && p.data.name === 'bob'))).data;
    a.close();
    return out;
  },

  async recovery() {
    const out = {};
    const channel = 'group:recovery';
    const pub = await connect(opts.url);
    await pub.request('login', { name: 'publisher' });
    let a = await connect(opts.url);
    await a.request('login', { name: 'reader' });
    const sub = await a.request('subscribe', { channel });
    const seen = new Map(); // offset -> data
    for (let i = 0; i < 5; i++) await pub.request('publish', { channel, data: { i } });
    for (const p of await waitFor('5 live publications', () => { const s = pubs(a, channel); return s.length >= 5 && s; })) seen.set(p.offset, p.data);
    const last = Math.max(...seen.keys());
    a.close(); // disconnect
    for (let i = 5; i < 25; i++) await pub.request('publish', { channel, data: { i } });
    a = await connect(opts.url);
    await login(a, 'reader');
    const re = await a.request('subscribe', { channel, since: { epoch: sub.epoch, offset: last } });
    out.recovered = re.recovered;
    out.replayed = re.publications.length;
    for (const p of re.publications) seen.set(p.offset, p.data);
    for (let i = 25; i < 30; i++) await pub.request('publish', { channel, data: { i } });
    await waitFor('5 more live publications', () => pubs(a, channel).length >= 5);
    for (const p of pubs(a, channel)) seen.set(p.offset, p.data);
    out.offsets = [...seen.keys()].sort((x, y) => x - y);
    out.values = out.offsets.map((o) => seen.get(o).i);
    // A position from another epoch cannot be recovered.
    const stale = await a.request('subscribe', { channel, since: { epoch: 'stale', offset: 1 } });
    out.staleRecovered = stale.recovered;
    a.close();
    pub.close();
    return out;
  },

  async login() {
    const out = {};
    const a = await connect(opts.url);
    out.beforeLogin = await errorOf(a.request('echo', {}));
    const la = await a.request('login', { name: 'dora' });
    out.again = await errorOf(a.request('login', { name: 'dora2' }));
    const b = await connect(opts.url);
    out.taken = await errorOf(b.request('login', { name: 'dora' }));
    out.badName = await errorOf(b.request('login', { name: 'x'.repeat(65) }));
    out.emptyName = await errorOf(b.request('login', { name: '' }));
    await a.request('subscribe', { channel: 'group:takeover' });
    const t = await b.request('login', { name: 'dora', resume: la.resume });
    out.takeover = { key: t.key === la.key, resumed: t.resumed };
    await waitFor('old peer closed', () => a.closedAt);
    out.oldClosed = true;
    // The subscription moved with the session.
    const c = await connect(opts.url);
    await c.request('login', { name: 'eve' });
    await c.request('publish', { channel: 'group:takeover', data: 'after takeover' });
    out.afterTakeover = (await waitFor('publication on the new socket', () => pubs(b, 'group:takeover')[0])).data;
    // peerId in the URL logs in.
    const u = new URL(opts.url);
    u.searchParams.set('peerId', 'frank');
    const f = await connect(u.toString());
    out.peerIdLogin = (await waitFor('login notification', () => f.notes.find((n) => n.method === 'login'))).data;
    out.peerIdEcho = await f.request('echo', { ok: 1 });
    // A taken peerId: accepted, told why, closed with 4000 (no reconnect).
    const g = await connect(u.toString());
    out.peerIdTaken = (await waitFor('error notification', () => g.notes.find((n) => n.method === 'error'))).data;
    await waitFor('duplicate peerId closed', () => g.closedAt);
    // The login deadline closes an idle socket with 4000: no reconnect.
    const idle = await connect(opts.url);
    const opened = Date.now();
    await waitFor('idle socket closed', () => idle.closedAt, 10000);
    out.idleClosedAfterMs = idle.closedAt - opened;
    out.idleNote = (idle.notes.find((n) => n.method === 'error') || {}).data;
    for (const p of [b, c, f]) p.close();
    return out;
  },

  async errors() {
    const out = {};
    const a = await connect(opts.url);
    await a.request('login', { name: 'gina' });
    out.unknownMethod = await errorOf(a.request('nosuch', {}));
    out.missingTo = await errorOf(a.request('send', { data: 1 }));
    out.wrongType = await errorOf(a.request('subscribe', { channel: 5 }));
    out.missingChannel = await errorOf(a.request('publish', { data: 1 }));
    out.echoAfter = await a.request('echo', 'still here');
    a.close();
    return out;
  },
});
