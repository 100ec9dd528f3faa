// One log line per request, written when its answer is done: method, url,
// status, time, request id and the fields its route handler noted (a
// handler's measure of its work). The request id is the X-Request-Id the
// answer carries: the client's own when sane, else a fresh UUID; every line
// logged through request.log (fastify's pino child) carries it as reqId.
// Fastify writes two lines per request (arrival and completion) and cannot add
// fields; its LogController is the documented way to change them. Arrivals
// and probes (/health, /metrics) log at debug: a load balancer polling every
// few seconds would otherwise bury the requests.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { onClientGone } from './client-abort.js';
import { clientErrorAnswer } from './error-handling.js';
import { STATUS_CLIENT_CLOSED, type ApiError } from './errors.js';

export const REQUEST_ID_HEADER = 'x-request-id';
/** What a client's id may be: 1-128 printable characters of the kinds UUIDs, ULIDs and trace ids use (no spaces, quotes or control characters, which would forge log fields or headers). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Request ids for fastify's genReqId: the client's X-Request-Id when sane and not already in
 * flight on this server (stages see this id, and a log search by it must find one request),
 * else a UUID. `release` when the answer is done.
 */
export class RequestIds {
  private readonly inFlight = new Set<string>();

  readonly generate = (req: IncomingMessage): string => {
    const sent = req.headers[REQUEST_ID_HEADER];
    const id = typeof sent === 'string' && SANE_REQUEST_ID.test(sent) && !this.inFlight.has(sent) ? sent : randomUUID();
    this.inFlight.add(id);
    return id;
  };

  /** Echoes the id on the answer and frees it once the response is over (sent, failed or abandoned). */
  readonly onRequest = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    reply.header(REQUEST_ID_HEADER, request.id);
    reply.raw.once('close', () => this.inFlight.delete(request.id));
  };
}

const noted = new WeakMap<FastifyRequest, Record<string, unknown>>();
const failures = new WeakMap<FastifyRequest, ApiError>();

/** Adds fields to the request's log line (a handler's measure of its work, e.g. { audioSeconds }). */
export function noteLogFields(request: FastifyRequest, fields: Record<string, unknown>): void {
  noted.set(request, { ...noted.get(request), ...fields });
}

/** Records why a request failed (its error code, message and param go on its log line). */
export function noteFailure(request: FastifyRequest, err: ApiError): void {
  failures.set(request, err);
}

export class RequestLogController extends LogController {
  private readonly probes: Set<string>;

  /** `probePaths` log at debug instead of info. */
  constructor(probePaths: string[]) {
    super();
    this.probes = new Set(probePaths);
  }

  override incomingRequest(request: FastifyRequest): void {
    request.log.debug({ req: { method: request.method, url: request.url } }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    this.write(request, reply, reply.statusCode, error ? 'request errored' : 'request completed', error);
  }

  /** The line of a request whose client left before its answer was written: fastify has none. */
  clientLeft(request: FastifyRequest, reply: FastifyReply): void {
    // The status /metrics counts it as: a timed-out upload's 408, else 499.
    this.write(request, reply, clientErrorAnswer(request.raw.socket)?.status ?? STATUS_CLIENT_CLOSED, 'request ended: the client left');
  }

  private write(request: FastifyRequest, reply: FastifyReply, statusCode: number, msg: string, err?: Error | null): void {
    const level = err ? 'error' : this.probes.has(request.url.split('?', 1)[0]) ? 'debug' : 'info';
    const failure = failures.get(request);
    request.log[level](
      {
        req: { method: request.method, url: request.url },
        res: { statusCode },
        remoteAddress: request.ip,
        responseTime: Math.round(reply.elapsedTime * 10) / 10,
        ...noted.get(request),
        ...(failure ? { error: { code: failure.code, message: failure.message, param: failure.param } } : {}),
        ...(err ? { err } : {}),
      },
      msg,
    );
  }
}

/** Adds the line fastify does not write: a request whose client went away mid-way. */
async function clientLeftLog(app: FastifyInstance, { controller }: { controller: RequestLogController }): Promise<void> {
  app.addHook('onRequest', async (request, reply) => onClientGone(reply, () => controller.clientLeft(request, reply)));
}

export default fp(clientLeftLog, { name: 'sgl-omni-request-log', fastify: '5.x' });
