// Runs a stage's work item by item, so one bad upload fails only its own request.
import type { ItemContext, ItemResult, Payload } from '../../src/runtime/contracts.js';
import { toErrorInfo } from '../../src/runtime/errors.js';

export function processEach(
  stage: string,
  items: { payload: Payload; ctx: ItemContext }[],
  work: (payload: Payload, ctx: ItemContext) => Payload | Promise<Payload>,
): Promise<ItemResult[]> {
  return Promise.all(
    items.map(async ({ payload, ctx }): Promise<ItemResult> => {
      try {
        return { ok: true, payload: await work(payload, ctx) };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err, stage) };
      }
    }),
  );
}
