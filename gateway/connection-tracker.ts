/**
 * @module Tracks client connections and their in-flight requests so that SIGTERM drains: idle
 * connections close at once, busy ones after their last response, h2 sessions get a GOAWAY. An h2
 * session with no open stream for its idle timeout gets a GOAWAY too.
 */
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Exchange } from './exchange.js';

/** Open streams of one h2 session and its idle timer (re-armed whenever the last stream closes). */
interface SessionState {
  open: number;
  idle: NodeJS.Timeout | undefined;
}

export class ConnectionTracker {
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Map<Http2Session, SessionState>();
  readonly #inflight = new Map<Socket, number>();
  #draining = false;
  #idle: (() => void) | undefined;

  get draining(): boolean {
    return this.#draining;
  }

  /** Open connections (h2 sessions included) and the requests in flight on them, counted when asked. */
  counts(): { connections: number; inFlight: number } {
    let inFlight = 0;
    for (const open of this.#inflight.values()) inFlight += open;
    for (const state of this.#sessions.values()) inFlight += state.open;
    return { connections: this.#sockets.size, inFlight };
  }

  /** Call for every accepted socket (the server's 'secureConnection' or 'connection'). */
  socket(socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#inflight.delete(socket);
      this.#checkIdle();
    });
  }

  /**
   * Call for every h2 session. With `idleTimeoutMs`, the session is closed (GOAWAY) once it has had no open
   * stream for that long; frames alone (PING) do not keep it open. A stream waiting for its response counts
   * as open however long it is silent (long-polls).
   */
  session(session: Http2Session, idleTimeoutMs = 0): void {
    const state: SessionState = { open: 0, idle: undefined };
    if (idleTimeoutMs > 0) {
      state.idle = setTimeout(() => {
        if (state.open === 0) session.close();
      }, idleTimeoutMs);
      state.idle.unref();
    }
    this.#sessions.set(session, state);
    session.once('close', () => {
      clearTimeout(state.idle);
      this.#sessions.delete(session);
      this.#checkIdle();
    });
    if (this.#draining) session.close();
  }

  /** Call at the start of every exchange; while draining an HTTP/1.1 response closes its connection. */
  requestStarted(exchange: Exchange): void {
    // The exchange keeps its session: at its end the stream no longer names it.
    const session = exchange.session;
    if (session !== undefined) {
      const state = this.#sessions.get(session);
      if (state !== undefined) state.open++;
      return;
    }
    const socket = exchange.req.socket;
    this.#inflight.set(socket, (this.#inflight.get(socket) ?? 0) + 1);
    if (this.#draining) exchange.setHeader('connection', 'close');
  }

  /** Call when an exchange started with requestStarted has closed. */
  requestEnded(exchange: Exchange): void {
    const session = exchange.session;
    if (session !== undefined) {
      const state = this.#sessions.get(session);
      if (state !== undefined && --state.open === 0) state.idle?.refresh();
      return;
    }
    const socket = exchange.req.socket;
    // A response cut by its connection closes after the socket: counting it would put the closed socket
    // back into #inflight for good (with its buffers, about 15 KB per aborted exchange and more).
    if (!this.#sockets.has(socket)) return;
    const left = (this.#inflight.get(socket) ?? 1) - 1;
    this.#inflight.set(socket, left);
    if (this.#draining && left === 0) socket.end();
  }

  /**
   * Starts draining and resolves when every connection has closed or `timeoutMs` passed (then the rest are
   * destroyed).
   */
  drain(timeoutMs: number): Promise<void> {
    this.#draining = true;
    for (const session of this.#sessions.keys()) session.close();
    for (const socket of this.#sockets) {
      if (!this.#inflight.get(socket) && !this.#isH2(socket)) socket.end();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const socket of this.#sockets) socket.destroy();
        for (const session of this.#sessions.keys()) session.destroy();
        resolve();
      }, timeoutMs);
      timer.unref();
      this.#idle = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#checkIdle();
    });
  }

  #isH2(socket: Socket): boolean {
    return (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol === 'h2';
  }

  #checkIdle() {
    if (this.#draining && this.#sockets.size === 0 && this.#sessions.size === 0) this.#idle?.();
  }
}
