// OpenAI's transcription route at the path a pipeline declares (every response
// format, SSE streaming). Served at OpenAI's own path, it also answers
// POST /v1/audio/translations with a refusal: the models only transcribe.
import type { FastifyInstance } from 'fastify';
import type { Payload } from '../../../runtime/contracts.js';
import { clientAbortSignal } from '../../client-abort.js';
import { ApiError, ERR_UNSUPPORTED_FEATURE } from '../../errors.js';
import type { RouteContext } from '../types.js';
import { formatTranscription } from './response-formats.js';
import { noteLogFields } from '../../request-log.js';
import { forcedShutdownSignal } from '../../shutdown.js';
import { streamTranscription } from './sse.js';
import { TranscriptionMetrics } from './transcription-metrics.js';
import { RequestFields } from '../../request-fields.js';
import { entryPayload, OPENAI_FIELDS, parseTranscriptionRequest } from './transcription-request.js';
import type { TranscriptionResult } from '../../../contracts/transcription.js';
import { readTranscriptionResult } from './transcription-result.js';
import { readUploadForm } from '../../upload-form.js';

export const TRANSCRIPTIONS_PATH = '/v1/audio/transcriptions';
export const TRANSLATIONS_PATH = '/v1/audio/translations';

function pickDeclared(params: object, declared: RequestFields): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([name]) => declared.declares(name)));
}

export default async function audioRoutes(app: FastifyInstance, opts: RouteContext): Promise<void> {
  const { path, pipeline, catalog, metrics, limits } = opts;
  const transcriptionMetrics = TranscriptionMetrics.of(metrics);
  const declared = pipeline.requestFields && new RequestFields(pipeline.requestFields, OPENAI_FIELDS);

  app.post(path, async (request, reply) => {
    const signal = clientAbortSignal(reply);
    const form = await readUploadForm(request, limits, forcedShutdownSignal(request));
    const transcription = parseTranscriptionRequest(form.fields, catalog, { words: declared?.declares('timestamp_granularities'), logprobs: declared?.declares('include') });
    // Only what the stages declare goes on (response_format is this route's own business).
    const params = declared ? { ...pickDeclared(transcription.params, declared), ...declared.read(form.fields) } : transcription.params;
    const payload = entryPayload(form.file, params);
    const started = performance.now();
    const submit = (onEvent?: (event: Payload) => void) => pipeline.submit(payload, { id: request.id, signal, onEvent });
    const observe = (result: TranscriptionResult) => {
      noteLogFields(request, { audioSeconds: result.duration });
      transcriptionMetrics.observe(result, (performance.now() - started) / 1000);
    };

    const logprobs = transcription.params.include?.includes('logprobs') ?? false;
    if (transcription.params.stream) {
      const result = await streamTranscription(reply, request.id, submit, logprobs);
      if (result) observe(result);
      return reply;
    }
    const result = readTranscriptionResult(await submit());
    observe(result);
    const response = formatTranscription(result, transcription.params.response_format, { logprobs });
    return reply.type(response.contentType).send(response.body);
  });

  if (path !== TRANSCRIPTIONS_PATH) return;
  app.post(TRANSLATIONS_PATH, async () => {
    throw new ApiError(400, ERR_UNSUPPORTED_FEATURE, `The model '${catalog.canonical}' cannot translate; use ${TRANSCRIPTIONS_PATH} to transcribe in the spoken language.`);
  });
}
