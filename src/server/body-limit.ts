// Refuses a request body by its declared size before any of it is read: a
// Content-Length over the limit gets 413 at once and the connection is closed,
// and a client that asks first (Expect: 100-continue) gets that 413 instead of
// "100 Continue", so it never sends the body. Node answers 100 by itself
// unless the server handles 'checkContinue'.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { apiError, errorBody, type ApiError } from './errors.js';

export interface BodyLimitOptions {
  /** Largest body accepted, the whole multipart form included. */
  maxBodyBytes: number;
}

const declaredLength = (request: IncomingMessage) => Number(request.headers['content-length'] ?? 0);

function tooLarge(maxBodyBytes: number): ApiError {
  return apiError('form_too_large', [`The request body is larger than the ${(maxBodyBytes / 2 ** 20).toFixed(2)} MiB limit.`]);
}

async function bodyLimit(app: FastifyInstance, { maxBodyBytes }: BodyLimitOptions): Promise<void> {
  app.server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    if (declaredLength(request) <= maxBodyBytes) {
      response.writeContinue();
      app.server.emit('request', request, response);
      return;
    }
    app.log.info({ contentLength: request.headers['content-length'], url: request.url }, 'body refused before 100 Continue');
    const body = JSON.stringify(errorBody(tooLarge(maxBodyBytes)));
    response.shouldKeepAlive = false;
    response.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  });

  app.addHook('onRequest', async (request, reply) => {
    if (declaredLength(request.raw) <= maxBodyBytes) return;
    // The body is not read: the connection cannot carry another request after it.
    reply.header('connection', 'close');
    throw tooLarge(maxBodyBytes);
  });
}

export default fp(bodyLimit, { name: 'sgl-omni-body-limit', fastify: '5.x' });
