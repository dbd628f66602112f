/**
 * @module Requests whose client sent `Expect: 100-continue`, forwarded with the expectation so that the
 * upstream decides (RFC 9110 §10.1.1): its 100 goes to the client and only then does the body flow; a
 * final answer instead (401, 413) reaches the client before it sends the body. undici refuses Expect on
 * HTTP/1.1, so these go through node:http, driving the same dispatch handler as the pooled path.
 */
import type { OutgoingHttpHeaders } from 'node:http';
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
 * through undici's own handler hooks (1xx included, so the handler relays the 100 itself).
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
  let settled = false;
  /** Why the handler cancelled the request: reported instead of the socket error the cancel causes. */
  let abortReason: Error | undefined;
  const abort = (reason?: Error) => {
    if (abortReason !== undefined) return;
    abortReason = reason ?? new Error('request aborted');
    request.destroy(abortReason);
  };
  const fail = (error: Error) => {
    if (settled) return;
    settled = true;
    options.body.unpipe(request);
    handler.onError?.(abortReason ?? error);
  };
  request.on('error', fail);
  request.on('information', (info) => {
    if (info.statusCode === 100) return; // reported by 'continue'
    handler.onHeaders?.(
      info.statusCode,
      info.rawHeaders as unknown as Buffer[],
      noResume,
      info.statusMessage,
    );
  });
  request.on('continue', () => {
    handler.onHeaders?.(100, [], noResume, 'Continue');
    options.body.pipe(request);
  });
  options.body.once('error', (error) => request.destroy(error));
  request.on('response', (response) => {
    const resume = () => response.resume();
    const rawHeaders = response.rawHeaders as unknown as Buffer[];
    if (
      handler.onHeaders?.(response.statusCode ?? 502, rawHeaders, resume, response.statusMessage ?? '') ===
      false
    )
      response.pause();
    response.on('data', (chunk: Buffer) => {
      if (handler.onData?.(chunk) === false) response.pause();
    });
    response.on('error', fail);
    response.on('end', () => {
      if (settled) return;
      settled = true;
      // Answered without a 100 (a refusal): the body will never be sent, so the connection cannot be reused.
      if (!request.writableFinished) {
        options.body.unpipe(request);
        request.destroy();
      }
      handler.onComplete?.(null);
    });
  });
  handler.onConnect?.(abort);
  // Nothing is written until the body flows: send the head now, the upstream answers it.
  if (abortReason === undefined) request.flushHeaders();
}

/** Informational heads need no resume: node:http never pauses for them. */
function noResume() {}
