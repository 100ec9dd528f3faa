// Handler `features`: POST an audio file (multipart `file`, optional `model`,
// and any per-request field the stages declare), answer the pipeline's final
// segments as JSON, every typed array as a plain number array. It serves pipelines that end in features or embeddings
// (decode → resample → features); it knows nothing of what the numbers are.
import type { Payload } from '../../runtime/contracts.js';
import { clientAbortSignal } from '../client-abort.js';
import { invalidValue } from '../errors.js';
import { RequestFields } from '../request-fields.js';
import { readUploadForm } from '../upload-form.js';
import type { RouteHandler } from './types.js';

export const FEATURES_OBJECT = 'audio.features';

/** A payload value as JSON: typed arrays become arrays; objects and arrays are walked. */
export function plainJson(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return Array.from(value as unknown as ArrayLike<number>);
  if (Array.isArray(value)) return value.map(plainJson);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainJson(v)]));
  return value;
}

/** The answer to one request; a result without the fields the descriptor needs is a server fault (500). */
export function featuresBody(model: string, result: Payload): Record<string, unknown> {
  const { segments, duration } = result;
  if (!Array.isArray(segments) || typeof duration !== 'number') throw new Error('pipeline result has no segments or duration');
  return { object: FEATURES_OBJECT, model, duration, segments: plainJson(segments) };
}

const handler: RouteHandler = {
  name: 'features',
  mount(app, { path, pipeline, catalog, limits }) {
    const declared = new RequestFields(pipeline.requestFields ?? {}, ['file', 'model']);
    app.post(path, async (request, reply) => {
      const signal = clientAbortSignal(reply);
      const form = await readUploadForm(request, limits);
      const models = (form.fields.get('model') ?? []).filter((m) => m !== '');
      if (models.length > 1) throw invalidValue('model', `'model' was sent ${models.length} times; send it once.`);
      const model = catalog.resolve(models[0]);
      const params = declared.read(form.fields);
      const { bytes, filename, contentType } = form.file;
      const result = await pipeline.submit({ audio: bytes, filename, contentType, params }, { id: request.id, signal });
      return reply.send(featuresBody(model, result));
    });
  },
};
export default handler;
