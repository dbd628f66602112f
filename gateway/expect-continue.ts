/**
 * @module Requests whose client sent `Expect: 100-continue`, forwarded with the expectation so that the
 * upstream decides (RFC 9110 §10.1.1): its 100 goes to the client and only then does the body flow; a
 * final answer instead (401, 413) reaches the client before it sends the body. undici refuses Expect on
 * HTTP/1.1, so these go through node:http, driving the same dispatch handler as the pooled path.
 */
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { GatewayRequest } from './plane-guard.js';

/**
 * Whether the client waits for a 100 before sending its body. Node only asks the gateway (checkContinue)
 * for HTTP/1.1 and h2; HTTP/1.0 clients' Expect is ignored (RFC 9110 §10.1.1).
 */
export function expectsContinue(req: GatewayRequest): boolean {
  const expect = req.headers.expect;
  if (expect === undefined) return false;
  if (!(req as { stream?: unknown }).stream && req.httpVersionMinor === 0) return false;
  return /(?:^|[\s,])100-continue(?:$|[\s,;])/i.test(expect);
}

/** The undici controller contract over a node:http exchange. */
class ExchangeController implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  response: IncomingMessage | undefined;
  readonly #request: { destroy: (error?: Error) => void };

  constructor(request: { destroy: (error?: Error) => void }) {
    this.#request = request;
  }

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.#request.destroy(reason);
  }

  pause(): void {
    this.paused = true;
    this.response?.pause();
  }

  resume(): void {
    this.paused = false;
    this.response?.resume();
  }
}

export interface ContinueDispatch {
  origin: string;
  method: string;
  path: string;
  headers: OutgoingHttpHeaders;
  body: Readable;
}

/**
 * Sends the request head with `Expect: 100-continue` on a fresh connection (these are rare: large
 * uploads), pipes `body` once the upstream answers 100, and reports every response event to `handler`
 * as undici would (1xx included, so the handler relays the 100 itself).
 */
export function dispatchExpectingContinue(
  options: ContinueDispatch,
  handler: Dispatcher.DispatchHandler,
): void {
  const send = options.origin.startsWith('https:') ? httpsRequest : httpRequest;
  const request = send(`${options.origin}${options.path}`, {
    method: options.method,
    headers: { ...options.headers, expect: '100-continue' },
    agent: false,
  });
  const controller = new ExchangeController(request);
  let settled = false;
  const fail = (error: Error) => {
    if (settled) return;
    settled = true;
    options.body.unpipe(request);
    handler.onResponseError?.(controller, controller.reason ?? error);
  };
  request.on('error', fail);
  request.on('information', (info) => {
    if (info.statusCode === 100) return; // reported by 'continue'
    handler.onResponseStart?.(
      controller,
      info.statusCode,
      info.headers as IncomingHttpHeaders,
      info.statusMessage,
    );
  });
  request.on('continue', () => {
    handler.onResponseStart?.(controller, 100, {}, 'Continue');
    options.body.pipe(request);
  });
  options.body.once('error', (error) => request.destroy(error));
  request.on('response', (response) => {
    controller.response = response;
    if (controller.paused) response.pause();
    handler.onResponseStart?.(
      controller,
      response.statusCode ?? 502,
      response.headers,
      response.statusMessage,
    );
    response.on('data', (chunk: Buffer) => handler.onResponseData?.(controller, chunk));
    response.on('error', fail);
    response.on('end', () => {
      if (settled) return;
      settled = true;
      // Answered without a 100 (a refusal): the body will never be sent, so the connection cannot be reused.
      if (!request.writableFinished) {
        options.body.unpipe(request);
        request.destroy();
      }
      handler.onResponseEnd?.(controller, response.trailers);
    });
  });
  handler.onRequestStart?.(controller, {});
  // Nothing is written until the body flows: send the head now, the upstream answers it.
  if (!controller.aborted) request.flushHeaders();
}
