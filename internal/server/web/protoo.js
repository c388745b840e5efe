// protoo.js: one WebSocket speaking protoo JSON (requests, responses,
// notifications), as docs/protoo.md describes. No reconnecting here:
// client.js does that.

const REQUEST_TIMEOUT_MS = 20000;

// A ProtooError is an error response: code and reason from the server.
export class ProtooError extends Error {
  constructor(code, reason) {
    super(reason || `error ${code}`);
    this.name = 'ProtooError';
    this.code = code;
  }
}

// Connection wraps one WebSocket. Events: 'notification' (detail
// {method, data}) and 'close' (detail {code, reason, wasOpen}).
export class Connection extends EventTarget {
  #ws;
  #pending = new Map();
  #nextId = 1;

  // open resolves with a Connection once the socket is open.
  static open(url) {
    return new Promise((resolve, reject) => {
      const c = new Connection();
      const ws = new WebSocket(url, 'protoo');
      c.#ws = ws;
      let opened = false;
      ws.onopen = () => { opened = true; resolve(c); };
      ws.onmessage = (e) => c.#onMessage(e.data);
      ws.onclose = (e) => {
        c.#failPending(new Error('connection closed'));
        if (!opened) reject(new Error(`cannot connect (${e.code})`));
        c.dispatchEvent(new CustomEvent('close', { detail: { code: e.code, reason: e.reason, wasOpen: opened } }));
      };
    });
  }

  get open() { return this.#ws.readyState === WebSocket.OPEN; }

  // request sends a request and resolves with the response's data, or
  // rejects with a ProtooError.
  request(method, data) {
    return new Promise((resolve, reject) => {
      if (!this.open) { reject(new Error('not connected')); return; }
      const id = this.#nextId++;
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error('request timeout'));
      }, REQUEST_TIMEOUT_MS);
      this.#pending.set(id, { resolve, reject, timer });
      this.#ws.send(JSON.stringify({ request: true, id, method, data: data ?? {} }));
    });
  }

  // close closes the socket; code 1000 or 3000-4999.
  close(code = 1000, reason = '') {
    try { this.#ws.close(code, reason); } catch { this.#ws.close(); }
  }

  #onMessage(text) {
    if (typeof text !== 'string') return; // binary frames are not protoo
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (!m || typeof m !== 'object' || Array.isArray(m)) return;
    if (m.request) return; // the server's requests: no listener, no answer
    if (m.response) {
      const p = this.#pending.get(m.id);
      if (!p) return;
      this.#pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.ok) p.resolve(m.data || {});
      else p.reject(new ProtooError(m.errorCode, m.errorReason));
      return;
    }
    if (m.notification && typeof m.method === 'string') {
      this.dispatchEvent(new CustomEvent('notification', { detail: { method: m.method, data: m.data || {} } }));
    }
  }

  #failPending(err) {
    for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(err); }
    this.#pending.clear();
  }
}
