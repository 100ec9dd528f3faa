// Answers every failure and unknown route in the OpenAI error shape.
// Registered first so it covers every route.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, ERR_NOT_FOUND, errorBody, STATUS_CLIENT_CLOSED, toApiError } from './errors.js';

export function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfterS !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterS))));
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(err.status).type('application/json; charset=utf-8').send(errorBody(err));
}

function logFailure(request: FastifyRequest, raw: unknown, err: ApiError): void {
  if (err.status >= 500) request.log.error({ err: raw, code: err.code }, 'request failed');
  else if (err.status === STATUS_CLIENT_CLOSED) request.log.info('client closed the request');
  else request.log.info({ status: err.status, code: err.code, param: err.param }, err.message);
}

async function errorHandling(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((raw, request, reply) => {
    const err = toApiError(raw, request.id);
    logFailure(request, raw, err);
    return sendApiError(reply, err);
  });

  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, new ApiError(404, ERR_NOT_FOUND, `No route for ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export default fp(errorHandling, { name: 'sgl-omni-error-handling', fastify: '5.x' });
