// onnxruntime-node sessions for every model runner: device string → execution
// provider, thread count, full graph optimisation, the thread spinning policy,
// which precisions a device runs, and a clear error when the CUDA provider
// libraries were never installed.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import ort from 'onnxruntime-node';

export class DeviceError extends Error {
  readonly code = 'ERR_DEVICE';
}

export const CUDA_INSTALL_HINT =
  'The CUDA execution provider of onnxruntime-node is not installed (its libraries are fetched at install time). ' +
  'Run `ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js` (package.json denies that script to npm) ' +
  '(CUDA 12 and cuDNN 9 must be on the library path), or use --device cpu.';

export interface ParsedDevice { kind: 'cpu' | 'cuda'; index: number }

export function parseDevice(device: string): ParsedDevice {
  if (device === 'cpu') return { kind: 'cpu', index: 0 };
  const m = /^cuda(?::(\d+))?$/.exec(device);
  if (!m) throw new DeviceError(`unknown device "${device}": use "cpu" or "cuda:N"`);
  return { kind: 'cuda', index: m[1] ? Number(m[1]) : 0 };
}

/** Throws when the device cannot run graphs stored at `precision` (fp16 kernels exist only on CUDA). */
export function checkPrecision(precision: string, device: string): void {
  if (precision === 'fp16' && parseDevice(device).kind !== 'cuda') {
    throw new DeviceError(`precision fp16 needs a CUDA device (got "${device}"); on cpu use fp32, int8 or int4`);
  }
}

/** Whether the CUDA provider library sits next to the onnxruntime-node binding (the install step fetches it). */
function cudaProviderInstalled(): boolean {
  const pkg = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const dir = path.join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return fs.existsSync(path.join(dir, lib));
}

/**
 * How idle pool threads wait. 'never': they sleep (the default: encoder and decoder workers share the
 * cores, and a pool spinning between runs starves the other session; measured 1.5-4x slower decode
 * steps next to a busy neighbour). 'during-runs': they spin between the kernels of one run and stop
 * when it ends (onnxruntime's session.force_spinning_stop), for a decode step's ~1,200 small kernels
 * (issue 18: spinning cut the 0.6B int4 step from 18.2 to 14.8 ms) without holding the cores between steps.
 */
export type SpinPolicy = 'never' | 'during-runs';

export async function createSession(modelPath: string, device: string, threads: number, spin: SpinPolicy = 'never'): Promise<ort.InferenceSession> {
  const dev = parseDevice(device);
  if (dev.kind === 'cuda' && !cudaProviderInstalled()) throw new DeviceError(CUDA_INSTALL_HINT);
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: spin === 'never'
      ? { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } }
      : { session: { intra_op: { allow_spinning: '1' }, inter_op: { allow_spinning: '0' }, force_spinning_stop: '1' } },
    executionProviders: dev.kind === 'cpu' ? ['cpu'] : [{ name: 'cuda', deviceId: dev.index }, 'cpu'],
  };
  try {
    return await ort.InferenceSession.create(modelPath, options);
  } catch (err) {
    const msg = String((err as Error)?.message ?? err);
    if (dev.kind === 'cuda' && /cuda|shared library|provider/i.test(msg)) throw new DeviceError(`${CUDA_INSTALL_HINT} (onnxruntime said: ${msg})`);
    throw err;
  }
}
