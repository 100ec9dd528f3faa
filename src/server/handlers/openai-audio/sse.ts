// OpenAI's transcription stream: `transcript.text.delta` events while the
// pipeline decodes, then `transcript.text.done` and `[DONE]`. With
// include[]=logprobs each delta carries its tokens' `logprobs` and the done
// event all of them, as OpenAI's events do. Headers are held
// until the first event or the result, so a request refused before any text
// (overload, bad audio) is still a plain HTTP error. A failure after the
// stream started is sent as an error event, and the stream ends.
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Payload } from '../../../runtime/contracts.js';
import { errorBody, toApiError } from '../../errors.js';
import { allLogprobs, durationUsage } from './response-formats.js';
import type { TranscriptionResult } from '../../../contracts/transcription.js';
import { readTokenLogprobs, readTranscriptionResult } from './transcription-result.js';

/** Runs the request; calls onEvent for each pipeline event. */
export type StreamingSubmit = (onEvent: (event: Payload) => void) => Promise<Payload>;

const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const DONE_FRAME = 'data: [DONE]\n\n';

/** Resolves with the result once the stream ended normally; rejects only before headers were sent. */
/** `logprobs`: the request had include[]=logprobs. */
export async function streamTranscription(reply: FastifyReply, requestId: string, submit: StreamingSubmit, logprobs = false): Promise<TranscriptionResult | undefined> {
  let body: PassThrough | undefined;
  let deltaSent = false;
  const write = (data: unknown) => {
    if (!body) {
      body = new PassThrough();
      reply
        .code(200)
        .headers({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
        .send(body);
    }
    body.write(frame(data));
  };

  try {
    const payload = await submit((event) => {
      if (event.type !== 'delta' || typeof event.delta !== 'string') return;
      const tokens = logprobs && event.logprobs !== undefined ? readTokenLogprobs(event.logprobs, 'delta event') : undefined;
      if (event.delta === '' && !tokens?.length) return;
      deltaSent = true;
      write({ type: 'transcript.text.delta', delta: event.delta, ...(tokens ? { logprobs: tokens } : {}) });
    });
    const result = readTranscriptionResult(payload);
    const all = logprobs ? { logprobs: allLogprobs(result) } : {};
    // A pipeline that emitted no deltas still gives stream readers the whole text.
    if (!deltaSent && result.text !== '') write({ type: 'transcript.text.delta', delta: result.text, ...all });
    write({ type: 'transcript.text.done', text: result.text, ...all, usage: durationUsage(result.duration) });
    body!.end(DONE_FRAME);
    return result;
  } catch (err) {
    if (!body) throw err;
    const apiError = toApiError(err, requestId);
    reply.log.warn({ err, code: apiError.code }, 'transcription stream failed after it started');
    body.end(frame({ type: 'error', ...errorBody(apiError) }));
    return undefined;
  }
}
