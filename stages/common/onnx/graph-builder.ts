// Low-level ONNX graph construction on top of onnx-proto. Model files describe
// their graphs through block builders; this module only knows nodes, values and
// initializers. Large initializers stream into one external-data file so the
// protobuf stays far below its 2 GiB limit and onnxruntime can mmap the weights.
import fs from 'node:fs';
import path from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
export type DataType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

const DTYPE_CODE: Record<DataType, number> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10,
};
/** Initializers smaller than this stay inline in the protobuf. */
const INLINE_LIMIT = 1024;
const ALIGN = 64;

export type Dim = number | string;
export type AttrValue = number | string | number[] | Float32Array | { float: number } | { floats: number[] };

export interface OpsetImport { domain: string; version: number }

export class GraphBuilder {
  private nodes: onnxProto.onnx.INodeProto[] = [];
  private inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;
  private dataFd: number | null = null;
  private dataOffset = 0;
  private dataFileName = '';
  private readonly names = new Set<string>();

  constructor(
    readonly graphName: string,
    readonly opsets: OpsetImport[] = [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
  ) {}

  /** Opens the external-data file; must be called before adding large initializers. */
  openExternalData(filePath: string): void {
    this.dataFileName = path.basename(filePath);
    this.dataFd = fs.openSync(filePath, 'w', 0o644);
    this.dataOffset = 0;
  }

  /** A fresh value name with a readable prefix. */
  fresh(prefix: string): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.names.has(name)) name = `${prefix}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  input(name: string, type: DataType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, type, shape));
    this.names.add(name);
    return name;
  }

  output(name: string, type: DataType, shape: Dim[]): string {
    this.outputs.push(valueInfo(name, type, shape));
    return name;
  }

  /**
   * Gives the value `from` (a node output, not yet a graph output) the name `to` everywhere it
   * appears so far, so a graph output needs no Identity node (each one is a kernel per run).
   */
  rename(from: string, to: string): string {
    if (this.names.has(to)) throw new Error(`value name ${to} is taken`);
    if (!this.nodes.some((n) => n.output?.includes(from))) throw new Error(`${from} is not a node output`);
    for (const n of this.nodes) {
      n.input = n.input?.map((x) => (x === from ? to : x));
      n.output = n.output?.map((x) => (x === from ? to : x));
    }
    this.names.add(to);
    return to;
  }

  /** Adds a node and returns its output names (fresh unless given). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: { outputs?: number | string[]; domain?: string; name?: string } = {}): string[] {
    const outs = Array.isArray(opts.outputs)
      ? opts.outputs
      : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType, domain: opts.domain ?? '', input: inputs, output: outs,
      name: opts.name ?? this.fresh(`n_${opType}`),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Single-output convenience form of op(). */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, opts: { domain?: string; output?: string } = {}): string {
    return this.op(opType, inputs, attrs, { domain: opts.domain, outputs: opts.output ? [opts.output] : 1 })[0];
  }

  /** Adds a constant tensor; large ones go to the external-data file. */
  initializer(name: string, type: DataType, dims: number[], data: ArrayBufferView): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const tensor: onnxProto.onnx.ITensorProto = { name, dataType: DTYPE_CODE[type], dims };
    if (bytes.byteLength < INLINE_LIMIT || this.dataFd === null) {
      tensor.rawData = Uint8Array.from(bytes);
    } else {
      const pad = (ALIGN - (this.dataOffset % ALIGN)) % ALIGN;
      if (pad) fs.writeSync(this.dataFd, new Uint8Array(pad));
      this.dataOffset += pad;
      fs.writeSync(this.dataFd, bytes);
      tensor.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      tensor.externalData = [
        { key: 'location', value: this.dataFileName },
        { key: 'offset', value: String(this.dataOffset) },
        { key: 'length', value: String(bytes.byteLength) },
      ];
      this.dataOffset += bytes.byteLength;
    }
    this.initializers.push(tensor);
    this.names.add(name);
    return name;
  }

  /** Small constants: scalars or short vectors, always inline. */
  constF(values: number[] | number, dims?: number[]): string {
    const arr = Float32Array.from(Array.isArray(values) ? values : [values]);
    return this.initializer(this.fresh('cf'), 'float32', dims ?? (Array.isArray(values) ? [arr.length] : []), arr);
  }

  constI64(values: number[] | number, dims?: number[]): string {
    const arr = BigInt64Array.from((Array.isArray(values) ? values : [values]).map(BigInt));
    return this.initializer(this.fresh('ci'), 'int64', dims ?? (Array.isArray(values) ? [arr.length] : []), arr);
  }

  /** Serialises the model; closes the external-data file. */
  save(onnxPath: string): void {
    if (this.dataFd !== null) { fs.closeSync(this.dataFd); this.dataFd = null; }
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'sgl-omni-ts',
      opsetImport: this.opsets.map((o) => ({ domain: o.domain, version: o.version })),
      graph: {
        name: this.graphName, node: this.nodes, input: this.inputs, output: this.outputs,
        initializer: this.initializers,
      },
    });
    fs.writeFileSync(onnxPath, onnx.ModelProto.encode(model).finish());
  }
}

function valueInfo(name: string, type: DataType, shape: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if (v instanceof Float32Array) return { name, type: T.FLOATS, floats: Array.from(v) };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}
