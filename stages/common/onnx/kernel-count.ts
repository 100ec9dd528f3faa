// Kernels per run of a graph, counted without running it: onnxruntime saves the
// graph it will execute after its own optimisations (fusions, constant folding,
// layout changes) and every node of that graph is one kernel launch per run on
// the CPU provider. The count depends on the graph's structure only, not on the
// machine's load, so tests can assert it (issue 18: the 0.6B decode step was
// 1,164 kernels, about 5.5 ms of each step outside the matmuls).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';

export interface KernelCount {
  total: number;
  /** Nodes per `domain:opType` (the ONNX domain is empty), most frequent first. */
  byOp: [string, number][];
}

/** Nodes of `modelPath` after onnxruntime's full (level 'all') optimisation on the CPU provider. */
export async function optimizedKernelCount(modelPath: string): Promise<KernelCount> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-count-'));
  const out = path.join(dir, 'optimized.onnx');
  try {
    const session = await ort.InferenceSession.create(modelPath, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      optimizedModelFilePath: out,
      // weights go to a side file, so a multi-gigabyte graph stays under protobuf's 2 GiB
      extra: { session: { optimized_model_external_initializers_file_name: 'weights.bin', optimized_model_external_initializers_min_size_in_bytes: '1024' } },
      logSeverityLevel: 3, // the saved graph's "hardware specific" warning is expected here
    });
    await session.release();
    const model = onnxProto.onnx.ModelProto.decode(fs.readFileSync(out));
    const counts = new Map<string, number>();
    for (const n of model.graph?.node ?? []) {
      const key = `${n.domain ?? ''}:${n.opType}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return { total: model.graph?.node?.length ?? 0, byOp: [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
