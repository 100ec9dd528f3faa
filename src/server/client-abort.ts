// An AbortSignal that fires when the client goes away before its answer was
// fully written (mid-upload, mid-inference or mid-stream), so the pipeline
// stops working for nobody.
import type { FastifyReply } from 'fastify';
import { ApiError, ERR_CLIENT_CLOSED, STATUS_CLIENT_CLOSED } from './errors.js';

export function clientAbortSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  // 'close' on the response also follows a normal finish; only an unfinished one means the client left.
  let finished = false;
  reply.raw.once('finish', () => {
    finished = true;
  });
  reply.raw.once('close', () => {
    if (!finished && !reply.raw.writableFinished) controller.abort(new ApiError(STATUS_CLIENT_CLOSED, ERR_CLIENT_CLOSED, 'client closed the request'));
  });
  return controller.signal;
}
