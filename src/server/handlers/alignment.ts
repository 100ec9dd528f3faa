// Handler `alignment`: POST audio and its known transcript, get word
// timestamps (forced alignment; no peer server offers it through an HTTP API).
// Multipart `file`, `text` (required), optional `language` and `model`;
// answers { object: audio.alignment, model, duration, language, text, words:
// [{ word, start, end }] } with times in seconds from the start of the upload.
// It knows nothing of the model: the pipeline's stages turn (audio, text) into
// words (docs/PAYLOADS.md).
import type { Payload } from '../../runtime/contracts.js';
import { clientAbortSignal } from '../client-abort.js';
import { apiError, invalidValue } from '../errors.js';
import { readUploadForm } from '../upload-form.js';
import type { RouteHandler } from './types.js';

export const ALIGNMENT_OBJECT = 'audio.alignment';
const FIELDS = new Set(['text', 'language', 'model']);

/** One value of a form field sent at most once; undefined when absent or empty. */
function single(fields: Map<string, string[]>, name: string): string | undefined {
  const values = fields.get(name) ?? [];
  if (values.length > 1) throw invalidValue(name, `'${name}' was sent ${values.length} times; send it once.`);
  return values[0] === '' ? undefined : values[0];
}

/** The answer; a result without words or duration is a server fault (500). */
export function alignmentBody(model: string, text: string, language: string | undefined, result: Payload): Record<string, unknown> {
  const { words, duration } = result;
  if (!Array.isArray(words) || typeof duration !== 'number') throw new Error('pipeline result has no words or duration');
  return { object: ALIGNMENT_OBJECT, model, duration, language: language ?? null, text, words };
}

const handler: RouteHandler = {
  name: 'alignment',
  mount(app, { path, pipeline, catalog, limits }) {
    app.post(path, async (request, reply) => {
      const signal = clientAbortSignal(reply);
      const form = await readUploadForm(request, limits);
      const unknown = [...form.fields.keys()].filter((k) => !FIELDS.has(k));
      if (unknown.length > 0) throw invalidValue(unknown[0], `unknown field '${unknown[0]}'; this route takes file, text, language and model.`);
      const text = single(form.fields, 'text');
      if (text === undefined || text.trim() === '') throw apiError('missing_text', [], { param: 'text' });
      const language = single(form.fields, 'language');
      const model = catalog.resolve(single(form.fields, 'model'));
      const { bytes, filename, contentType } = form.file;
      const params = language ? { language } : {};
      const result = await pipeline.submit({ audio: bytes, filename, contentType, text, params }, { id: request.id, signal });
      return reply.send(alignmentBody(model, text, language, result));
    });
  },
};
export default handler;
