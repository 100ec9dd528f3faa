// One POST /v1/audio/transcriptions per call, timed from send to the last byte
// of the response, against any OpenAI-compatible server.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { EvalError } from './errors.js';
import type { DatasetItem } from './manifest.js';

export interface Endpoint {
  /** Full URL of the transcriptions route. */
  transcriptionsUrl: string;
  model: string;
  /** ISO-639-1 hint sent as `language`, as sglang-omni's CI does; omitted when undefined. */
  language?: string;
  apiKey?: string;
  timeoutMs: number;
}

export interface RequestOutcome {
  /** HTTP status; 0 when no response arrived (connection error or timeout). */
  status: number;
  ok: boolean;
  latencySeconds: number;
  text?: string;
  /** The server's usage.seconds, when it reports the audio duration. */
  usageSeconds?: number;
  error?: string;
}

/** Accepts a server root, a …/v1 base or the full route. */
export function routeUrls(url: string): { transcriptions: string; models: string } {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new EvalError('bad_option', `--url ${url} is not a URL`);
  }
  const root = base.href.replace(/\/+$/, '').replace(/\/audio\/transcriptions$/, '').replace(/\/v1$/, '');
  return { transcriptions: `${root}/v1/audio/transcriptions`, models: `${root}/v1/models` };
}

/** The first model id the server lists, or null when it lists none or has no /v1/models. */
export async function discoverModel(modelsUrl: string, apiKey?: string): Promise<string | null> {
  try {
    const res = await fetch(modelsUrl, { headers: authHeaders(apiKey), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) return null;
    const body = (await res.json()) as { data?: Array<{ id?: unknown }> };
    const id = body.data?.[0]?.id;
    return typeof id === 'string' ? id : null;
  } catch {
    return null;
  }
}

const MIME_TYPES: Record<string, string> = {
  '.wav': 'audio/wav', '.flac': 'audio/flac', '.mp3': 'audio/mpeg', '.ogg': 'audio/ogg', '.m4a': 'audio/mp4', '.webm': 'audio/webm',
};

function authHeaders(apiKey?: string): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

export async function transcribe(endpoint: Endpoint, item: DatasetItem): Promise<RequestOutcome> {
  const form = new FormData();
  const name = path.basename(item.audioPath);
  const type = MIME_TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
  form.append('file', new Blob([item.bytes], { type }), name);
  form.append('model', endpoint.model);
  form.append('response_format', 'json');
  if (endpoint.language) form.append('language', endpoint.language);

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  try {
    const res = await fetch(endpoint.transcriptionsUrl, {
      method: 'POST',
      body: form,
      headers: authHeaders(endpoint.apiKey),
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
    const body = await res.text();
    const latencySeconds = elapsed();
    if (!res.ok) return { status: res.status, ok: false, latencySeconds, error: errorMessage(body) };
    return { status: res.status, latencySeconds, ...parseTranscription(body) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const error = e.name === 'TimeoutError' ? `timed out after ${endpoint.timeoutMs} ms` : (e.cause?.code ?? e.message);
    return { status: 0, ok: false, latencySeconds: elapsed(), error };
  }
}

function parseTranscription(body: string): Pick<RequestOutcome, 'ok' | 'text' | 'usageSeconds' | 'error'> {
  try {
    const json = JSON.parse(body) as { text?: unknown; usage?: { seconds?: unknown } };
    if (typeof json.text !== 'string') return { ok: false, error: 'response has no "text"' };
    const seconds = json.usage?.seconds;
    return { ok: true, text: json.text, usageSeconds: typeof seconds === 'number' && seconds > 0 ? seconds : undefined };
  } catch {
    return { ok: false, error: 'response is not JSON' };
  }
}

/** OpenAI's error shape ({error: {message}}) when present, else the start of the body. */
function errorMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    if (typeof message === 'string') return message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 200);
}
