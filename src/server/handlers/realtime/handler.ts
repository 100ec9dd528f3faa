// Handler `openai-realtime`: OpenAI's realtime API for transcription sessions over
// a WebSocket (@fastify/websocket, on ws) at the path the pipeline declares
// (/v1/realtime). The upgrade request passes the server's hooks like any request:
// the API key (Authorization: Bearer, or the browser's `openai-insecure-api-key.KEY`
// subprotocol, auth.ts), refusal while closing. `?model=` names a served model (the
// SDK always sends one); `?intent=transcription` selects the beta event names.
// A session past max_sessions, or naming an unknown model, gets an error event and
// is closed (1013, 1008); so is one arriving while the server is behind, when the
// newest sessions may also be shed (load.ts; their open turns fail). On server close, sessions finish their
// open turns first.
// The route's sessions share the admission of their partials (partials.ts
// PartialGate), the slots of their final turns in the pipeline (max_turns_running),
// and the remembered verdicts on `language` values (language-check.ts).
import websocket from '@fastify/websocket';
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { RouteHandler, RouteContext } from '../types.js';
import { Admission } from '../../../runtime/admission.js';
import { AudioPool } from './audio-pool.js';
import { errorEvent, RealtimeError } from './events.js';
import { LanguageCheck } from './language-check.js';
import { readLimits } from './limits.js';
import { RealtimeLoad, type LoadFigures } from './load.js';
import { RealtimeMetrics } from './metrics.js';
import { PartialGate } from './partials.js';
import { CLOSE, RealtimeSession } from './session.js';

/** Hard cap of one frame; ws closes with 1009 past it. Events past limits.max_event_bytes get an error event instead. */
const MAX_FRAME_BYTES = 16 * 2 ** 20;
/** The subprotocol browsers offer besides the key (OpenAIRealtimeWebSocket sends ['realtime', 'openai-insecure-api-key.KEY']). */
const PROTOCOL = 'realtime';

function refuse(socket: WebSocket, code: number, error: RealtimeError): void {
  socket.send(JSON.stringify(errorEvent(error)));
  socket.close(code, error.code);
}

async function realtimeRoute(app: FastifyInstance, route: RouteContext): Promise<void> {
  const limits = readLimits();
  const metrics = RealtimeMetrics.of(route.metrics);
  const audio = new AudioPool(Math.max(1, Math.round(limits.audio_threads)));
  const sessions = new Set<RealtimeSession>();
  // Newest first: the sessions that came last give their places back, the older ones keep their service.
  // The oldest is never shed: a server that cannot serve one session is slow, not overloaded.
  const shed = (fraction: number, why: LoadFigures) => {
    const active = [...sessions].filter((s) => !s.ending);
    const count = Math.max(0, Math.min(active.length - 1, Math.ceil(active.length * fraction)));
    const shedding = active.slice(active.length - count);
    for (const session of shedding) void session.shed();
    metrics.shed.inc(count);
    if (count > 0) app.log.warn({ shed: count, sessions: active.length, ...why }, 'realtime sessions shed: the server is behind');
    return shedding;
  };
  const load = new RealtimeLoad(limits, shed);
  // Final turns past max_turns_running wait here in commit order (a session's turns are never more than real time allows).
  const turnSlots = new Admission({ max_running: limits.max_turns_running, max_waiting: Number.MAX_SAFE_INTEGER, retry_after_s: 1 });
  const gate = new PartialGate({ pipeline: route.pipeline, maxRunning: limits.max_partials_running, gauge: metrics.partialsRunning, backoffGauge: metrics.partialBackoff, load, yieldS: limits.partial_interval_s });
  const languages = new LanguageCheck(route.pipeline);

  await app.register(websocket, {
    options: {
      maxPayload: MAX_FRAME_BYTES,
      // Never echo the key: answer with `realtime` when offered (a browser fails a connection whose offered protocols get no answer).
      handleProtocols: (offered: Set<string>) => (offered.has(PROTOCOL) ? PROTOCOL : false),
    },
    // Sessions finish their open turns, then close (1001); the server's close waits for the sockets.
    preClose: async function () {
      await Promise.allSettled([...sessions].map((s) => s.shutdown()));
    },
  });
  app.addHook('onClose', async () => {
    load.close();
    await audio.destroy();
  });

  app.get(route.path, { websocket: true }, (socket, request) => {
    const query = request.query as { model?: string; intent?: string };
    if (sessions.size >= limits.max_sessions) {
      metrics.refused.inc({ reason: 'max_sessions' });
      return refuse(socket, CLOSE.tryLater, new RealtimeError('too_many_sessions', `The server has ${limits.max_sessions} sessions open, its limit; retry later.`, null, 'server_error'));
    }
    if (load.behind) {
      metrics.refused.inc({ reason: 'overloaded' });
      return refuse(socket, CLOSE.tryLater, new RealtimeError('server_overloaded', 'The server is behind with the turns of the sessions it has open; retry later.', null, 'server_error'));
    }
    let model: string;
    try {
      model = route.catalog.resolve(query.model);
    } catch (err) {
      metrics.refused.inc({ reason: 'model_not_found' });
      return refuse(socket, CLOSE.policy, new RealtimeError('model_not_found', (err as Error).message, 'model'));
    }
    const generation = query.intent === 'transcription' ? 'beta' : 'ga';
    const session = new RealtimeSession({ socket, pipeline: route.pipeline, catalog: route.catalog, audio, metrics, limits, gate, load, turnSlots, languages, log: request.log, generation, model });
    sessions.add(session);
    metrics.sessions.inc();
    request.log.info({ session: session.id, generation, model }, 'realtime session opened');
    socket.once('close', (code: number) => {
      sessions.delete(session);
      metrics.sessions.dec();
      request.log.info({ session: session.id, code, turnsOpen: session.openTurns }, 'realtime session closed');
    });
  });
}

const handler: RouteHandler = {
  name: 'openai-realtime',
  async mount(app, route) {
    await app.register(realtimeRoute, route);
  },
};
export default handler;
