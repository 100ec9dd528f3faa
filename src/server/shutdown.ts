// Graceful close: requests already accepted finish; requests arriving on kept-alive
// connections meanwhile get a 503 in the OpenAI shape (fastify's own
// return503OnClosing answers in its shape). Node's server.close() only drops the
// connections idle at that moment, so connections that never sent a request are
// dropped at once and the others as soon as their last answer is written;
// otherwise close() waits for their headers or keep-alive timeout.
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ApiError, ERR_SHUTTING_DOWN } from './errors.js';

export interface GracefulShutdownOptions {
  /** Retry-After sent with the 503 answered while the server is closing. */
  retryAfterS: number;
}

async function gracefulShutdown(app: FastifyInstance, opts: GracefulShutdownOptions): Promise<void> {
  const unused = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  app.server.on('request', (request: { socket: Socket }) => unused.delete(request.socket));

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of unused) socket.destroy();
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new ApiError(503, ERR_SHUTTING_DOWN, 'The server is shutting down; retry on another instance.', null, opts.retryAfterS);
  });
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });
  // Streams sent their headers before close began, so they end on a kept-alive connection.
  app.addHook('onResponse', async () => {
    if (closing) setImmediate(() => app.server.closeIdleConnections());
  });
}

export default fp(gracefulShutdown, { name: 'sgl-omni-graceful-shutdown', fastify: '5.x' });
