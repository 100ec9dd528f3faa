// Optional bearer-key check on every route except the exempt ones (health
// probes carry no credentials). Keys are compared as SHA-256 digests with
// timingSafeEqual, so neither the key's content nor its length leaks through timing.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { apiError } from './errors.js';

export interface BearerAuthOptions {
  apiKey: string;
  /** Paths (no query string) reachable without a key. */
  exemptPaths: string[];
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+?)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** The key a browser WebSocket offers as a subprotocol (it cannot set headers): `openai-insecure-api-key.KEY`, OpenAI's form. */
function subprotocolKey(header: string | undefined): string | undefined {
  const offered = (header ?? '').split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith(SUBPROTOCOL_KEY_PREFIX))?.slice(SUBPROTOCOL_KEY_PREFIX.length);
}
const SUBPROTOCOL_KEY_PREFIX = 'openai-insecure-api-key.';

async function bearerAuth(app: FastifyInstance, opts: BearerAuthOptions): Promise<void> {
  if (!opts.apiKey) throw new Error('bearer auth needs a non-empty apiKey');
  const expected = sha256(opts.apiKey);
  const exempt = new Set(opts.exemptPaths);

  app.addHook('onRequest', async (request) => {
    if (exempt.has(request.url.split('?')[0])) return;
    const token = bearerToken(request.headers.authorization) ?? subprotocolKey(request.headers['sec-websocket-protocol']);
    if (token === undefined) {
      throw apiError('invalid_api_key', ['Missing API key: send it as "Authorization: Bearer <key>".']);
    }
    if (!timingSafeEqual(sha256(token), expected)) throw apiError('invalid_api_key', ['Incorrect API key provided.']);
  });
}

export default fp(bearerAuth, { name: 'sgl-omni-bearer-auth', fastify: '5.x' });
