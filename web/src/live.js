// The WebSocket session: subscribe after hello, resume with `since` after a reconnect, back off
// exponentially (0.5 s .. 10 s) while the server is away, and report every state change.

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;
// No hello within this long after opening: the socket is stuck, start over.
const HELLO_TIMEOUT_MS = 10000;

export class LiveConnection {
  // handlers: onConnected(fresh), onEvent(event), onResync(), onStatus(state, text),
  // onError(message). fresh: no seq to resume from, so the caller takes a REST snapshot.
  constructor(handlers) {
    this.handlers = handlers;
    this.token = '';
    this.topics = new Set();
    this.lastSeq = null;
    this.socket = null;
    this.attempt = 0;
    this.retryTimer = null;
    this.helloTimer = null;
    this.subscribed = false;
    this.stopped = true;
  }

  start(token) {
    this.stop();
    this.token = token;
    this.stopped = false;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.helloTimer);
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.onclose = socket.onmessage = socket.onerror = null;
      socket.close(1000, 'client stopped');
    }
    this.subscribed = false;
  }

  setTopics(topics) {
    const next = new Set(topics);
    const added = [...next].filter((t) => !this.topics.has(t));
    const removed = [...this.topics].filter((t) => !next.has(t));
    this.topics = next;
    if (!this.subscribed) return;
    if (removed.length) this.send({ type: 'unsubscribe', topics: removed });
    if (added.length) this.send({ type: 'subscribe', topics: added });
  }

  // Remembers the highest seq seen; false for an event already delivered (replay overlap).
  accept(seq) {
    if (typeof seq !== 'number') return true;
    if (this.lastSeq !== null && seq <= this.lastSeq) return false;
    this.lastSeq = seq;
    return true;
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const url = `${scheme}${location.host}/ws${this.token ? `?token=${encodeURIComponent(this.token)}` : ''}`;
    this.status('connecting', this.attempt ? `reconnecting (attempt ${this.attempt + 1})…` : 'connecting…');
    let socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this.scheduleRetry(`cannot open WebSocket: ${error.message}`);
      return;
    }
    this.socket = socket;
    this.subscribed = false;
    socket.onopen = () => {
      this.helloTimer = setTimeout(() => socket.close(4000, 'no hello'), HELLO_TIMEOUT_MS);
    };
    socket.onmessage = (message) => this.receive(message.data);
    socket.onerror = () => {};
    socket.onclose = (close) => {
      clearTimeout(this.helloTimer);
      if (this.socket !== socket) return;
      this.socket = null;
      this.subscribed = false;
      const why = close.reason ? `${close.code} ${close.reason}` : `code ${close.code}`;
      if (close.code === 4001 || close.code === 4003) {
        if (!this.token) {
          // The server wants a token: nothing to retry until someone signs in (start() again).
          this.status('offline', 'sign in for live updates');
          return;
        }
        this.handlers.onError(`live updates refused: ${close.reason || 'check the token'}`);
      }
      this.scheduleRetry(`disconnected (${why})`);
    };
  }

  scheduleRetry(reason) {
    if (this.stopped) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    // Jitter keeps a fleet of dashboards from reconnecting in lockstep after a restart.
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.attempt = Math.min(this.attempt + 1, 10);
    this.status('offline', `${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN)
      this.socket.send(JSON.stringify(message));
  }

  receive(text) {
    let message;
    try {
      message = JSON.parse(text);
    } catch {
      this.handlers.onError('the server sent a message that is not JSON');
      return;
    }
    if (!message || typeof message !== 'object') return;
    switch (message.type) {
      case 'hello': {
        clearTimeout(this.helloTimer);
        this.attempt = 0;
        const subscribe = { type: 'subscribe', topics: [...this.topics] };
        const fresh = this.lastSeq === null;
        if (fresh) {
          // Nothing to resume: take a REST snapshot and resume from the server's current seq.
          if (typeof message.seq === 'number') this.lastSeq = message.seq;
        } else {
          subscribe.since = this.lastSeq;
        }
        this.send(subscribe);
        this.subscribed = true;
        const version = message.version ? ` · server ${message.version}` : '';
        this.status('live', `live${version}`);
        this.handlers.onConnected(fresh);
        break;
      }
      case 'event':
        if (this.accept(message.seq)) this.handlers.onEvent(message);
        break;
      case 'resync':
        // Our gap is older than the server's replay buffer: start from a fresh snapshot.
        this.lastSeq = typeof message.seq === 'number' ? message.seq : null;
        this.handlers.onResync();
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'error':
        this.handlers.onError(`live updates: ${message.message || message.detail || message.code || 'error'}`);
        break;
      default:
        break;
    }
  }

  status(state, text) {
    this.handlers.onStatus(state, text);
  }
}
