// Reads a multipart/form-data request into exactly one uploaded file (held in
// memory, in an ArrayBuffer of its own, never on disk) and the text fields.
// Every size is bounded while parsing, so an oversized part costs at most its limit.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import '@fastify/multipart';
import { clientErrorAnswer } from './error-handling.js';
import { ApiError, apiError } from './errors.js';

export interface UploadedFile {
  bytes: ArrayBuffer;
  filename: string;
  contentType: string;
}

export interface UploadForm {
  file: UploadedFile;
  /** Text fields by name; a name sent several times keeps every value in order. */
  fields: Map<string, string[]>;
}

export interface UploadLimits {
  maxFileBytes: number;
  maxFieldBytes: number;
  maxFields: number;
}

const FILE_FIELD = 'file';
const MAX_FIELD_NAME_BYTES = 200;
/**
 * busboy's part streams apply backpressure above this many buffered bytes. A part busboy skips
 * (no Content-Disposition, `attachment`, a bare line break in its name, past a count limit) is
 * only resumed a tick after its first bytes arrive: when one socket chunk (up to 64 KiB) puts
 * more than the high-water mark (16 KiB by default) in it and the same chunk also ends the form,
 * dicer keeps that write's callback waiting for a read that never comes, and the request hangs
 * with its body fully received (issue 11: parts of 16-40 KB and 1 MB). A mark above any chunk
 * means a part never pushes back; the bytes it lets through are what we read into memory anyway.
 */
const PART_HIGH_WATER_MARK = 4 * 2 ** 20;
/**
 * Once the whole body has arrived, parsing what is left is CPU work of milliseconds (25 MiB: ~30 ms).
 * A parser still not done one to two such periods later is stuck on a form it cannot finish,
 * and the client gets a 400 rather than a connection that never answers.
 */
const PARSE_AFTER_BODY_MS = 2500;

/** `stop`, when it fires, ends the reading with its reason (an ApiError) as the answer. */
export async function readUploadForm(request: FastifyRequest, limits: UploadLimits, stop?: AbortSignal): Promise<UploadForm> {
  if (!request.isMultipart()) {
    const sent = request.headers['content-type'] ?? 'none';
    throw apiError('unsupported_media_type', [`Content-Type must be multipart/form-data (got ${sent}).`]);
  }
  const parts = request.parts({
    fileHwm: PART_HIGH_WATER_MARK,
    limits: {
      fileSize: limits.maxFileBytes,
      fieldSize: limits.maxFieldBytes,
      fields: limits.maxFields,
      fieldNameSize: MAX_FIELD_NAME_BYTES,
      // One file beyond the allowed one still reaches us, so the answer is "too many files", not a parser limit.
      files: 2,
      parts: limits.maxFields + 2,
    },
  });

  let file: UploadedFile | undefined;
  const fields = new Map<string, string[]>();
  const stallGuard = parseStallGuard(request.raw, stop);
  try {
    for await (const part of stallGuard.watch(parts)) {
      if (!part.fieldname) throw apiError('invalid_multipart', ['A form part has no name: send each part with Content-Disposition: form-data; name="...".']);
      if (part.type === 'file') {
        if (part.fieldname !== FILE_FIELD) throw apiError('invalid_multipart', [`Unexpected file field '${part.fieldname}': upload the audio as 'file'.`], { param: part.fieldname });
        if (file) throw apiError('too_many_files', [], { param: FILE_FIELD });
        file = { bytes: await stallGuard.race(readFileBytes(part.file, limits.maxFileBytes)), filename: part.filename, contentType: part.mimetype };
      } else {
        if (part.valueTruncated) throw apiError('field_too_large', [part.fieldname, limits.maxFieldBytes], { param: part.fieldname });
        const values = fields.get(part.fieldname) ?? [];
        values.push(String(part.value));
        fields.set(part.fieldname, values);
      }
    }
  } catch (err) {
    if (err === stop?.reason) {
      discardRestOfBody(request.raw, limits.maxFileBytes);
      throw err;
    }
    // A body cut off is not a malformed form: the server timed it out (408, already answered on
    // the socket) or the client left (499).
    if (request.raw.destroyed && !request.raw.complete) {
      throw clientErrorAnswer(request.raw.socket) ?? apiError('client_closed_request', [' during the upload']);
    }
    discardRestOfBody(request.raw, limits.maxFileBytes);
    if (err === PARSE_STALLED) request.log.warn({ afterBodyMs: PARSE_AFTER_BODY_MS }, 'multipart parser stalled after the whole body arrived');
    throw asFormError(err, limits.maxFileBytes);
  } finally {
    stallGuard.stop();
  }
  if (!file) {
    const hint = fields.has(FILE_FIELD) ? " ('file' was sent as a text field: give it a filename)" : '';
    throw apiError('missing_file', [hint], { param: FILE_FIELD });
  }
  return { file, fields };
}

const PARSE_STALLED = apiError('invalid_multipart', ['Malformed multipart body: the body ended but its parts never completed.']);

/**
 * Races each step of the parts iterator against `stop` and a watchdog: a parser that has had the whole body
 * (raw.complete, set by Node's HTTP parser; no event says so when the parser stops reading) for
 * a full period without finishing fails the form, whatever a parser bug does with it. A body
 * that stops arriving gets its 408 from the connection guard (idle timeout), a slow one from the
 * request timeout; either cuts the request off, which ends the reading here.
 */
function parseStallGuard(raw: IncomingMessage, stop?: AbortSignal) {
  let fail!: (err: unknown) => void;
  const stalled = new Promise<never>((_resolve, reject) => (fail = reject));
  stalled.catch(() => {});
  stop?.addEventListener('abort', () => fail(stop.reason), { once: true });
  let completeSeen = false;
  const check = () => {
    if (completeSeen) return fail(PARSE_STALLED);
    completeSeen = raw.complete;
    timer.refresh();
  };
  const timer = setTimeout(check, PARSE_AFTER_BODY_MS);
  const race = <T>(work: Promise<T>): Promise<T> => Promise.race([work, stalled]);
  return {
    race,
    async *watch<T>(source: AsyncIterable<T>): AsyncGenerator<T> {
      const it = source[Symbol.asyncIterator]();
      for (let step = await race(it.next()); !step.done; step = await race(it.next())) yield step.value;
    },
    stop: () => clearTimeout(timer),
  };
}

/**
 * A form refused part-way (a second file, a bad part) leaves the rest of the body unread, and
 * an unread body stalls its connection: the next request on it, and server shutdown, would wait
 * for ever. The rest is read and dropped, as Node does with bodies nobody reads; a client still
 * sending more than `maxBytes` after the refusal loses the connection instead.
 */
function discardRestOfBody(raw: IncomingMessage, maxBytes: number): void {
  if (raw.readableEnded) return;
  raw.unpipe();
  let left = maxBytes;
  raw.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) raw.destroy();
  });
  raw.resume();
}

/** Copies the stream into one ArrayBuffer of exactly its size (Buffers may share a pooled slab). */
async function readFileBytes(stream: Readable & { truncated?: boolean }, maxBytes: number): Promise<ArrayBuffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
  }
  if (stream.truncated || size > maxBytes) throw fileTooLarge(maxBytes);
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes.buffer;
}

const fileTooLarge = (maxBytes: number) =>
  apiError('file_too_large', [(maxBytes / 2 ** 20).toFixed(maxBytes % 2 ** 20 ? 2 : 0)], { param: FILE_FIELD });

/** Parser failures without an HTTP status (busboy's "Unexpected end of form"…) are the client's malformed body. */
function asFormError(err: unknown, maxFileBytes: number): unknown {
  if (err instanceof ApiError) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  if (e?.code === 'FST_REQ_FILE_TOO_LARGE') return fileTooLarge(maxFileBytes);
  if (typeof e?.statusCode === 'number') return err;
  return apiError('invalid_multipart', [`Malformed multipart body: ${String(e?.message ?? err)}`]);
}
