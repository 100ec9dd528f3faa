// client-abort.ts: the request log, the metrics and the route each ask whether the
// client left; the response gets one 'finish' and one 'close' listener whoever
// asks (a pair each took a streamed response past Node's limit of 10 'close'
// listeners), and a close after the response finished is not a client leaving.
import { EventEmitter } from 'node:events';
import t from 'tap';
import type { FastifyReply } from 'fastify';
import { clientAbortSignal, onClientGone } from '../src/server/client-abort.js';

const fakeReply = () => {
  const raw = Object.assign(new EventEmitter(), { writableFinished: false });
  return { raw, reply: { raw } as unknown as FastifyReply };
};

t.test('one pair of listeners per response; every asker told once when the client leaves', async (t) => {
  const { raw, reply } = fakeReply();
  const told: string[] = [];
  onClientGone(reply, () => told.push('log'));
  onClientGone(reply, () => told.push('metrics'));
  const signal = clientAbortSignal(reply);
  t.equal(clientAbortSignal(reply), signal, 'the same signal for every asker');
  t.same([raw.listenerCount('close'), raw.listenerCount('finish')], [1, 1]);
  raw.emit('close');
  raw.emit('close');
  t.same(told, ['log', 'metrics'], 'in the order they asked, once');
  t.ok(signal.aborted);
  t.match(signal.reason, { code: 'client_closed_request' });
});

t.test('a close after the response finished is not the client leaving', async (t) => {
  const { raw, reply } = fakeReply();
  let told = 0;
  onClientGone(reply, () => told++);
  raw.emit('finish');
  raw.emit('close');
  t.equal(told, 0);
  t.notOk(clientAbortSignal(reply).aborted);
});
