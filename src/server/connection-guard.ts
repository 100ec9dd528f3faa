// Every connection ends in an answer or a close within a bounded time, whatever
// the client stops doing. Node's socket idle timer (server.timeout: no byte in
// or out for idleTimeoutMs; a write still draining, however slowly, re-arms it)
// fires here, and what the connection was waiting for decides what happens:
// - a request body that stopped arriving (chunked or a short Content-Length) or a
//   request head cut off mid-way: 408 request_timeout in the OpenAI shape, closed;
//   before this, a stalled body held its connection for --request-timeout-s (300 s);
// - an answer the client stopped reading (its bytes sit in the socket): closed;
// - a body still trickling after its answer went (a 404 to a POST): closed, where
//   Node's request timeout used to write a second, unsolicited 408 after the answer;
// - nothing on the wire because the server is working (inference, an SSE stream
//   between events): left alone, the pipeline's own limits bound it;
// - idle before a first request or between kept-alive ones: closed.
// Node bounds the rest: a request head by headersTimeout, a whole request (a body
// trickling at 1 byte/s is never idle) by requestTimeout, a kept-alive connection by
// keepAliveTimeout; an upgraded (WebSocket) socket belongs to its protocol's handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { writeClientError } from './error-handling.js';

export interface ConnectionGuardOptions {
  /** Time a connection may stay silent while the server waits on its client. */
  idleTimeoutMs: number;
}

interface Exchange {
  request: IncomingMessage;
  response: ServerResponse;
  /** socket.bytesRead when this exchange's answer finished: more means a next request head began. */
  bytesAtEnd?: number;
}

/** The latest request on each connection. */
const exchanges = new WeakMap<Socket, Exchange>();
/** Connections being upgraded (@fastify/websocket routes the request through fastify, then ws takes the socket). */
const upgrading = new WeakSet<Socket>();

/** Whether the request now being read on `socket` was already answered (its body still arriving):
 *  a later timeout or parse error on it must close the connection, not write a second answer. */
export function answeredMidBody(socket: Socket): boolean {
  const exchange = exchanges.get(socket);
  return exchange !== undefined && exchange.response.headersSent && !exchange.request.complete;
}

/** Node's own error for a request not received in time, so the 408 goes out as its request timeout's does. */
const requestTimeout = () => Object.assign(new Error('request body or head stalled'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });

/** What a connection that went silent for the idle timeout is left with. */
function onIdle(socket: Socket): void {
  if (socket.destroyed) return;
  // An upgrade its protocol has not taken over by now (ws turns this timer off when it does) is stuck.
  if (upgrading.has(socket)) return void socket.destroy();
  const exchange = exchanges.get(socket);
  // Our side already ended (an answer written with Connection: close), or the client does not read what is queued.
  if (socket.writableEnded || socket.writableLength > 0) return void socket.destroy();
  if (exchange && !exchange.request.complete) {
    if (exchange.response.headersSent) return void socket.destroy(); // answered; the rest of its body stalled
    return writeClientError(requestTimeout(), socket);
  }
  if (exchange && exchange.bytesAtEnd === undefined) return; // the server is working on the answer
  // Between requests: a head begun and left unfinished is answered; a silent connection just closes.
  if (socket.bytesRead > (exchange?.bytesAtEnd ?? 0)) writeClientError(requestTimeout(), socket);
  else socket.destroy();
}

async function connectionGuard(app: FastifyInstance, { idleTimeoutMs }: ConnectionGuardOptions): Promise<void> {
  // A 'timeout' listener on the server replaces Node's default (destroy the socket) for every connection.
  app.server.setTimeout(idleTimeoutMs);
  app.server.on('timeout', onIdle);
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const exchange: Exchange = { request, response };
    exchanges.set(request.socket, exchange);
    response.once('finish', () => {
      exchange.bytesAtEnd = request.socket.bytesRead;
      // Node reads and drops the rest of a body answered early, under its keep-alive timer; it stays under ours.
      if (!request.complete) request.socket.setTimeout(idleTimeoutMs);
    });
  });
  // Not an 'upgrade' listener: one would make Node hand it every Upgrade request, routes with no WebSocket included.
  app.addHook('onRequest', async (request) => {
    if ((request.raw as IncomingMessage & { upgrade?: boolean }).upgrade) upgrading.add(request.raw.socket);
  });
}

export default fp(connectionGuard, { name: 'sgl-omni-connection-guard', fastify: '5.x' });
