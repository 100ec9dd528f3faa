// Noticing that the client went away before its answer was fully written
// (mid-upload, mid-inference or mid-stream), so the pipeline stops working for
// nobody and the request is counted as what it was. The request log, the metrics
// and the route all ask; the response gets one pair of listeners whoever asks (a
// pair each made a streamed response pass Node's 10 'close' listeners, and every
// SSE request logged a MaxListenersExceededWarning).
import type { FastifyReply } from 'fastify';
import { apiError } from './errors.js';

const gone = new WeakMap<object, AbortSignal>();

/** An AbortSignal that fires when the client goes away: the response closes before it finished. */
export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const res = reply.raw;
  let signal = gone.get(res);
  if (signal) return signal;
  const controller = new AbortController();
  signal = controller.signal;
  gone.set(res, signal);
  // 'close' on the response also follows a normal finish; only an unfinished one means the client left.
  let finished = false;
  res.once('finish', () => {
    finished = true;
  });
  res.once('close', () => {
    if (!finished && !res.writableFinished) controller.abort(apiError('client_closed_request', ['']));
  });
  return signal;
}

/** Calls `onGone` once if the response closes before it finished. */
export function onClientGone(reply: FastifyReply, onGone: () => void): void {
  clientAbortSignal(reply).addEventListener('abort', onGone, { once: true });
}
