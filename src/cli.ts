// The `sgl-omni` command: `serve`, `config check|explain`, and the subcommands
// that extension modules register: bench (src/eval) and those model folders declare in their sgl-omni.yaml (convert...).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, Help, InvalidArgumentError, Option } from 'commander';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ConfigError, explainPipelineConfig, loadPipelineConfig, OverrideArgsError, parseOverrideArgs, type Override, type ResolvedPipelineConfig } from './config/index.js';
import { builtinCatalogue, dependencyPackages } from './config/discovery.js';
import { ModelPipelineError, pipelineForModel } from './config/models.js';
import { applyServeFlags, stageNames, type ServeFlag, type ServeFlagUse } from './config/serve-flags.js';
import type { CloseOptions, Pipeline } from './runtime/contracts.js';
import type { Logger } from './runtime/logger.js';
import { ERR_SHUTTING_DOWN } from './runtime/errors.js';
import { createPipeline } from './runtime/pipeline.js';
import type { ServedPipeline } from './server/app.js';
import { compiledPath, repoRoot } from './util/paths.js';
import { EnvCommand } from './cli-env.js';

const DEFAULT_MAX_UPLOAD_MB = 25; // OpenAI's limit for audio uploads
/** After a forced shutdown failed the open requests, how long their 503s get to reach the clients. */
const FORCED_ANSWER_GRACE_MS = 2000;

/** Errors the user can fix from the message alone (ours, or any with an ERR_ code): printed without a stack. */
function isUserError(err: unknown): err is Error {
  if (err instanceof ConfigError || err instanceof OverrideArgsError || err instanceof ModelPipelineError) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('ERR_');
}

interface ServeFlags {
  modelPath?: string;
  servedModelName: string[];
  port: number;
  host: string;
  pipeline: string[];
  cacheDir?: string;
  apiKey?: string;
  maxUploadMb: number;
  requestTimeoutS?: number;
  idleTimeoutS?: number;
  shutdownTimeoutS?: number;
  shutdownDelayS: number;
  logLevel: string;
  /** Flags model folders add (serve-flags.ts), each with its value when given. */
  extra: ServeFlagUse[];
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
/** Loopback only by default (as whisper.cpp's server): a server open to the network is a choice. */
const DEFAULT_HOST = '127.0.0.1';
const isLoopback = (host: string) => host === 'localhost' || host === '::1' || host.startsWith('127.');

function intIn(min: number, max: number) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Leftover arguments of a command: dotted overrides plus exactly `operands` plain arguments. */
function overridesOf(cmd: Command, operands: number): { overrides: Override[]; operands: string[] } {
  const parsed = parseOverrideArgs(cmd.args);
  if (parsed.operands.length !== operands) {
    throw new OverrideArgsError(`expected ${operands} argument(s), got ${parsed.operands.length}: ${parsed.operands.join(' ') || '(none)'}`);
  }
  return parsed;
}

/** One `--pipeline FILE[=MODEL]` value: a pipeline YAML and, optionally, its own model. */
interface PipelineFlag {
  file: string;
  model?: string;
}

function parsePipelineFlag(value: string): PipelineFlag {
  const eq = value.indexOf('=');
  return eq < 0 ? { file: path.resolve(value) } : { file: path.resolve(value.slice(0, eq)), model: value.slice(eq + 1) || undefined };
}

/** With several pipelines, a `stages.<name>.…` override goes to those that have the stage (and must fit one). */
function overridesFor(file: string, overrides: Override[], several: boolean): Override[] {
  if (!several) return overrides;
  const stages = stageNames(file);
  return overrides.filter(([dotted]) => !dotted.startsWith('stages.') || stages.includes(dotted.split('.')[1]));
}

/** The served pipelines: each loaded, with its model (its own, --model-path's, or none) and model ids. */
async function servedPipelines(flags: ServeFlags, given: Override[], logger: Logger, cacheDir: string): Promise<(ServedPipeline & { drainTimeoutS: number })[]> {
  const { resolveModelPath } = await import('./hub/resolve-model.js');
  const models = new Map<string, Promise<string>>();
  const resolveModel = (model: string) => models.get(model) ?? models.set(model, resolveModelPath(model, { logger })).get(model)!;
  const wanted: PipelineFlag[] = flags.pipeline.length > 0 ? flags.pipeline.map(parsePipelineFlag) : [];
  if (wanted.length === 0) wanted.push({ file: pipelineForModel(await resolveModel(flags.modelPath!)) });
  // A model folder's serve flags may switch a pipeline to a variant and set a field of it.
  const switched = applyServeFlags(wanted.map((w) => w.file), flags.extra);
  switched.files.forEach((file, i) => { wanted[i].file = file; });
  const overrides = [...switched.overrides, ...given];
  for (const [dotted] of overrides) {
    if (wanted.length > 1 && dotted.startsWith('stages.') && !wanted.some((w) => overridesFor(w.file, [[dotted, '']], true).length > 0)) {
      throw new OverrideArgsError(`--${dotted}: no pipeline has a stage named '${dotted.split('.')[1]}'`);
    }
  }
  const served: (ServedPipeline & { drainTimeoutS: number })[] = [];
  for (const { file, model: own } of wanted) {
    const resolved = await loadPipelineConfig(file, { overrides: overridesFor(file, overrides, wanted.length > 1) });
    // A lone pipeline, or one with a stage of unknown needs (a bare module), takes --model-path when given.
    const takesModel = resolved.needsModel || wanted.length === 1 || resolved.stages.some((s) => !s.descriptor);
    const model = own ?? (takesModel ? flags.modelPath : undefined);
    if (resolved.needsModel && !model) throw new OverrideArgsError(`pipeline ${resolved.config.name} (${file}) loads a model: give --model-path, or --pipeline ${path.relative(process.cwd(), file)}=MODEL`);
    const modelPath = model === undefined ? undefined : await resolveModel(model);
    logger.info({ pipeline: resolved.config.name, file, modelPath }, 'starting pipeline');
    const pipeline = createPipeline(resolved, { modelPath, cacheDir, logger });
    // --served-model-name names --model-path's model; a pipeline's own model answers to the id given; one with none to its name.
    const names = model === undefined ? [resolved.config.name] : model === flags.modelPath && flags.servedModelName.length > 0 ? flags.servedModelName : [model];
    served.push({ pipeline, servedModelNames: names, drainTimeoutS: resolved.config.drain_timeout_s });
  }
  return served;
}

async function serve(flags: ServeFlags, overrides: Override[], apiKeySource: string | undefined): Promise<void> {
  // A usage error first, as commander reports a missing required option.
  if (flags.pipeline.length === 0 && !flags.modelPath) throw new OverrideArgsError('give --model-path (the pipeline is chosen from its config.json), or --pipeline FILE');
  checkApiKey(flags.apiKey, apiKeySource !== 'env');
  const logger = pino({ name: 'sgl-omni', level: flags.logLevel });
  const cacheDir = flags.cacheDir ?? path.join(os.homedir(), '.cache', 'sgl-omni');
  const served = await servedPipelines(flags, overrides, logger, cacheDir);
  const pipelines = served.map((s) => s.pipeline);

  const { buildServer } = await import('./server/app.js');
  let app: FastifyInstance;
  try {
    app = await buildServer({
      pipelines: served,
      apiKey: flags.apiKey,
      maxUploadBytes: flags.maxUploadMb * 1024 * 1024,
      requestTimeoutMs: flags.requestTimeoutS === undefined ? undefined : flags.requestTimeoutS * 1000,
      idleTimeoutMs: flags.idleTimeoutS === undefined ? undefined : flags.idleTimeoutS * 1000,
      logger,
    });
  } catch (err) {
    await closeAll(pipelines, { drainTimeoutMs: 0 });
    throw Object.assign(new Error(`cannot serve: ${(err as Error).message}`), { code: 'ERR_SERVE_ROUTES' });
  }
  const drainTimeoutS = flags.shutdownTimeoutS ?? Math.max(...served.map((s) => s.drainTimeoutS));

  const { failOpenRequests, markDraining } = await import('./server/shutdown.js');
  const stop = stopper(app, pipelines, logger, drainTimeoutS * 1000, () => failOpenRequests(app), () => markDraining(app));
  let signals = 0;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      signals++;
      if (signals > 2) {
        // Exiting now could end a worker inside onnxruntime, which aborts the process.
        logger.warn({ signal }, 'already stopping the workers (SIGKILL ends the process at once)');
        return;
      }
      logger.info({ signal, delayS: signals === 1 ? flags.shutdownDelayS : undefined }, signals === 1 ? 'shutting down: finishing the open requests' : 'shutting down now');
      if (signals === 1) stop.retire(flags.shutdownDelayS * 1000);
      else stop.force(`second ${signal}`);
    });
  }
  try {
    await app.listen({ port: flags.port, host: flags.host });
  } catch (err) {
    // Stop the workers before exiting: onnxruntime aborts the process when a worker is torn down mid-load.
    await closeAll(pipelines, { drainTimeoutMs: 0 });
    throw listenError(err, flags);
  }
  if (!isLoopback(flags.host) && !flags.apiKey) {
    logger.warn({ host: flags.host, port: flags.port }, `listening on ${flags.host} without an API key: anyone who can reach this port can use the server (set --api-key or SGL_OMNI_API_KEY)`);
  }
  Promise.all(pipelines.map((p) => p.ready())).then(
    () => logger.info('pipeline loaded; serving'),
    (err: Error & { code?: string }) => {
      if (err.code === ERR_SHUTTING_DOWN) return; // a signal came while it loaded: not a failure
      logger.error({ err }, 'pipeline failed to load');
      stop.drain(1);
    },
  );
}

/** An empty key would silently serve without authentication: the user meant one, or meant none. */
function checkApiKey(apiKey: string | undefined, fromFlag: boolean): void {
  if (apiKey === undefined || apiKey.trim() !== '') return;
  const source = fromFlag ? '--api-key' : 'SGL_OMNI_API_KEY';
  throw Object.assign(new Error(`${source} is empty: give a key, or leave ${source} unset to serve without authentication`), { code: 'ERR_EMPTY_API_KEY' });
}

/** A listen failure the user fixes with a flag, said in their terms. */
function listenError(err: unknown, { host, port }: ServeFlags): unknown {
  const why: Record<string, string> = {
    EADDRINUSE: `port ${port} is already in use on ${host} (pick another with --port)`,
    EACCES: `no permission to listen on port ${port} (ports below 1024 need privileges; use --port)`,
    EADDRNOTAVAIL: `--host ${host} is not an address of this machine`,
  };
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string' || !why[code]) return err;
  return Object.assign(new Error(`cannot listen: ${why[code]}`), { code: `ERR_LISTEN_${code}` });
}

/**
 * retire (the first signal): fail readiness at once, keep serving for delayMs so
 * load balancers and Kubernetes endpoints stop routing here, then drain.
 * drain: refuse new requests, let the open ones finish, stop the workers, exit.
 * force (a second signal, or the drain outlasting deadlineMs): fail every
 * request still open with a 503, give the answers a moment to leave, exit 1
 * once the workers stopped (process.exit ends worker threads, and one ended
 * inside onnxruntime or a module load aborts the process).
 */
/** Closes every pipeline; rejects with the first failure once all have ended. */
async function closeAll(pipelines: Pipeline[], opts?: CloseOptions): Promise<void> {
  const outcomes = await Promise.allSettled(pipelines.map((p) => p.close(opts)));
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed) throw failed.reason;
}

function stopper(app: FastifyInstance, pipelines: Pipeline[], logger: Logger, deadlineMs: number, failOpenRequests: () => number, markDraining: () => void) {
  let httpClosed: Promise<void> | undefined;
  let forcing = false;
  let delay: NodeJS.Timeout | undefined;
  const force = (reason: string) => {
    if (forcing) return;
    forcing = true;
    clearTimeout(delay);
    httpClosed ??= app.close().catch((err: Error) => logger.error({ err }, 'closing the HTTP server failed'));
    // Requests not in the pipeline yet (uploads still arriving) are answered here; failing the
    // pipeline's items makes the other handlers answer, and the HTTP close can complete.
    logger.warn({ reason, answered: failOpenRequests() }, 'failing the requests still open with 503');
    const stopped = closeAll(pipelines, { drainTimeoutMs: 0 }).catch((err: Error) => logger.error({ err }, 'stopping the pipeline failed'));
    const grace = new Promise((resolve) => setTimeout(resolve, FORCED_ANSWER_GRACE_MS));
    void Promise.all([stopped, Promise.race([httpClosed, grace])]).finally(() => process.exit(1));
  };
  const drain = (exitCode: number) => {
    if (httpClosed) return;
    httpClosed = app.close().catch((err: Error) => logger.error({ err }, 'closing the HTTP server failed'));
    const deadline = setTimeout(() => force(`shutdown deadline of ${deadlineMs / 1000} s passed`), deadlineMs);
    void httpClosed.then(async () => {
      if (forcing) return;
      // The deadline stays armed: stopping the workers counts against it too.
      const stopped = await closeAll(pipelines).then(
        () => true,
        (err: Error) => (logger.error({ err }, 'stopping the pipeline failed'), false),
      );
      clearTimeout(deadline);
      if (!forcing) process.exit(stopped ? exitCode : 1);
    });
  };
  const retire = (delayMs: number) => {
    markDraining();
    if (delayMs === 0) return drain(0);
    logger.info({ delayS: delayMs / 1000 }, 'readiness fails; still serving until the balancers notice');
    delay = setTimeout(() => {
      logger.info('pre-drain delay over: refusing new requests, finishing the open ones');
      drain(0);
    }, delayMs);
  };
  return { retire, drain, force };
}

function addServe(program: Command, extraFlags: ServeFlag[]): void {
  // EnvCommand: every option, the model folders' included, also reads SGL_OMNI_<FLAG> (cli-env.ts).
  const command = new EnvCommand('serve').copyInheritedSettings(program);
  program.addCommand(command);
  command
    .description('serve models and pipelines behind the OpenAI audio API (extra --dotted.flags override pipeline fields)')
    .option('--model-path <dir|hub-id>', 'checkpoint folder or Hugging Face model id, for the pipelines that load a model')
    .option('--served-model-name <name>', 'model id clients send for --model-path\'s model (repeatable; default: --model-path as given)', collect, [])
    .option('--port <n>', 'port to listen on', intIn(0, 65535), 8000)
    .option('--host <addr>', 'address to listen on (0.0.0.0: every interface, e.g. in a container)', DEFAULT_HOST)
    .option('--pipeline <file[=model]>', 'pipeline YAML, repeatable: each serves the routes it declares; =MODEL gives it its own model, a pipeline with no model stage needs none (default: chosen from --model-path\'s config.json architectures)', collect, [])
    .option('--cache-dir <dir>', 'folder for converted ONNX graphs (default: ~/.cache/sgl-omni; Hub downloads go to the Hugging Face cache, HF_HUB_CACHE)')
    .option('--api-key <key>', 'require this bearer token (prefer the variable SGL_OMNI_API_KEY: other users can read flags in the process list)')
    .option('--max-upload-mb <n>', 'largest accepted upload', intIn(1, 1 << 20), DEFAULT_MAX_UPLOAD_MB)
    .option('--request-timeout-s <s>', 'time allowed to receive a whole request, upload included (default: 300)', intIn(1, 86_400))
    .option('--idle-timeout-s <s>', 'time a connection may stay silent while the server waits on its client: an upload that stops arriving gets 408, an answer the client stops reading is dropped (default: 30)', intIn(1, 86_400))
    .option('--shutdown-timeout-s <s>', 'on SIGTERM, time open requests get to finish before they are failed with 503 (default: the pipelines\' longest drain_timeout_s)', intIn(0, 86_400))
    .option('--shutdown-delay-s <s>', 'on SIGTERM, time readiness (/readyz) fails while requests are still served, so load balancers stop routing here before the drain starts (behind Kubernetes or a balancer: longer than its probe interval x failures)', intIn(0, 3600), 0)
    .addOption(new Option('--log-level <level>', 'least severe log level written').choices(LOG_LEVELS).default('info'));
  const added = new Map<string, ServeFlag>();
  for (const flag of extraFlags) {
    const option = new Option(`--${flag.name} <${flag.value}>`, flag.description);
    try {
      command.addOption(option);
      added.set(option.attributeName(), flag);
    } catch (err) {
      process.stderr.write(`sgl-omni: skipping serve flag --${flag.name} of ${path.relative(repoRoot(), flag.file)}: ${(err as Error).message}\n`);
    }
  }
  command
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (flags: Omit<ServeFlags, 'extra'> & Record<string, unknown>, cmd: Command) => {
      const extra = [...added].filter(([key]) => typeof flags[key] === 'string').map(([key, flag]) => ({ flag, value: flags[key] as string }));
      return serve({ ...flags, extra }, overridesOf(cmd, 0).overrides, cmd.getOptionValueSource('apiKey'));
    });
}

/** The serve flags the model folders and the project's plugin packages declare; a broken catalogue is reported by addExtensions. */
function declaredServeFlags(): ServeFlag[] {
  let builtin: ServeFlag[] = [];
  try {
    builtin = [...builtinCatalogue().serveFlags.values()];
  } catch {
    // reported by addExtensions
  }
  const packages = dependencyPackages(process.cwd(), (dir, err) => process.stderr.write(`sgl-omni: skipping the serve flags of ${dir}: ${err.message}\n`));
  return [...builtin, ...packages.flatMap((p) => p.serveFlags)];
}

function addConfig(program: Command): void {
  const config = program.command('config').description('check or explain pipeline YAML files');
  const subcommand = (name: string, description: string, run: (resolved: ResolvedPipelineConfig, file: string) => string) =>
    config
      .command(name)
      .argument('<file>', 'pipeline YAML')
      .description(`${description} (extra --dotted.flags override fields)`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(async (_file: string, _flags: object, cmd: Command) => {
        const { overrides, operands } = overridesOf(cmd, 1);
        process.stdout.write(run(await loadPipelineConfig(operands[0], { overrides }), operands[0]));
      });
  subcommand('check', 'validate a pipeline: schema, graph, plugins and their options', (resolved, file) =>
    `${file}: ok (pipeline ${resolved.config.name}: ${resolved.stages.map((s) => s.name).join(' → ')})\n`);
  subcommand('explain', 'print the resolved pipeline with every default filled in', explainPipelineConfig);
}

/** Imports the framework's bench command and each model folder's CLI module (discovery.ts), letting each add its commands. */
async function addExtensions(program: Command): Promise<void> {
  let discovered: string[] = [];
  try {
    discovered = builtinCatalogue().cli;
  } catch (err) {
    process.stderr.write(`sgl-omni: skipping model CLI extensions: ${(err as Error).message}\n`);
  }
  for (const file of [compiledPath('src/eval/cli.ts'), ...discovered]) {
    const rel = path.relative(repoRoot(), file);
    try {
      const mod = (await import(pathToFileURL(file).href)) as { registerCommands?: (program: Command) => void };
      if (typeof mod.registerCommands !== 'function') throw new Error('it exports no registerCommands(program)');
      mod.registerCommands(program);
    } catch (err) {
      process.stderr.write(`sgl-omni: skipping CLI extension ${rel} (${file}): ${(err as Error).message.split('\n')[0]}\n`);
    }
  }
}

/** The whole command line, the model folders' commands and flags included, ready to parse. */
export async function buildProgram(): Promise<Command> {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot(), 'package.json'), 'utf8')) as { version: string };
  const program = new Command('sgl-omni').description('serve speech models behind the OpenAI audio API').version(pkg.version);
  // Commander's help does not say which options are required; subcommands inherit this.
  program.configureHelp({
    optionDescription: (option) => {
      const text = Help.prototype.optionDescription.call(new Help(), option);
      return option.mandatory ? `${text} (required)` : text;
    },
  });
  addServe(program, declaredServeFlags());
  addConfig(program);
  await addExtensions(program);
  return program;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (!isUserError(err)) throw err;
    process.stderr.write(`sgl-omni: ${err.message}\n`);
    process.exitCode = 1;
  }
}
