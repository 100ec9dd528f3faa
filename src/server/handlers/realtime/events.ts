// The wire side of a realtime session: ids in OpenAI's style, client events read
// from text frames (size, JSON, known type, fields), and `error` events in OpenAI's
// shape { type: "error", event_id, error: { type, code, message, param, event_id } },
// where error.event_id names the client event that caused it.
import { randomBytes } from 'node:crypto';

/** A client event this server acts on. */
export const CLIENT_EVENTS = [
  'session.update',
  'transcription_session.update',
  'input_audio_buffer.append',
  'input_audio_buffer.commit',
  'input_audio_buffer.clear',
] as const;
export type ClientEventType = (typeof CLIENT_EVENTS)[number];

export interface ClientEvent {
  type: ClientEventType;
  event_id?: string;
  [field: string]: unknown;
}

/** A problem with one client event (or a turn), sent as an error event; the session goes on. */
export class RealtimeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly type = 'invalid_request_error',
  ) {
    super(message);
  }
}

/** "event_" + 22 random base-62-ish characters, like OpenAI's ids. */
export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(16).toString('base64url').slice(0, 22)}`;
}

/** The `error` object of an event: an error event's, or a failed turn's. */
export function errorBody(err: RealtimeError): { type: string; code: string; message: string; param: string | null } {
  return { type: err.type, code: err.code, message: err.message, param: err.param };
}

export function errorEvent(err: RealtimeError, clientEventId: string | null = null): object {
  return { type: 'error', event_id: newId('event'), error: { ...errorBody(err), event_id: clientEventId } };
}

/** The client event in a text frame of at most `maxBytes`; throws RealtimeError (with the event id when one was readable). */
export function readClientEvent(data: Buffer, isBinary: boolean, maxBytes: number): ClientEvent {
  if (isBinary) throw new RealtimeError('invalid_event', 'Events are JSON text frames; binary frames are not read.');
  if (data.length > maxBytes) throw new RealtimeError('event_too_large', `The event is ${data.length} bytes; at most ${maxBytes} are read (send audio in smaller appends).`);
  let event: unknown;
  try {
    event = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new RealtimeError('invalid_json', `The event is not valid JSON: ${(err as Error).message}.`);
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new RealtimeError('invalid_event', 'An event must be a JSON object with a type.');
  const { type, event_id } = event as { type?: unknown; event_id?: unknown };
  const id = typeof event_id === 'string' ? event_id : undefined;
  if (event_id !== undefined && id === undefined) throw new RealtimeError('invalid_value', 'event_id must be a string.', 'event_id');
  if (typeof type !== 'string') throw Object.assign(new RealtimeError('missing_required_parameter', "Missing required parameter: 'type'.", 'type'), { eventId: id });
  if (!(CLIENT_EVENTS as readonly string[]).includes(type)) {
    throw Object.assign(new RealtimeError('invalid_value', `Invalid value: '${type}'. This transcription server reads the events ${CLIENT_EVENTS.join(', ')}.`, 'type'), { eventId: id });
  }
  return event as ClientEvent;
}

/** The client event id an error carries, when the event had one. */
export function eventIdOf(err: unknown): string | null {
  return (err as { eventId?: string }).eventId ?? null;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `audio` of an append as bytes; throws RealtimeError unless it is standard base64 of whole samples. */
export function decodeAudio(audio: unknown, sampleBytes: number): Buffer {
  if (typeof audio !== 'string') throw new RealtimeError('invalid_value', "input_audio_buffer.append needs 'audio': base64 text.", 'audio');
  if (audio.length % 4 !== 0 || !BASE64.test(audio)) throw new RealtimeError('invalid_value', "'audio' is not valid base64.", 'audio');
  const bytes = Buffer.from(audio, 'base64');
  if (bytes.length % sampleBytes !== 0) throw new RealtimeError('invalid_value', `'audio' holds ${bytes.length} bytes, not a whole number of ${sampleBytes}-byte samples.`, 'audio');
  return bytes;
}
