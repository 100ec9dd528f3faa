// A pipeline's `routes:` → the API handler serving each path. A route is
// `{ path, handler }` (a built-in handler, a descriptor path or a package, as
// plugins.ts resolves them), or just a path when a built-in handler names it as
// its default (`/v1/audio/transcriptions` → openai-transcription). Unknown
// handlers and paths no handler claims are config errors listing what exists.
import type { ConfigProblem } from './errors.js';
import type { HandlerDescriptor } from './descriptors.js';
import { builtinCatalogue } from './discovery.js';

export type RouteConfig = string | { path: string; handler: string };

export interface ResolvedRoute {
  path: string;
  handler: string;
  /** Absolute path of the handler module the server imports. */
  module: string;
  descriptor: HandlerDescriptor;
  /** Dotted path of the route in the pipeline file, for problems. */
  at: string;
}

/** `resolve` finds a `handler:` value (throwing with where it looked); by default only among `handlers`. */
export function resolveRoutes(
  routes: RouteConfig[],
  handlers: Map<string, HandlerDescriptor>,
  resolve: (spec: string) => HandlerDescriptor = (spec) => builtinHandler(spec, handlers),
): { routes: ResolvedRoute[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const resolved: ResolvedRoute[] = [];
  const seen = new Set<string>();
  routes.forEach((route, i) => {
    const at = `routes.${i}`;
    const path = typeof route === 'string' ? route : route.path;
    if (seen.has(path)) problems.push({ path: at, message: `${path} is listed twice` });
    seen.add(path);
    let descriptor: HandlerDescriptor | undefined;
    if (typeof route === 'string') {
      descriptor = defaultHandler(path, handlers);
      if (!descriptor) problems.push({ path: at, message: `no handler serves ${path} by default (defaults: ${defaults(handlers)}); write { path: ${path}, handler: <name> } with a handler from: ${[...handlers.keys()].join(', ')}` });
    } else {
      try {
        descriptor = resolve(route.handler);
      } catch (err) {
        problems.push({ path: `${at}.handler`, message: (err as Error).message });
      }
    }
    if (!descriptor) return;
    resolved.push({ path, handler: descriptor.name, module: descriptor.module, descriptor, at });
  });
  return { routes: resolved, problems };
}

function builtinHandler(spec: string, handlers: Map<string, HandlerDescriptor>): HandlerDescriptor {
  const found = handlers.get(spec);
  if (!found) throw new Error(`unknown handler '${spec}' (handlers: ${[...handlers.keys()].join(', ')})`);
  return found;
}

function defaultHandler(path: string, handlers: Map<string, HandlerDescriptor>): HandlerDescriptor | undefined {
  return [...handlers.values()].find((h) => h.paths.includes(path));
}

function defaults(handlers: Map<string, HandlerDescriptor>): string {
  return [...handlers.values()].flatMap((h) => h.paths.map((p) => `${p} → ${h.name}`)).join(', ') || 'none';
}

/** One route served by a built-in handler, for a Pipeline made without a YAML file (tests, embedding). */
export function builtinRoute(route: RouteConfig): ResolvedRoute {
  const { routes, problems } = resolveRoutes([route], builtinCatalogue().handlers);
  if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('; '));
  return routes[0];
}
