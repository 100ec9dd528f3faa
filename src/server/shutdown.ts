// Graceful close, for every state a connection can be in when it begins:
// - idle (kept alive, or never sent a byte): closed at once;
// - part of a next request's head sent (not accepted yet): answered 503 and closed;
// - a request accepted (upload arriving, waiting, running, streaming): it may
//   finish, its answer carries Connection: close; a request arriving meanwhile
//   (pipelined or kept alive) gets 503 in the OpenAI shape (fastify's own
//   return503OnClosing answers in its shape);
// - still open when the shutdown is forced: an upload still arriving is failed
//   here (failOpenRequests) and answered 503 by its handler; the pipeline fails
//   the others with 503, and a started stream ends with an error event.
// Before all this, the first signal only fails readiness (markDraining): requests are
// still served for the pre-drain delay, while balancers stop routing here (cli.ts).
// Node's server.close() would wait for the headers or keep-alive timeout of the
// connections that are not idle.
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { endSocketWithError } from './error-handling.js';
import { apiError } from './errors.js';

export interface GracefulShutdownOptions {
  /** Retry-After sent with the 503 answered while the server is closing. */
  retryAfterS: number;
}

interface ConnectionState {
  /** Accepted requests on it whose answer has not finished. */
  open: number;
  /** socket.bytesRead when its last answer finished: more means a next request has begun. */
  bytesAtIdle: number;
}

const failers = new WeakMap<FastifyInstance, () => number>();
/** Servers whose process began to stop: readiness fails while requests are still served. Keyed by
 *  the HTTP server, which every encapsulated fastify context of one app shares. */
const draining = new WeakSet<object>();

/** Fails readiness from now on (the first step of a shutdown), without refusing any request yet. */
export function markDraining(app: FastifyInstance): void {
  draining.add(app.server);
}

/** Whether the server's process is stopping (markDraining was called, or the close has begun). */
export function isDraining(app: FastifyInstance): boolean {
  return draining.has(app.server);
}
const forcedStops = new WeakMap<FastifyRequest, AbortController>();

/** Fails, with a 503 its handler answers, every request whose body is still arriving (a forced
 *  shutdown: the pipeline fails the others); returns how many. */
export function failOpenRequests(app: FastifyInstance): number {
  return failers.get(app)?.() ?? 0;
}

/** Fires when a forced shutdown gives up on this request's upload; its reason is the ApiError to answer. */
export function forcedShutdownSignal(request: FastifyRequest): AbortSignal | undefined {
  return forcedStops.get(request)?.signal;
}

const shuttingDown = (retryAfterS?: number) => apiError('shutting_down', [], { retryAfterS });

async function gracefulShutdown(app: FastifyInstance, opts: GracefulShutdownOptions): Promise<void> {
  const connections = new Map<Socket, ConnectionState>();
  const open = new Set<FastifyRequest>();
  failers.set(app, () => {
    const arriving = [...open].filter((request) => !request.raw.complete);
    for (const request of arriving) forcedStops.get(request)?.abort(shuttingDown(opts.retryAfterS));
    return arriving.length;
  });
  let closing = false;

  /** Closes a connection that carries no accepted request, answering the head it began to send. */
  const closeUnused = (socket: Socket, state: ConnectionState) => {
    if (state.open > 0) return;
    if (socket.bytesRead > state.bytesAtIdle) endSocketWithError(socket, shuttingDown(opts.retryAfterS));
    else socket.destroy();
  };

  app.server.on('connection', (socket: Socket) => {
    connections.set(socket, { open: 0, bytesAtIdle: 0 });
    socket.once('close', () => connections.delete(socket));
  });
  app.server.on('request', (request: { socket: Socket }, response: { once(event: 'close', cb: () => void): void }) => {
    const state = connections.get(request.socket);
    if (!state) return;
    state.open++;
    response.once('close', () => {
      state.open--;
      state.bytesAtIdle = request.socket.bytesRead;
      if (closing) setImmediate(() => closeUnused(request.socket, state));
    });
  });

  app.addHook('preClose', async () => {
    closing = true;
    draining.add(app.server);
    for (const [socket, state] of connections) closeUnused(socket, state);
  });
  app.addHook('onRequest', async (request, reply) => {
    if (request.raw.headers.upgrade) {
      // An upgraded connection (WebSocket) belongs to its protocol's handler, which closes it on
      // preClose; one answered over HTTP instead (no key, closing, no such route) ends with that answer.
      connections.delete(request.raw.socket);
      reply.raw.once('finish', () => request.raw.socket.destroySoon());
    }
    if (closing) throw shuttingDown(opts.retryAfterS);
    open.add(request);
    forcedStops.set(request, new AbortController());
    reply.raw.once('close', () => open.delete(request));
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
}

export default fp(gracefulShutdown, { name: 'sgl-omni-graceful-shutdown', fastify: '5.x' });
