// The stage graph is a chain from `entry` following `next` until a stage without
// one (the terminal stage). Every stage must be on that chain.
import type { ConfigProblem } from './errors.js';
import type { PipelineConfig } from './types.js';

/** Stage names in graph order, entry first, or the problems that prevent ordering them. */
export function orderStages(config: PipelineConfig): { order: string[]; problems: ConfigProblem[] } {
  const names = Object.keys(config.stages);
  const problems: ConfigProblem[] = [];
  for (const [name, stage] of Object.entries(config.stages)) {
    if (stage.next !== undefined && !(stage.next in config.stages)) {
      problems.push({ path: `stages.${name}.next`, message: `no stage named '${stage.next}' (stages: ${names.join(', ')})` });
    }
  }
  if (!(config.entry in config.stages)) {
    problems.push({ path: 'entry', message: `no stage named '${config.entry}' (stages: ${names.join(', ')})` });
  }
  if (problems.length > 0) return { order: [], problems };

  const order: string[] = [];
  for (let name: string | undefined = config.entry; name !== undefined; name = config.stages[name].next) {
    if (order.includes(name)) {
      const last = order[order.length - 1];
      problems.push({ path: `stages.${last}.next`, message: `makes a cycle: ${[...order.slice(order.indexOf(name)), name].join(' → ')} (the last stage must have no next)` });
      return { order: [], problems };
    }
    order.push(name);
  }
  for (const name of names) {
    if (!order.includes(name)) {
      problems.push({ path: `stages.${name}`, message: `unreachable from entry '${config.entry}' (graph: ${order.join(' → ')})` });
    }
  }
  return { order, problems };
}
