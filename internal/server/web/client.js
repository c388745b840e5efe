// client.js: a Switchboard messaging client for the page. It logs in,
// reconnects by itself with exponential backoff, logs in again with the
// resume token and recovers every subscription from its last offset
// (subscribe with since {epoch, offset}). Offsets that jump (publications
// the server dropped for a slow client) start the same recovery.
//
// Events: 'state' (detail {state, info}), 'recovered' (detail {channel,
// missed, lost, restarted}), and one per server notification other than publication,
// named after its method: 'message' (detail {from, data}), 'error' (detail
// {errorCode, errorReason}).

import { Connection } from './protoo.js';

const DO_NOT_RECONNECT = 4000;
// CLOSE_RESTORE_FAILED closes a reconnect whose restore failed (not a
// clean close, so the server keeps the session for the next attempt).
const CLOSE_RESTORE_FAILED = 4002;
// MAX_HELD bounds the publications a recovering subscription holds back,
// as the Go client does.
const MAX_HELD = 4096;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 10000;

// wsURL is the page's own /ws endpoint.
export function wsURL(loc = window.location) {
  return (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
}

export class Client extends EventTarget {
  state = 'disconnected';
  name = '';
  #url;
  #conn = null;
  #resume = '';
  #wanted = false;
  #attempt = 0;
  #timer = null;
  #subs = new Map(); // channel -> {epoch, offset, handler, recovering, held}

  constructor(url) {
    super();
    this.#url = url;
  }

  get connection() { return this.#conn; }

  // resumeToken is the secret that takes this session back (for tests and
  // the console; the page keeps it only in memory).
  get resumeToken() { return this.#resume; }

  #setState(state, info = '') {
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: { state, info } }));
  }

  // start connects and logs in as name; it rejects (and stays
  // disconnected) when either fails.
  async start(name) {
    this.stop();
    this.#wanted = true;
    this.name = name;
    this.#resume = '';
    this.#setState('connecting');
    try {
      const conn = await Connection.open(this.#url);
      this.#attach(conn);
      const r = await conn.request('login', { name });
      this.name = r.name || name;
      this.#resume = r.resume || '';
      this.#setState('online', r.welcome || '');
      return r;
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  // stop closes the connection and stops reconnecting.
  stop() {
    this.#wanted = false;
    clearTimeout(this.#timer);
    this.#timer = null;
    this.#subs.clear();
    const c = this.#conn;
    this.#conn = null;
    if (c) c.close(1000, 'bye');
    if (this.state !== 'disconnected' && this.state !== 'closed') this.#setState('disconnected');
  }

  request(method, data) {
    if (!this.#conn || !this.#conn.open || this.state !== 'online') {
      return Promise.reject(new Error('not connected'));
    }
    return this.#conn.request(method, data);
  }

  // subscribe subscribes to channel; handler gets each publication once,
  // in offset order.
  async subscribe(channel, handler) {
    const sub = { epoch: '', offset: 0, handler, recovering: true, held: [] };
    this.#subs.set(channel, sub);
    try {
      const r = await this.request('subscribe', { channel });
      this.#apply(channel, sub, r, false);
      return r;
    } catch (err) {
      if (this.#subs.get(channel) === sub) this.#subs.delete(channel);
      throw err;
    }
  }

  async unsubscribe(channel) {
    this.#subs.delete(channel);
    if (this.state === 'online') await this.request('unsubscribe', { channel });
  }

  subscribed(channel) { return this.#subs.has(channel); }

  #attach(conn) {
    this.#conn = conn;
    conn.addEventListener('notification', (e) => {
      if (conn !== this.#conn) return;
      const { method, data } = e.detail;
      if (method === 'publication') this.#receive(data);
      else this.dispatchEvent(new CustomEvent(method, { detail: data }));
    });
    conn.addEventListener('close', (e) => {
      if (conn !== this.#conn) return;
      this.#conn = null;
      this.#dropped(e.detail);
    });
  }

  #dropped({ code, reason }) {
    for (const sub of this.#subs.values()) sub.recovering = true;
    if (!this.#wanted) return;
    if (code === DO_NOT_RECONNECT) {
      this.#wanted = false;
      this.#subs.clear();
      this.#setState('closed', `closed by the server: ${reason || code}`);
      return;
    }
    this.#schedule();
  }

  #schedule() {
    this.#attempt++;
    let d = BACKOFF_MIN_MS * 2 ** Math.min(this.#attempt - 1, 10);
    d = Math.min(d, BACKOFF_MAX_MS);
    d -= Math.random() * d / 5;
    this.#setState('reconnecting', `attempt ${this.#attempt} in ${(d / 1000).toFixed(1)} s`);
    this.#timer = setTimeout(() => this.#reconnect(), d);
  }

  async #reconnect() {
    this.#timer = null;
    if (!this.#wanted) return;
    let conn;
    try {
      conn = await Connection.open(this.#url);
    } catch {
      if (this.#wanted) this.#schedule();
      return;
    }
    if (!this.#wanted) { conn.close(1000, 'bye'); return; }
    this.#attach(conn);
    try {
      const r = await conn.request('login', { name: this.name, resume: this.#resume });
      this.#resume = r.resume || this.#resume;
      for (const [channel, sub] of this.#subs) {
        const since = { epoch: sub.epoch, offset: sub.offset };
        let rr;
        try {
          rr = await conn.request('subscribe', sub.epoch ? { channel, since } : { channel });
        } catch (err) {
          if (!err.code) throw err; // the connection failed
          // The server refused this channel now: drop it, keep the rest.
          this.#subs.delete(channel);
          this.dispatchEvent(new CustomEvent('recovered', { detail: { channel, missed: 0, lost: true, error: err } }));
          continue;
        }
        if (this.#subs.get(channel) === sub) this.#apply(channel, sub, rr, !!sub.epoch);
      }
    } catch (err) {
      if (conn !== this.#conn) return; // it dropped again: already rescheduled
      if (err.code === 409) {
        this.#wanted = false;
        conn.close(1000, 'bye');
        this.#setState('closed', `cannot log in again: ${err.message}`);
        return;
      }
      conn.close(CLOSE_RESTORE_FAILED, 'restore failed');
      return;
    }
    this.#attempt = 0;
    this.#setState('online', 'reconnected');
  }

  // #receive handles a live publication.
  #receive(p) {
    const sub = this.#subs.get(p.channel);
    if (!sub) return;
    if (sub.recovering) { this.#hold(sub, p); return; }
    if (p.offset <= sub.offset) return;
    if (p.offset > sub.offset + 1 && sub.epoch) {
      sub.recovering = true;
      this.#hold(sub, p);
      this.#recoverGap(p.channel, sub);
      return;
    }
    sub.offset = p.offset;
    sub.handler(p);
  }

  // #hold keeps a live publication back while a recovery runs, at most
  // MAX_HELD of them: past it the oldest go, and their offsets show the
  // gap again once the recovery ends.
  #hold(sub, p) {
    if (sub.held.length >= MAX_HELD) sub.held.shift();
    sub.held.push(p);
  }

  async #recoverGap(channel, sub) {
    const conn = this.#conn;
    if (!conn) return; // the reconnect recovers it
    try {
      const r = await conn.request('subscribe', { channel, since: { epoch: sub.epoch, offset: sub.offset } });
      if (this.#subs.get(channel) === sub) this.#apply(channel, sub, r, true);
    } catch (err) {
      // A refusal: deliver what is held. A dropped connection: the
      // reconnect recovers it.
      if (err.code && this.#subs.get(channel) === sub) this.#release(sub);
    }
  }

  // #apply applies a subscribe reply: replayed publications, the new
  // position, then what was held back. A replay that is one page of
  // several (more: true, or it stops short of the channel's offset) and
  // made progress is continued from its last offset; one that made none
  // is reported as lost.
  #apply(channel, sub, r, withSince) {
    let last = sub.offset;
    if (!withSince) {
      last = Math.max(r.offset || 0, last);
    } else if (r.recovered && r.epoch === sub.epoch) {
      const held = new Set(sub.held.map((p) => p.offset));
      const start = last;
      for (const p of r.publications || []) {
        if (p.offset > last) {
          sub.offset = last = p.offset;
          if (!held.has(p.offset)) sub.missed = (sub.missed || 0) + 1;
          sub.handler(p);
        }
      }
      if ((r.more || last < r.offset) && last > start) { this.#recoverGap(channel, sub); return; }
      const lost = last < r.offset;
      if (lost) last = r.offset;
      this.dispatchEvent(new CustomEvent('recovered', { detail: { channel, missed: sub.missed || 0, lost } }));
    } else {
      // Not recoverable. A new epoch means the channel's history is gone
      // (the server restarted): its offsets start again.
      last = r.offset || 0;
      const restarted = !!sub.epoch && r.epoch !== sub.epoch;
      this.dispatchEvent(new CustomEvent('recovered', { detail: { channel, missed: 0, lost: true, restarted } }));
    }
    sub.missed = 0;
    sub.epoch = r.epoch;
    sub.offset = last;
    this.#release(sub);
  }

  #release(sub) {
    sub.recovering = false;
    const held = sub.held;
    sub.held = [];
    if (held.length && held[0].offset > sub.offset + 1) sub.offset = held[0].offset - 1;
    for (const p of held) this.#receive(p);
  }
}
