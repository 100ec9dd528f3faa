// Reads checkpoint tensors as float64 for the reference forward pass.
import { SafetensorsCheckpoint } from '../../common/weights/safetensors.js';
import type { Tensor64 } from './math.js';

export class ReferenceWeights {
  private readonly ckpt: SafetensorsCheckpoint;

  /** `resolve` maps a canonical (original-layout) tensor name to the name on disk. */
  constructor(dir: string, private readonly resolve: (canonical: string) => string = (n) => n) {
    this.ckpt = new SafetensorsCheckpoint(dir);
  }

  get(name: string): Tensor64 {
    const actual = this.resolve(name);
    return { data: Float64Array.from(this.ckpt.float32(actual)), shape: this.ckpt.info(actual).shape };
  }
}
