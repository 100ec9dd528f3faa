// Noticing that the client went away before its answer was fully written
// (mid-upload, mid-inference or mid-stream), so the pipeline stops working for
// nobody and the request is counted as what it was.
import type { FastifyReply } from 'fastify';
import { apiError } from './errors.js';

/** Calls `onGone` once if the response closes before it finished. */
export function onClientGone(reply: FastifyReply, onGone: () => void): void {
  // 'close' on the response also follows a normal finish; only an unfinished one means the client left.
  let finished = false;
  reply.raw.once('finish', () => {
    finished = true;
  });
  reply.raw.once('close', () => {
    if (!finished && !reply.raw.writableFinished) onGone();
  });
}

/** An AbortSignal that fires when the client goes away. */
export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  onClientGone(reply, () => controller.abort(apiError('client_closed_request', [''])));
  return controller.signal;
}
