/**
 * @module WebSocket upgrades (HTTP/1.1 only): the same decision path as plain requests, then the two
 * sockets are joined. Anything refused gets a plain HTTP response and the socket is closed.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { CredentialConnections } from './credential-connections.js';
import { type GatewayErrorCode, renderError } from './http-error.js';
import type { Logger } from './logger.js';
import { classifyUpstreamError, UpstreamTimeoutError } from './proxy.js';
import { type AccessRecorder, newRequestRecord, type RequestRecord } from './request-record.js';
import { type PipelineState, resolveRequest, upstreamHeaders } from './resolve-request.js';
import { upstreamFailureCode } from './upstream-failure.js';
import type { Upstream } from './upstreams.js';

export interface UpgradeDeps {
  state: () => PipelineState;
  logger: Logger;
  recorder: AccessRecorder;
  /** Ends upgraded connections whose certificate or token is revoked or expires. */
  credentials: CredentialConnections;
}

/** WebSocket close frame 1008 (policy violation), unmasked as a server sends it: the credential ended. */
const WS_CLOSE_POLICY_VIOLATION = Buffer.from([0x88, 0x02, 0x03, 0xf0]);
/** How long a client may take to answer that close frame before its socket is destroyed. */
const WS_CLOSE_GRACE_MS = 1_000;

/**
 * Ends an upgrade whose credential was revoked or expired: the upstream connection at once, the client
 * with a close frame (before the 101, when `upstream` is not joined yet, simply closed).
 */
function endUpgrade(client: Duplex, upstream: Duplex | undefined) {
  if (upstream === undefined) {
    client.destroy();
    return;
  }
  upstream.unpipe(client);
  upstream.destroy();
  client.end(WS_CLOSE_POLICY_VIOLATION);
  setTimeout(() => client.destroy(), WS_CLOSE_GRACE_MS).unref();
}

export type UpgradeListener = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

function headerBlock(
  status: string,
  headers: Record<string, string | string[] | number | undefined>,
): string {
  let text = `HTTP/1.1 ${status}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) text += `${name}: ${item}\r\n`;
  }
  return `${text}\r\n`;
}

/**
 * Creates the 'upgrade' listener of the public server.
 * @example server.on('upgrade', createUpgradeHandler({ state: () => current, logger, recorder }))
 */
export function createUpgradeHandler({
  state: currentState,
  logger,
  recorder,
  credentials,
}: UpgradeDeps): UpgradeListener {
  function refuse(req: IncomingMessage, socket: Duplex, record: RequestRecord, code: GatewayErrorCode) {
    const rendered = renderError(code, record.id, req.headers.accept);
    rendered.headers.connection = 'close';
    rendered.headers['content-length'] = Buffer.byteLength(rendered.body);
    socket.end(`${headerBlock(`${rendered.status} ${code}`, rendered.headers)}${rendered.body}`);
    recorder.finish(record, rendered.status, true);
  }

  async function upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, record: RequestRecord) {
    const state = currentState();
    const resolution = await resolveRequest(req, state, record);
    if (resolution.kind === 'refused') {
      if (resolution.reason) recorder.denied(record, resolution.reason);
      refuse(req, socket, record, resolution.code);
      return;
    }
    if (resolution.kind === 'reserved' || req.headers.upgrade?.toLowerCase() !== 'websocket') {
      refuse(req, socket, record, 'not_found');
      return;
    }
    const { route, target, decision } = resolution;
    const upstream = state.upstreams.get(route.upstream);
    record.upstream = upstream.name;
    // Tracked before the join, so that a revocation while the upstream answers is not missed.
    let upstreamSocket: Duplex | undefined;
    if (decision.credential) {
      const untrack = credentials.track(decision.credential, () => endUpgrade(socket, upstreamSocket));
      socket.once('close', untrack);
    }
    let joined: UpstreamUpgrade;
    try {
      joined = await joinUpstream(
        upstream,
        {
          path: target.path + target.query,
          method: 'GET',
          headers: upstreamHeaders(req, record, route, decision) as Record<string, string>,
          upgrade: 'websocket',
        },
        socket,
      );
    } catch (error) {
      // A client that left mid-handshake cancelled the upstream request: that is not the upstream's fault.
      const kind = socket.destroyed ? 'aborted' : classifyUpstreamError(error);
      recorder.upstreamFailed(record, upstream.name, kind, error);
      const code = upstreamFailureCode(kind);
      if (code === undefined) recorder.finish(record, 499, false);
      else refuse(req, socket, record, code);
      return;
    }
    const joinedSocket = joined.socket;
    upstreamSocket = joinedSocket;
    socket.write(headerBlock('101 Switching Protocols', joined.headers));
    if (head.length > 0) joinedSocket.write(head);
    socket.pipe(joinedSocket).pipe(socket);
    const close = () => {
      joinedSocket.destroy();
      // After a revocation the client gets its close frame (endUpgrade) before the socket goes.
      if (!socket.writableEnded) socket.destroy();
    };
    socket.once('close', close);
    joinedSocket.once('close', close);
    joinedSocket.on('error', close);
    socket.once('close', () => recorder.finish(record, 101, true));
  }

  return function mailgateUpgrade(req, socket, head) {
    const record = newRequestRecord(req.method);
    socket.on('error', () => socket.destroy());
    upgrade(req, socket, head, record).catch((error: unknown) => {
      logger.error({ reqId: record.id, err: error }, 'internal error during upgrade');
      socket.destroy();
    });
  };
}

interface UpstreamUpgrade {
  headers: IncomingHttpHeaders;
  socket: Duplex;
}

/**
 * Sends the upgrade request and resolves with the upstream's 101 headers and socket; a client that leaves
 * first cancels it, and so does the upstream's timeout. A plain dispatch handler: undici's upgrade()
 * helper lives in its API layer, which the gateway does not load.
 */
function joinUpstream(
  upstream: Upstream,
  options: Dispatcher.DispatchOptions,
  client: Duplex,
): Promise<UpstreamUpgrade> {
  return new Promise((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let failure: Error | undefined;
    const cancel = (error: Error) => {
      failure = error;
      controller?.abort(error);
    };
    const onClientClose = () => cancel(new Error('client went away'));
    const timer = setTimeout(
      () => cancel(new UpstreamTimeoutError('headers', upstream.timeoutMs)),
      upstream.timeoutMs,
    );
    const settle = () => {
      client.off('close', onClientClose);
      clearTimeout(timer);
    };
    client.once('close', onClientClose);
    upstream.pool.dispatch(options, {
      onRequestStart: (started) => {
        controller = started;
        if (failure) started.abort(failure);
      },
      onRequestUpgrade: (_controller, _status, headers, socket) => {
        settle();
        resolve({ headers, socket });
      },
      onResponseStart: (started, status) =>
        started.abort(
          Object.assign(new Error(`upstream answered ${status} to an upgrade`), { code: 'UND_ERR_SOCKET' }),
        ),
      onResponseError: (_controller, error) => {
        settle();
        reject(error);
      },
    });
  });
}
