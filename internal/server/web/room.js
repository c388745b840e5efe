// room.js: the "Video room" tab. It joins a signaling room on the
// server (join, then peerJoined / peerLeft / signal notifications), shares
// the camera and microphone (or a generated test pattern when there is
// none) and opens one RTCPeerConnection per other member: a mesh. Each
// connection follows the "perfect negotiation" pattern (W3C WebRTC, §10.7
// example): both sides may offer at any time; when offers cross, the
// impolite side ignores the other's offer and the polite side rolls its own
// back; a connection whose ICE fails restarts it. Offers, answers and ICE
// candidates travel as the data of signal {room, to, data}: {description}
// or {candidate}. Every connection also carries a negotiated data channel
// ("chat", id 0), so no side has to wait for the other to create it. Each
// side also says in a signal whether its camera is on ({video: true|false}),
// when the connection starts and when it changes, so that the other shows a
// "camera off" card with its name instead of a black tile. (A second
// negotiated data channel for this made Chromium stall now and then: a pair
// whose offers crossed was left stable with nothing negotiated.)

const PATTERN_FPS = 15;

// VideoRoom is the state of the tab. Events: 'change' (members, state).
export class VideoRoom extends EventTarget {
  room = '';
  state = 'idle'; // idle, joining, joined
  local = null; // the MediaStream shared
  pattern = false; // the local stream is the generated test pattern
  peers = new Map(); // id -> Peer
  messages = []; // {from, text, at} received on data channels
  #client;
  #iceServers = [];
  #stopPattern = null;

  constructor(client) {
    super();
    this.#client = client;
    client.addEventListener('peerJoined', (e) => this.#onJoined(e.detail));
    client.addEventListener('peerLeft', (e) => this.#onLeft(e.detail));
    client.addEventListener('signal', (e) => this.#onSignal(e.detail));
    client.addEventListener('state', (e) => {
      if (e.detail.state === 'online' && e.detail.info === 'reconnected' && this.state === 'joined') this.#rejoin();
      if (e.detail.state === 'closed' || e.detail.state === 'disconnected') this.leave();
    });
  }

  #changed() { this.dispatchEvent(new Event('change')); }

  // join shares the local media and joins room; the members already there
  // get a connection each, the ones who come later too.
  async join(room) {
    if (this.state !== 'idle') await this.leave();
    this.state = 'joining';
    this.room = room;
    this.#changed();
    try {
      await Promise.all([this.#loadConfig(), this.#startMedia()]);
      const r = await this.#client.request('join', { room, info: { displayName: this.#client.name } });
      this.state = 'joined';
      for (const p of r.peers || []) this.#peer(p.id, p.info);
      this.#changed();
      return r;
    } catch (err) {
      await this.leave();
      throw err;
    }
  }

  // leave closes every connection, stops the local media and leaves the
  // room on the server.
  async leave() {
    const room = this.room;
    const was = this.state;
    this.state = 'idle';
    this.room = '';
    for (const p of this.peers.values()) p.close();
    this.peers.clear();
    if (this.local) for (const t of this.local.getTracks()) t.stop();
    this.local = null;
    if (this.#stopPattern) this.#stopPattern();
    this.#stopPattern = null;
    this.#changed();
    if (was === 'joined' && this.#client.state === 'online') {
      try { await this.#client.request('leave', { room }); } catch { /* gone already */ }
    }
  }

  // setEnabled mutes (false) or unmutes the local audio or video.
  setEnabled(kind, on) {
    if (!this.local) return;
    for (const t of this.local.getTracks()) if (t.kind === kind) t.enabled = on;
    if (kind === 'video') for (const p of this.peers.values()) p.sendControl();
    this.#changed();
  }

  enabled(kind) {
    return !!this.local && this.local.getTracks().some((t) => t.kind === kind && t.enabled);
  }

  // send sends text on the data channel to one member (or every member);
  // it returns how many channels took it.
  send(text, to = '') {
    let n = 0;
    for (const p of this.peers.values()) {
      if ((to === '' || p.id === to) && p.dc.readyState === 'open') {
        p.dc.send(text);
        n++;
      }
    }
    return n;
  }

  // stats returns, per member, the video frames decoded so far (from
  // getStats) and whether its video element is playing.
  async stats() {
    const out = {};
    for (const p of this.peers.values()) {
      let frames = 0;
      try {
        (await p.pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded || 0;
        });
      } catch { /* closed */ }
      const v = p.video;
      out[p.id] = {
        framesDecoded: frames,
        playing: !!v && !v.paused && v.readyState >= 2 && v.videoWidth > 0,
        connection: p.pc.connectionState,
        signaling: p.pc.signalingState,
        ice: p.pc.iceConnectionState,
        channel: p.dc.readyState,
        error: p.lastError,
      };
    }
    return out;
  }

  async #loadConfig() {
    try {
      const r = await fetch('/config.json', { cache: 'no-store' });
      this.#iceServers = (await r.json()).iceServers || [];
    } catch {
      this.#iceServers = [];
    }
  }

  // #startMedia shares the camera and microphone that exist; without a
  // camera (or when the user refuses) the video is the test pattern.
  async #startMedia() {
    const devices = await navigator.mediaDevices?.enumerateDevices().catch(() => []) ?? [];
    const audio = devices.some((d) => d.kind === 'audioinput');
    const video = devices.some((d) => d.kind === 'videoinput');
    this.local = null;
    if (audio || video) {
      try {
        this.local = await navigator.mediaDevices.getUserMedia({ audio, video: video && { width: 640, height: 360 } });
      } catch { /* refused or busy: the test pattern */ }
    }
    this.pattern = !this.local || this.local.getVideoTracks().length === 0;
    if (this.pattern) {
      const p = this.#testPattern(!this.local || this.local.getAudioTracks().length === 0);
      if (this.local) for (const t of p.getTracks()) this.local.addTrack(t);
      else this.local = p;
    }
  }

  // #testPattern draws moving bars and the time on a canvas, and adds a
  // quiet tone when withTone, for machines without a camera or microphone.
  #testPattern(withTone) {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const g = canvas.getContext('2d');
    const colors = ['#e5e7eb', '#facc15', '#22d3ee', '#4ade80', '#e879f9', '#f87171', '#60a5fa'];
    let frame = 0;
    const draw = () => {
      frame++;
      const w = canvas.width / colors.length;
      colors.forEach((c, i) => { g.fillStyle = c; g.fillRect(i * w, 0, w + 1, canvas.height); });
      g.fillStyle = '#111';
      g.fillRect(0, 0, canvas.width, 60);
      g.fillRect((frame * 8) % canvas.width, 60, 12, canvas.height - 60);
      g.fillStyle = '#fff';
      g.font = '28px system-ui, sans-serif';
      g.fillText(`${this.#client.name} · ${new Date().toLocaleTimeString([], { hour12: false })}`, 16, 42);
    };
    draw();
    const timer = setInterval(draw, 1000 / PATTERN_FPS);
    const stream = canvas.captureStream(PATTERN_FPS);
    let audio = null;
    if (withTone) {
      try {
        audio = new AudioContext();
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        gain.gain.value = 0.02;
        osc.frequency.value = 440;
        const dest = audio.createMediaStreamDestination();
        osc.connect(gain).connect(dest);
        osc.start();
        for (const t of dest.stream.getAudioTracks()) stream.addTrack(t);
      } catch { /* video only */ }
    }
    this.#stopPattern = () => { clearInterval(timer); if (audio) audio.close(); };
    return stream;
  }

  #peer(id, info) {
    let p = this.peers.get(id);
    if (!p) {
      p = new Peer(this, id, info || {}, this.#iceServers);
      this.peers.set(id, p);
      this.#changed();
    }
    return p;
  }

  // signal relays data to member to.
  signal(to, data) {
    return this.#client.request('signal', { room: this.room, to, data });
  }

  get polite() { return this.#client.name; }

  #onJoined({ room, id, info }) {
    if (room !== this.room || this.state !== 'joined') return;
    const old = this.peers.get(id);
    if (old) { old.close(); this.peers.delete(id); } // it joined afresh: start over
    this.#peer(id, info);
  }

  #onLeft({ room, id }) {
    if (room !== this.room) return;
    const p = this.peers.get(id);
    if (!p) return;
    p.close();
    this.peers.delete(id);
    this.#changed();
  }

  #onSignal({ room, from, data }) {
    if (room !== this.room || this.state !== 'joined') return;
    this.#peer(from).handle(data);
  }

  // #rejoin joins again after a reconnect (a no-op for the server when the
  // session was resumed) and reconciles the members.
  async #rejoin() {
    try {
      const r = await this.#client.request('join', { room: this.room, info: { displayName: this.#client.name } });
      const ids = new Set((r.peers || []).map((p) => p.id));
      for (const [id, p] of this.peers) if (!ids.has(id)) { p.close(); this.peers.delete(id); }
      for (const p of r.peers || []) this.#peer(p.id, p.info);
      this.#changed();
    } catch { /* the next reconnect tries again */ }
  }

  onMessage(from, text) {
    this.messages.push({ from, text, at: Date.now() });
    this.#changed();
  }
}

// hasVideo reports whether a member's video shows: it said its camera is
// on, it sends a video track, and its <video> has a picture.
function hasVideo(p) {
  return p.remoteVideo && p.stream.getVideoTracks().some((t) => t.readyState === 'live')
    && !!p.video && p.video.videoWidth > 0;
}

// Peer is the connection to one other member.
class Peer {
  video = null; // set by the view
  stream = new MediaStream();
  lastError = ''; // the last negotiation or signaling error, for stats()
  remoteVideo = true; // what the member last said of its camera (a video signal)
  #room;
  #makingOffer = false;
  #ignoreOffer = false;
  #chain = Promise.resolve();

  constructor(room, id, info, iceServers) {
    this.#room = room;
    this.id = id;
    this.info = info;
    this.name = info.displayName || id;
    // One side of every pair is polite, the same answer on both.
    this.polite = room.polite < id;
    const pc = new RTCPeerConnection({ iceServers });
    this.pc = pc;
    this.dc = pc.createDataChannel('chat', { negotiated: true, id: 0 });
    this.dc.onmessage = (e) => room.onMessage(id, String(e.data));
    this.dc.onopen = this.dc.onclose = () => room.dispatchEvent(new Event('change'));
    pc.ontrack = ({ track }) => {
      this.stream.addTrack(track);
      track.onended = () => room.dispatchEvent(new Event('change'));
      room.dispatchEvent(new Event('change'));
    };
    pc.onconnectionstatechange = () => room.dispatchEvent(new Event('change'));
    // A path that stopped working (a network change, a peer that was
    // stalled too long) gets new ICE credentials and candidates.
    pc.oniceconnectionstatechange = () => {
      if (pc.iceConnectionState === 'failed') pc.restartIce();
    };
    pc.onicecandidate = ({ candidate }) => {
      if (candidate) this.#send({ candidate: candidate.toJSON() });
    };
    pc.onnegotiationneeded = async () => {
      try {
        this.#makingOffer = true;
        await pc.setLocalDescription();
        // A polite side may have rolled this offer back for the other's
        // by now (and answered it in #handle): then there is nothing to send.
        if (pc.signalingState !== 'have-local-offer') return;
        await this.#send({ description: pc.localDescription.toJSON() });
      } catch (err) {
        this.#warn('negotiation with', err);
      } finally {
        this.#makingOffer = false;
      }
    };
    for (const t of room.local ? room.local.getTracks() : []) pc.addTrack(t, room.local);
    this.sendControl();
  }

  #send(data) {
    return this.#room.signal(this.id, data).catch((err) => this.#warn('signal to', err));
  }

  // sendControl tells the member whether our camera is on.
  sendControl() {
    this.#send({ video: this.#room.enabled('video') });
  }

  #warn(what, err) {
    this.lastError = `${what} ${this.id}: ${err}`;
    console.warn(this.lastError);
  }

  // handle processes one signal; signals from a member run one at a time,
  // in the order they came.
  handle(data) {
    this.#chain = this.#chain.then(() => this.#handle(data || {})).catch((err) => this.#warn('signal from', err));
  }

  async #handle({ description, candidate, video }) {
    const pc = this.pc;
    if (pc.signalingState === 'closed') return;
    if (typeof video === 'boolean') {
      this.remoteVideo = video;
      this.#room.dispatchEvent(new Event('change'));
      return;
    }
    if (description) {
      const collision = description.type === 'offer' && (this.#makingOffer || pc.signalingState !== 'stable');
      this.#ignoreOffer = !this.polite && collision;
      if (this.#ignoreOffer) return;
      await pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        await pc.setLocalDescription();
        await this.#send({ description: pc.localDescription.toJSON() });
      }
    } else if (candidate) {
      try {
        await pc.addIceCandidate(candidate);
      } catch (err) {
        if (!this.#ignoreOffer) throw err;
      }
    }
  }

  close() {
    this.dc.close();
    this.pc.close();
    for (const t of this.stream.getTracks()) t.stop();
  }
}

// setupVideoRoom wires the tab's controls to a VideoRoom and renders it.
// errors are the page's error functions (showError, clearError,
// clearErrors; app.js).
export function setupVideoRoom(client, $, errors) {
  const vr = new VideoRoom(client);
  const grid = $('video-grid');
  const localVideo = $('video-local');
  const tiles = new Map(); // id -> element

  const render = () => {
    const joined = vr.state === 'joined';
    $('video-join').textContent = joined ? 'Switch room' : 'Join';
    // Switching to the room one is in would do nothing.
    $('video-join').disabled = client.state !== 'online' || vr.state === 'joining'
      || (joined && $('video-room').value.trim() === vr.room);
    $('video-leave').disabled = vr.state === 'idle';
    for (const [id, kind, label] of [['video-mic', 'audio', 'microphone'], ['video-cam', 'video', 'camera']]) {
      const on = vr.enabled(kind);
      $(id).disabled = !vr.local;
      $(id).setAttribute('aria-pressed', String(!on && !!vr.local));
      $(id).textContent = on || !vr.local ? `Mute ${label}` : `Unmute ${label}`;
    }
    if (localVideo.srcObject !== vr.local) localVideo.srcObject = vr.local;
    $('video-local-name').textContent = vr.local ? `${client.name} (you${vr.pattern ? ', test pattern' : ''})` : 'you';
    const localTile = localVideo.closest('.tile');
    localTile.dataset.video = vr.local && !vr.enabled('video') ? 'off' : 'on';
    localTile.querySelector('.avatar').textContent = initial(client.name);
    $('video-state').textContent = vr.state === 'idle' ? 'Not in a room.'
      : vr.state === 'joining' ? `Joining ${vr.room}…`
        : `In room ${vr.room} with ${vr.peers.size} other${vr.peers.size === 1 ? '' : 's'}.`;
    for (const [id, el] of tiles) {
      if (!vr.peers.has(id)) { el.remove(); tiles.delete(id); }
    }
    for (const p of vr.peers.values()) {
      let el = tiles.get(p.id);
      if (!el) {
        el = document.createElement('figure');
        el.className = 'tile remote';
        el.dataset.peer = p.id;
        const v = document.createElement('video');
        v.autoplay = true;
        v.playsInline = true;
        v.addEventListener('resize', render); // the first picture, or a new size
        const off = document.createElement('div');
        off.className = 'off';
        off.innerHTML = '<span class="avatar"></span><span class="off-text"></span>';
        off.querySelector('.avatar').textContent = initial(p.name);
        const cap = document.createElement('figcaption');
        el.append(v, off, cap);
        grid.append(el);
        tiles.set(p.id, el);
        p.video = v;
      }
      const v = el.querySelector('video');
      if (v.srcObject !== p.stream && p.stream.getTracks().length) {
        v.srcObject = p.stream;
        // Autoplay with sound needs a gesture on some browsers: fall back
        // to muted playback.
        v.play().catch(() => { v.muted = true; return v.play(); }).catch(() => {});
      }
      el.querySelector('figcaption').textContent = `${p.name} · ${p.pc.connectionState}`;
      const connecting = p.pc.connectionState === 'new' || p.pc.connectionState === 'connecting';
      el.dataset.video = hasVideo(p) ? 'on' : 'off';
      el.querySelector('.off-text').textContent = connecting ? 'connecting…' : 'camera off';
    }
    if ([...vr.peers.values()].some((p) => p.dc.readyState === 'open')) errors.clearErrors((c) => c === 'nobody');
    const log = $('video-chat-log');
    while (log.children.length < vr.messages.length) {
      const m = vr.messages[log.children.length];
      const li = document.createElement('li');
      li.innerHTML = '<span class="time"></span> <span class="from"></span> <span class="text"></span>';
      if (m.own) li.className = 'own';
      li.querySelector('.time').textContent = new Date(m.at).toLocaleTimeString([], { hour12: false });
      li.querySelector('.from').textContent = m.own ? client.name : vr.peers.get(m.from)?.name || m.from;
      li.querySelector('.text').textContent = m.text;
      log.append(li);
      log.scrollTop = log.scrollHeight;
    }
  };
  vr.addEventListener('change', render);
  client.addEventListener('state', render); // after app.js enabled every control
  $('video-room').addEventListener('input', render);

  $('video-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const room = $('video-room').value.trim();
    if (!room) return;
    errors.clearError('video-error');
    try {
      await vr.join(room);
    } catch (err) {
      errors.showError('video-error', `Cannot join ${room}: ${err.code ? `${err.code} ` : ''}${err.message}`, err.code ? '' : 'offline');
    }
  });
  $('video-leave').addEventListener('click', () => vr.leave());
  $('video-mic').addEventListener('click', () => vr.setEnabled('audio', !vr.enabled('audio')));
  $('video-cam').addEventListener('click', () => vr.setEnabled('video', !vr.enabled('video')));
  $('video-chat-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('video-chat-input');
    if (!input.value) return;
    if (vr.send(input.value) === 0) {
      errors.showError('video-error', vr.state === 'joined' ? 'Nobody to send to yet: wait for someone to join the room.'
        : 'Join a room first.', 'nobody');
      return;
    }
    vr.messages.push({ from: client.name, own: true, text: input.value, at: Date.now() });
    input.value = '';
    render();
  });
  render();
  return vr;
}

// initial is the first letter of a name, for the "camera off" card.
function initial(name) {
  return [...(name || '?')][0].toUpperCase();
}
