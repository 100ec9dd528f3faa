// Reads a multipart/form-data request into exactly one uploaded file (held in
// memory, in an ArrayBuffer of its own, never on disk) and the text fields.
// Every size is bounded while parsing, so an oversized part costs at most its limit.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import '@fastify/multipart';
import { clientErrorAnswer } from './error-handling.js';
import { ApiError, ERR_FIELD_TOO_LARGE, ERR_FILE_TOO_LARGE, ERR_CLIENT_CLOSED, ERR_INVALID_MULTIPART, ERR_MISSING_FILE, ERR_TOO_MANY_FILES, ERR_UNSUPPORTED_MEDIA_TYPE, STATUS_CLIENT_CLOSED } from './errors.js';

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

export async function readUploadForm(request: FastifyRequest, limits: UploadLimits): Promise<UploadForm> {
  if (!request.isMultipart()) {
    const sent = request.headers['content-type'] ?? 'none';
    throw new ApiError(415, ERR_UNSUPPORTED_MEDIA_TYPE, `Content-Type must be multipart/form-data (got ${sent}).`);
  }
  const parts = request.parts({
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
  try {
    for await (const part of parts) {
      if (part.type === 'file') {
        if (part.fieldname !== FILE_FIELD) throw new ApiError(400, ERR_INVALID_MULTIPART, `Unexpected file field '${part.fieldname}': upload the audio as 'file'.`, part.fieldname);
        if (file) throw new ApiError(400, ERR_TOO_MANY_FILES, 'Send exactly one audio file per request.', FILE_FIELD);
        file = { bytes: await readFileBytes(part.file, limits.maxFileBytes), filename: part.filename, contentType: part.mimetype };
      } else {
        if (part.valueTruncated) throw new ApiError(413, ERR_FIELD_TOO_LARGE, `Form field '${part.fieldname}' is longer than ${limits.maxFieldBytes} bytes.`, part.fieldname);
        const values = fields.get(part.fieldname) ?? [];
        values.push(String(part.value));
        fields.set(part.fieldname, values);
      }
    }
  } catch (err) {
    // A body cut off is not a malformed form: the server timed it out (408, already answered on
    // the socket) or the client left (499).
    if (request.raw.destroyed && !request.raw.complete) {
      throw clientErrorAnswer(request.raw.socket) ?? new ApiError(STATUS_CLIENT_CLOSED, ERR_CLIENT_CLOSED, 'client closed the request during the upload');
    }
    discardRestOfBody(request.raw, limits.maxFileBytes);
    throw asFormError(err, limits.maxFileBytes);
  }
  if (!file) {
    const hint = fields.has(FILE_FIELD) ? " ('file' was sent as a text field: give it a filename)" : '';
    throw new ApiError(400, ERR_MISSING_FILE, `The audio file is required as the multipart file field 'file'${hint}.`, FILE_FIELD);
  }
  return { file, fields };
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
  new ApiError(413, ERR_FILE_TOO_LARGE, `The audio file is larger than the ${(maxBytes / 2 ** 20).toFixed(maxBytes % 2 ** 20 ? 2 : 0)} MiB limit.`, FILE_FIELD);

/** Parser failures without an HTTP status (busboy's "Unexpected end of form"…) are the client's malformed body. */
function asFormError(err: unknown, maxFileBytes: number): unknown {
  if (err instanceof ApiError) return err;
  const e = err as { statusCode?: unknown; code?: unknown; message?: unknown } | null;
  if (e?.code === 'FST_REQ_FILE_TOO_LARGE') return fileTooLarge(maxFileBytes);
  if (typeof e?.statusCode === 'number') return err;
  return new ApiError(400, ERR_INVALID_MULTIPART, `Malformed multipart body: ${String(e?.message ?? err)}`);
}
