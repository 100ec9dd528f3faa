// Cross-field rules a plugin descriptor declares about its stage's resolved
// config, checked at load instead of when a worker starts (or never):
//   assert: "concurrency >= pipeline.admission.max_running"
//   if: "options.precision == 'fp16'"   assert: "device ~ /^cuda:/"
// An operand is a number, a 'quoted string', a /regex/ (right of ~ only), null
// (a field not set: `options.model_path == null`) or a field: dotted, relative
// to the stage, or to the pipeline with `pipeline.`.
import type { ConfigProblem } from './errors.js';
import type { Rule } from './descriptors.js';

const OPS = ['==', '!=', '>=', '<=', '>', '<', '~'] as const;
type Op = (typeof OPS)[number];

type Operand = { field: string } | { value: number | string | null } | { regex: RegExp };
interface Expression {
  left: Operand;
  op: Op;
  right: Operand;
  text: string;
}

const FIELD = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

function operand(raw: string): Operand {
  if (raw === 'null') return { value: null };
  if (/^-?\d+(\.\d+)?$/.test(raw)) return { value: Number(raw) };
  if (/^'[^']*'$/.test(raw)) return { value: raw.slice(1, -1) };
  if (/^\/.*\/$/.test(raw)) return { regex: new RegExp(raw.slice(1, -1)) };
  if (FIELD.test(raw)) return { field: raw };
  throw new Error(`'${raw}' is not a number, a 'string', a /regex/, null or a field`);
}

/** Parses `left op right`; throws with the reason when the text is not one. */
export function parseExpression(text: string): Expression {
  const match = /^\s*(\S+)\s*(==|!=|>=|<=|>|<|~)\s*(.+?)\s*$/.exec(text);
  if (!match) throw new Error(`'${text}' is not '<field> <${OPS.join('|')}> <value or field>'`);
  const [, l, op, r] = match;
  const left = operand(l);
  const right = operand(r);
  if ('regex' in left || ('regex' in right) !== (op === '~')) throw new Error(`'${text}': ~ takes a field on the left and a /regex/ on the right, and only ~ takes a regex`);
  return { left, op: op as Op, right, text };
}

/** The values a rule reads: the stage's own config and the pipeline's. */
export interface RuleScope {
  stage: Record<string, unknown>;
  pipeline: Record<string, unknown>;
}

function dig(root: unknown, path: string[]): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined), root);
}

function read(o: Operand, scope: RuleScope): unknown {
  if ('value' in o) return o.value;
  if ('regex' in o) return o.regex;
  const [head, ...rest] = o.field.split('.');
  return head === 'pipeline' ? dig(scope.pipeline, rest) : dig(scope.stage, [head, ...rest]);
}

function holds(e: Expression, scope: RuleScope): boolean {
  const a = read(e.left, scope);
  const b = read(e.right, scope);
  switch (e.op) {
    // `== null`: the field is not set
    case '==': return b === null ? a === undefined || a === null : a === b;
    case '!=': return b === null ? a !== undefined && a !== null : a !== b;
    case '~': return typeof a === 'string' && (b as RegExp).test(a);
    case '>=': return (a as number) >= (b as number);
    case '<=': return (a as number) <= (b as number);
    case '>': return (a as number) > (b as number);
    case '<': return (a as number) < (b as number);
  }
}

/** Whether a condition (`needs_model: "options.model_path == null"`) holds for one stage. */
export function conditionHolds(text: string, scope: RuleScope): boolean {
  return holds(parseExpression(text), scope);
}

/** `field (value)` for each field an expression reads, to show what failed. */
function describe(e: Expression, scope: RuleScope): string {
  const fields = [e.left, e.right].filter((o): o is { field: string } => 'field' in o);
  return fields.map((o) => `${o.field} is ${JSON.stringify(read(o, scope))}`).join(', ');
}

/** Checks `rules` against one stage; problems sit at the first field of the assertion. */
export function checkRules(rules: Rule[], scope: RuleScope, stagePath: string, plugin: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const rule of rules) {
    const condition = rule.if === undefined ? undefined : parseExpression(rule.if);
    if (condition && !holds(condition, scope)) continue;
    const assertion = parseExpression(rule.assert);
    if (holds(assertion, scope)) continue;
    const at = 'field' in assertion.left ? assertion.left.field : '';
    const path = at.startsWith('pipeline.') ? at.slice('pipeline.'.length) : [stagePath, at].filter(Boolean).join('.');
    const because = condition ? ` when ${condition.text}` : '';
    problems.push({ path, message: `${plugin} requires ${assertion.text}${because} (${describe(assertion, scope)}): ${rule.why}` });
  }
  return problems;
}
