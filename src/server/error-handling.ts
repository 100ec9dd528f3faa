// Answers every failure and unknown route in the OpenAI error shape.
// Registered first so it covers every route. Requests that never became
// requests (timed-out uploads, malformed HTTP) are answered by writeClientError.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { answeredMidBody } from './connection-guard.js';
import { apiError, errorBody, toApiError, type ApiError } from './errors.js';
import { noteFailure } from './request-log.js';

export function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfterS !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterS))));
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(err.status).type('application/json; charset=utf-8').send(errorBody(err));
}

function logFailure(request: FastifyRequest, raw: unknown, err: ApiError): void {
  // A server fault gets its own line with the stack; every failure's code and message go on the request's line.
  if (err.status >= 500) request.log.error({ err: raw, code: err.code }, 'request failed');
  noteFailure(request, err);
}

/** Node's clientError errors (raised before any route ran) as the answer to send. */
function clientErrorOf(err: NodeJS.ErrnoException): ApiError {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return apiError('request_timeout');
  if (err.code === 'HPE_HEADER_OVERFLOW') return apiError('headers_too_large');
  return apiError('bad_http_request');
}

const clientErrorAnswers = new WeakMap<Socket, ApiError>();

/** What writeClientError answered on this socket (a timed-out upload's 408), if it did. */
export function clientErrorAnswer(socket: Socket | null | undefined): ApiError | undefined {
  return socket ? clientErrorAnswers.get(socket) : undefined;
}

/** fastify's clientErrorHandler: writes the answer straight to the socket and closes it. */
export function writeClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (err.code === 'HPE_INVALID_EOF_STATE') {
    socket.destroy(); // the client closed its side mid-request: it left, nobody reads an answer
    return;
  }
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  // The request was answered before its body ended: a timeout or parse error in the rest of it
  // gets no second, unsolicited answer on the wire.
  if (answeredMidBody(socket)) {
    socket.destroy();
    return;
  }
  const apiError = clientErrorOf(err);
  clientErrorAnswers.set(socket, apiError);
  endSocketWithError(socket, apiError);
}

/** Writes an error answer straight to a socket no request owns, and closes it. */
export function endSocketWithError(socket: Socket, apiError: ApiError): void {
  const body = JSON.stringify(errorBody(apiError));
  const retryAfter = apiError.retryAfterS === undefined ? '' : `Retry-After: ${Math.max(1, Math.ceil(apiError.retryAfterS))}\r\n`;
  const head = `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}\r\nConnection: close\r\n${retryAfter}Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  // Closed once written: a client that keeps its side open (or still sends) holds nothing, and the
  // request still reading its body learns it was cut off.
  socket.end(head + body, () => socket.destroy());
}

/** fastify's frameworkErrors: failures found before routing (a URL that does not decode,
 *  a parameter over maxParamLength) get the same shape as everything else. */
export function writeFrameworkError(raw: Error, request: FastifyRequest, reply: FastifyReply): void {
  const err = toApiError(raw, request.id);
  logFailure(request, raw, err);
  sendApiError(reply, err);
}

async function errorHandling(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((raw, request, reply) => {
    const err = toApiError(raw, request.id);
    logFailure(request, raw, err);
    return sendApiError(reply, err);
  });

  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, apiError('not_found', [request.method, request.url.split('?')[0]])),
  );
}

export default fp(errorHandling, { name: 'sgl-omni-error-handling', fastify: '5.x' });
