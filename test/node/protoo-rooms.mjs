// protoo-rooms.mjs: drives Switchboard's room signaling with the real npm
// protoo-client, connecting the way mediasoup-demo does:
// ws://HOST/?roomId=R&peerId=P.
//
//   node protoo-rooms.mjs --url ws://127.0.0.1:PORT/ --scenario NAME [--timeout 30000]
//
// Scenarios: rooms, takeover, hijack, limits, drop. Prints one JSON object on stdout,
// {"ok":true,...findings} and exits 0, or {"ok":false,"error":"..."} and
// exits 1. The Go tests (internal/server/rooms_node_test.go) check the
// findings.
import { opts, connect, waitFor, errorOf, runScenarios } from './protoo-harness.mjs';

function roomURL(roomId, peerId, extra = {}) {
  const u = new URL(opts.url);
  u.searchParams.set('roomId', roomId);
  u.searchParams.set('peerId', peerId);
  for (const [k, v] of Object.entries(extra)) u.searchParams.set(k, v);
  return u.toString();
}

const notes = (peer, method) => peer.notes.filter((n) => n.method === method).map((n) => n.data);
const note = (peer, method, pred = () => true) => waitFor(`${method} notification`, () => notes(peer, method).find(pred));

runScenarios({
  async rooms() {
    const out = {};
    const a = await connect(roomURL('r1', 'alice', { displayName: 'Alice' }));
    out.aliceLogin = await note(a, 'login');
    out.aliceJoined = await note(a, 'joined');
    const b = await connect(roomURL('r1', 'bob'));
    out.bobJoined = await note(b, 'joined');
    out.peerJoined = await note(a, 'peerJoined', (d) => d.id === 'bob');
    // join again: same roster, new info, nobody is told.
    out.rejoin = await b.request('join', { room: 'r1', info: { displayName: 'Bob' } });
    // 50 signals alice -> bob, fired without waiting: they arrive in order.
    const sent = [];
    for (let i = 0; i < 50; i++) sent.push(a.request('signal', { room: 'r1', to: 'bob', data: { seq: i, sdp: 'v=0 x'.repeat(i) } }));
    out.signalReplies = (await Promise.all(sent)).map((r) => JSON.stringify(r));
    const got = await waitFor('50 signals at bob', () => { const s = notes(b, 'signal'); return s.length >= 50 && s; });
    out.signalSeqs = got.map((s) => s.data.seq);
    out.signalFrom = [...new Set(got.map((s) => s.from + '@' + s.room))];
    out.signalBack = await b.request('signal', { room: 'r1', to: 'alice', data: { type: 'answer' } });
    out.signalAtAlice = await note(a, 'signal');
    out.signalNonMember = await errorOf(a.request('signal', { room: 'r1', to: 'nobody', data: {} }));
    out.signalOtherRoom = await errorOf(a.request('signal', { room: 'elsewhere', to: 'bob', data: {} }));
    out.sfu = {};
    for (const m of ['getRouterRtpCapabilities', 'createWebRtcTransport', 'produce', 'consume']) {
      out.sfu[m] = await errorOf(a.request(m, {}));
    }
    // A third peer joins and leaves explicitly.
    const c = await connect(roomURL('r1', 'carol'));
    out.carolJoined = await note(c, 'joined');
    // mediasoup-demo's join carries no room: the URL's roomId is used and
    // the data becomes the member's info.
    out.mediasoupJoin = await c.request('join', { displayName: 'Carol', device: { name: 'node' } });
    out.rosterWithCarol = await a.request('join', { room: 'r1' });
    out.leave = await c.request('leave', { room: 'r1' });
    out.peerLeftCarol = await note(a, 'peerLeft', (d) => d.id === 'carol');
    out.leaveAgain = await errorOf(c.request('leave', { room: 'r1' }));
    c.close();
    // bob disconnects (peer.close(): the server sees 1005, a clean close).
    const closedAt = Date.now();
    b.close();
    out.peerLeftBob = await note(a, 'peerLeft', (d) => d.id === 'bob');
    out.peerLeftAfterMs = Date.now() - closedAt;
    out.aliceEvents = [...a.events];
    a.close();
    return out;
  },

  async takeover() {
    const out = {};
    // The zombie-room case: the only peer of a room reconnects with the
    // same peerId while its old socket is still open.
    const old = await connect(roomURL('z', 'solo'));
    await note(old, 'joined');
    await old.request('signal', { room: 'z', to: 'solo', data: { n: 1 } }); // to itself: it is a member
    const fresh = await connect(roomURL('z', 'solo'));
    out.freshLogin = await note(fresh, 'login');
    out.freshJoined = await note(fresh, 'joined');
    await waitFor('old peer closed', () => old.events.includes('close'));
    // The new peer is served in a live room.
    out.freshJoin = await fresh.request('join', { room: 'z' });
    const other = await connect(roomURL('z', 'other'));
    out.otherJoined = await note(other, 'joined');
    out.peerJoinedAtFresh = await note(fresh, 'peerJoined');
    await other.request('signal', { room: 'z', to: 'solo', data: { hello: 'solo' } });
    out.signalAtFresh = await note(fresh, 'signal', (d) => d.from === 'other');
    out.echoAfter = await fresh.request('echo', { still: 'here' });
    out.oldEvents = [...old.events];
    out.oldNotes = old.notes.map((n) => n.method);
    // The old peer did not come back: only the three sockets above.
    out.freshEvents = [...fresh.events];
    // An empty roomId or a missing peerId is refused with 4000.
    const bad = await connect(roomURL('', 'x'));
    out.emptyRoom = await note(bad, 'error');
    await waitFor('empty roomId closed', () => bad.events.includes('close'));
    out.emptyRoomEvents = bad.events;
    fresh.close();
    other.close();
    return out;
  },

  // hijack: a victim logs in with login on /ws and joins a room; a URL
  // with its name as peerId must not take its session over.
  async hijack() {
    const out = {};
    const ws = new URL(opts.url);
    ws.pathname = '/ws';
    const victim = await connect(ws.toString());
    const login = await victim.request('login', { name: 'victim' });
    await victim.request('join', { room: 'r' });
    const attacker = await connect(roomURL('any', 'victim'));
    out.attackerError = await note(attacker, 'error');
    await waitFor('attacker closed', () => attacker.events.includes('close'));
    out.attackerEvents = [...attacker.events];
    out.attackerNotes = attacker.notes.map((n) => n.method);
    out.attackerSawToken = JSON.stringify(attacker.notes).includes(login.resume);
    out.victimEcho = await victim.request('echo', { still: 'here' });
    out.victimEvents = [...victim.events];
    victim.close();
    return out;
  },

  // drop cuts a member's TCP connection without a close frame (as a
  // network change does). protoo-client reconnects at once to the same URL
  // and takes its session back: the other member sees nothing. Cut again
  // with the client stopped, the member is gone after the grace period.
  async drop() {
    const out = {};
    const a = await connect(roomURL('d', 'amy'));
    await note(a, 'joined');
    const b = await connect(roomURL('d', 'bea'));
    await note(b, 'joined');
    await note(a, 'peerJoined');
    const cut = (peer) => peer._transport._ws._connection.socket.destroy();
    cut(b);
    await waitFor('bea reconnected', () => b.events.filter((e) => e === 'open').length === 2);
    out.rejoined = await waitFor('bea joined again', () => notes(b, 'joined')[1]);
    await b.request('signal', { room: 'd', to: 'amy', data: { after: 'reconnect' } });
    out.signalAfterReconnect = await note(a, 'signal');
    out.beaEvents = [...b.events];
    out.amyNotesBeforeLeave = a.notes.map((n) => n.method);
    const cutAt = Date.now();
    cut(b);
    b.close(); // no more reconnecting
    out.peerLeft = await note(a, 'peerLeft');
    out.peerLeftAfterMs = Date.now() - cutAt;
    a.close();
    return out;
  },

  async limits() {
    const out = {};
    const a = await connect(roomURL('full', 'p1'));
    await note(a, 'joined');
    const b = await connect(roomURL('full', 'p2'));
    await note(b, 'joined');
    // The server runs with 2 members per room and 2 rooms per session.
    const c = await connect(roomURL('full', 'p3'));
    out.fullNote = await note(c, 'error');
    await waitFor('refused peer closed', () => c.events.includes('close'));
    out.fullEvents = c.events;
    out.secondRoom = await a.request('join', { room: 'second' });
    out.thirdRoom = await errorOf(a.request('join', { room: 'third' }));
    out.badRoom = await errorOf(a.request('join', { room: '' }));
    out.wrongRoom = await errorOf(a.request('join', { room: 5 }));
    a.close();
    b.close();
    return out;
  },
});
