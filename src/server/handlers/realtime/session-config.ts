// A transcription session's settings, read from either generation of OpenAI's
// realtime protocol and shown back in the shape the client spoke:
// - GA: `session.update` with session { type: "transcription", audio: { input:
//   { format: { type: "audio/pcm", rate: 24000 } | audio/pcmu | audio/pcma,
//   transcription: { model, language, prompt }, turn_detection, noise_reduction } },
//   include }, answered by `session.updated` (object realtime.session);
// - beta (`?intent=transcription`): `transcription_session.update` with session
//   { input_audio_format: pcm16 | g711_ulaw | g711_alaw, input_audio_transcription,
//   turn_detection, input_audio_noise_reduction, include }, answered by
//   `transcription_session.updated` (object realtime.transcription_session).
// Fields are checked by JSON schema (ajv): an unknown one or a wrong value is an
// error event naming it, and the session keeps its settings. What this server
// cannot do (semantic_vad, noise reduction, logprobs, idle_timeout_ms) is refused
// by name rather than ignored.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { SERVER_VAD_DEFAULTS, type VadSettings } from '../../../../stages/silero-vad/regions.js';
import type { AudioFormat } from './audio-formats.js';
import { RealtimeError } from './events.js';

export type Generation = 'ga' | 'beta';

export interface SessionConfig {
  format: AudioFormat;
  model: string;
  language?: string;
  prompt?: string;
  /** null: the client commits each turn itself. */
  turnDetection: VadSettings | null;
}

const ms = { type: 'integer', minimum: 0, maximum: 10_000 };
const turnDetection = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { enum: ['server_vad'] },
    threshold: { type: 'number', minimum: 0, maximum: 1 },
    prefix_padding_ms: ms,
    silence_duration_ms: ms,
    // Responses are a conversation session's business; a transcription session has none to create.
    create_response: { type: 'boolean' },
    interrupt_response: { type: 'boolean' },
    idle_timeout_ms: { type: 'null' },
  },
};
const transcription = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: { model: { type: 'string', minLength: 1 }, language: { type: 'string' }, prompt: { type: 'string' } },
};
const noNoiseReduction = { type: 'null' };
const noInclude = { type: ['array', 'null'], maxItems: 0 };

const GA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { const: 'transcription' },
    audio: {
      type: 'object',
      additionalProperties: false,
      properties: {
        input: {
          type: 'object',
          additionalProperties: false,
          properties: {
            format: {
              type: 'object',
              required: ['type'],
              oneOf: [
                { additionalProperties: false, properties: { type: { const: 'audio/pcm' }, rate: { const: 24_000 } } },
                { additionalProperties: false, properties: { type: { enum: ['audio/pcmu', 'audio/pcma'] } } },
              ],
            },
            transcription,
            turn_detection: turnDetection,
            noise_reduction: noNoiseReduction,
          },
        },
      },
    },
    include: noInclude,
  },
};

const BETA_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    input_audio_format: { enum: ['pcm16', 'g711_ulaw', 'g711_alaw'] },
    input_audio_transcription: transcription,
    turn_detection: turnDetection,
    input_audio_noise_reduction: noNoiseReduction,
    include: noInclude,
    modalities: { type: 'array', items: { enum: ['text', 'audio'] } },
  },
};

const ajv = new Ajv({ allErrors: false, strict: false });
const validators: Record<Generation, ValidateFunction> = { ga: ajv.compile(GA_SCHEMA), beta: ajv.compile(BETA_SCHEMA) };

const WIRE_FORMAT: Record<string, AudioFormat> = { 'audio/pcm': 'pcm16', 'audio/pcmu': 'g711_ulaw', 'audio/pcma': 'g711_alaw' };
const GA_FORMAT: Record<AudioFormat, object> = { pcm16: { type: 'audio/pcm', rate: 24_000 }, g711_ulaw: { type: 'audio/pcmu' }, g711_alaw: { type: 'audio/pcma' } };

function schemaError(error: ErrorObject): RealtimeError {
  const param = `session${error.instancePath.replace(/\//g, '.')}`;
  const unsupported: Record<string, string> = {
    noise_reduction: 'noise reduction is not offered by this server; send null',
    input_audio_noise_reduction: 'noise reduction is not offered by this server; send null',
    include: 'logprobs are not offered by this server; send no include list',
    idle_timeout_ms: 'idle_timeout_ms is not supported; send null',
    type: "only transcription sessions are served here: send session.type 'transcription'",
  };
  const last = error.instancePath.split('/').pop() ?? '';
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return new RealtimeError('unknown_parameter', `Unknown parameter: '${param}.${extra}'.`, `${param}.${extra}`);
  }
  if (last === 'type' && error.instancePath.endsWith('turn_detection/type')) {
    return new RealtimeError('invalid_value', `${param}: only 'server_vad' turn detection (or null for manual commits) is supported.`, param);
  }
  const why = unsupported[last] ?? `${error.message ?? 'is invalid'}`;
  return new RealtimeError('invalid_value', `${param}: ${why}.`, param);
}

type Vad = { threshold?: number; prefix_padding_ms?: number; silence_duration_ms?: number } | null;

function readTurnDetection(value: Vad | undefined, current: VadSettings | null): VadSettings | null {
  if (value === undefined) return current;
  if (value === null) return null;
  return {
    threshold: value.threshold ?? SERVER_VAD_DEFAULTS.threshold,
    prefix_padding_ms: value.prefix_padding_ms ?? SERVER_VAD_DEFAULTS.prefix_padding_ms,
    silence_duration_ms: value.silence_duration_ms ?? SERVER_VAD_DEFAULTS.silence_duration_ms,
  };
}

type Transcription = { model?: string; language?: string; prompt?: string } | null | undefined;

function readTranscription(config: SessionConfig, value: Transcription): void {
  if (!value) return;
  if (value.model !== undefined) config.model = value.model;
  if (value.language !== undefined) config.language = value.language === '' ? undefined : value.language;
  if (value.prompt !== undefined) config.prompt = value.prompt === '' ? undefined : value.prompt;
}

export function defaultConfig(model: string): SessionConfig {
  return { format: 'pcm16', model, turnDetection: { ...SERVER_VAD_DEFAULTS } };
}

/** The settings after an update in `generation`'s shape; throws RealtimeError and changes nothing when it is wrong. */
export function applyUpdate(current: SessionConfig, generation: Generation, session: unknown): SessionConfig {
  const validate = validators[generation];
  if (!validate(session)) throw schemaError(validate.errors![0]);
  const next: SessionConfig = { ...current };
  if (generation === 'ga') {
    const input = (session as { audio?: { input?: { format?: { type: string }; transcription?: Transcription; turn_detection?: Vad } } }).audio?.input;
    if (input?.format) next.format = WIRE_FORMAT[input.format.type];
    readTranscription(next, input?.transcription);
    next.turnDetection = readTurnDetection(input?.turn_detection, current.turnDetection);
  } else {
    const s = session as { input_audio_format?: AudioFormat; input_audio_transcription?: Transcription; turn_detection?: Vad };
    if (s.input_audio_format) next.format = s.input_audio_format;
    readTranscription(next, s.input_audio_transcription);
    next.turnDetection = readTurnDetection(s.turn_detection, current.turnDetection);
  }
  return next;
}

/** The session object as `generation` shows it. */
export function renderSession(id: string, expiresAt: number, config: SessionConfig, generation: Generation): object {
  const transcription = { model: config.model, language: config.language ?? null, prompt: config.prompt ?? '' };
  const turn_detection = config.turnDetection && { type: 'server_vad', ...config.turnDetection };
  if (generation === 'ga') {
    return {
      object: 'realtime.session',
      type: 'transcription',
      id,
      expires_at: expiresAt,
      audio: { input: { format: GA_FORMAT[config.format], transcription, turn_detection, noise_reduction: null } },
      include: null,
    };
  }
  return {
    object: 'realtime.transcription_session',
    id,
    expires_at: expiresAt,
    modalities: ['text'],
    input_audio_format: config.format,
    input_audio_transcription: transcription,
    turn_detection,
    input_audio_noise_reduction: null,
    include: null,
  };
}
