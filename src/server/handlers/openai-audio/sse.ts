// OpenAI's transcription stream: `transcript.text.delta` events while the
// pipeline decodes, then `transcript.text.done` and `[DONE]`. Headers are held
// until the first event or the result, so a request refused before any text
// (overload, bad audio) is still a plain HTTP error. A failure after the
// stream started is sent as an error event, and the stream ends.
import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { Payload } from '../../../runtime/contracts.js';
import { errorBody, toApiError } from '../../errors.js';
import { durationUsage } from './response-formats.js';
import type { TranscriptionResult } from '../../../contracts/transcription.js';
import { readTranscriptionResult } from './transcription-result.js';

/** Runs the request; calls onEvent for each pipeline event. */
export type StreamingSubmit = (onEvent: (event: Payload) => void) => Promise<Payload>;

const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;
const DONE_FRAME = 'data: [DONE]\n\n';

/** Resolves with the result once the stream ended normally; rejects only before headers were sent. */
export async function streamTranscription(reply: FastifyReply, requestId: string, submit: StreamingSubmit): Promise<TranscriptionResult | undefined> {
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
      if (event.type !== 'delta' || typeof event.delta !== 'string' || event.delta === '') return;
      deltaSent = true;
      write({ type: 'transcript.text.delta', delta: event.delta });
    });
    const result = readTranscriptionResult(payload);
    // A pipeline that emitted no deltas still gives stream readers the whole text.
    if (!deltaSent && result.text !== '') write({ type: 'transcript.text.delta', delta: result.text });
    write({ type: 'transcript.text.done', text: result.text, usage: durationUsage(result.duration) });
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
