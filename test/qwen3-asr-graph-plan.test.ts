// Audio token counts and the encoder's host-side plan (chunks, packed tokens,
// windows, gather indexes), checked against the facts table and the upstream
// formula, and the rows the packed layout saves over padding whole windows.
import t from 'tap';
import { audioTokenCount, windowTokens, type EncoderDims } from '../stages/qwen3-asr/graph/dims.js';
import { planEncoderRuns } from '../stages/qwen3-asr/runner/encoder-plan.js';

const dims: EncoderDims = {
  numMelBins: 4, dModel: 8, layers: 1, heads: 1, ffnDim: 8, outputDim: 8, downsampleHiddenSize: 2,
  nWindow: 50, nWindowInfer: 800, layerNormEps: 1e-5,
};
const clip = (frames: number) => ({ frames, mel: new Float32Array(dims.numMelBins * frames).map((_, i) => i + 1) });

t.test('token counts follow the facts table and N = 13·floor(T/100) + ceil((T mod 100)/8)', async (t) => {
  t.equal(audioTokenCount(dims, 100), 13, '1 s → 13');
  t.equal(audioTokenCount(dims, 1000), 130, '10 s → 130');
  t.equal(audioTokenCount(dims, 3000), 390, '30 s → 390');
  t.equal(windowTokens(dims), 104);
  for (let T = 1; T <= 3000; T++) {
    const r = T % 100;
    // upstream _get_feat_extract_output_lengths with floor division
    const f = Math.floor((r - 1) / 2) + 1;
    const upstream = Math.floor((Math.floor((f - 1) / 2) + 1 - 1) / 2) + 1 + Math.floor(T / 100) * 13;
    const closed = 13 * Math.floor(T / 100) + Math.ceil(r / 8);
    if (audioTokenCount(dims, T) !== closed || (r !== 0 && upstream !== closed)) {
      t.fail(`T=${T}: ${audioTokenCount(dims, T)} vs ${closed} (upstream ${upstream})`);
      return;
    }
  }
  t.pass('T = 1..3000 agree');
});

t.test('a 30 s clip makes windows [104,104,104,78] over 30 zero-padded chunks', async (t) => {
  const [run] = planEncoderRuns(dims, [clip(3000)], 64);
  t.equal(run.chunks, 30);
  t.equal(run.width, 100);
  t.equal(run.windowLen, 104);
  const lens = Array.from({ length: run.windows }, (_, w) => run.windowMask.subarray(w * 104, (w + 1) * 104).reduce((a, b) => a + b, 0));
  t.same(lens, [104, 104, 104, 78]);
  t.equal(run.tokenIndex.length, 390);
  t.same(run.pieces, [{ clip: 0, tokens: 390 }]);
  t.same(Array.from(run.rowIndex.subarray(0, 3)), [0n, 1n, 2n], 'packed tokens read the chunk table in order');
  t.equal(run.windowIndex[3 * 104 + 77], 389n, 'the last window slot holds the last packed token');
  t.equal(run.windowIndex[3 * 104 + 78], 0n, 'padding slots read packed token 0 (masked)');
  t.equal(run.tokenIndex[389], BigInt(3 * 104 + 77), 'and its attention output is read back from there');
});

t.test('packed rows: a 10 s clip runs its layers on 130 rows, not 2 padded windows of 104', async (t) => {
  const [run] = planEncoderRuns(dims, [clip(1000)], 64);
  t.equal(run.rowIndex.length, 130, 'rows per layer (packed)');
  t.equal(run.windows * run.windowLen, 208, 'rows per layer when every window was padded to 104');
  t.same(Array.from(run.windowMask.subarray(104, 104 + 27)), [...new Array(26).fill(1), 0], 'second window: 26 real slots');
  // every packed token appears in exactly one real window slot, and reads back from that slot
  const seen = new Set<bigint>();
  run.windowMask.forEach((m, slot) => {
    if (!m) return;
    const tok = run.windowIndex[slot];
    seen.add(tok);
    t.equal(run.tokenIndex[Number(tok)], BigInt(slot), `token ${tok} <-> slot ${slot}`);
  });
  t.equal(seen.size, 130);
});

t.test('a tail chunk is zero padded and keeps ceil(r/8) tokens', async (t) => {
  const [run] = planEncoderRuns(dims, [clip(250)], 64);
  t.equal(run.chunks, 3);
  const tail = run.features.subarray(2 * dims.numMelBins * 100, 3 * dims.numMelBins * 100);
  t.same([tail[0], tail[49], tail[50], tail[99]], [201, 250, 0, 0], 'mel row 0 holds frames 200..249 (values 201..250), then zeros');
  t.equal(run.tokenIndex.length, 13 * 2 + 7);
  t.same(Array.from(run.rowIndex.subarray(26, 33)), [26n, 27n, 28n, 29n, 30n, 31n, 32n], 'the tail chunk\'s 7 tokens follow the two full chunks');
  t.same(Array.from(run.windowIndex.subarray(26, 33)), [26n, 27n, 28n, 29n, 30n, 31n, 32n]);
});

t.test('a clip shorter than one chunk runs unpadded, alone at its width', async (t) => {
  const runs = planEncoderRuns(dims, [clip(57), clip(300), clip(57), clip(80)], 64);
  t.same(runs.map((r) => [r.width, r.chunks, r.pieces.map((p) => p.clip)]), [[57, 2, [0, 2]], [100, 3, [1]], [80, 1, [3]]]);
  t.same(runs[0].pieces, [{ clip: 0, tokens: 8 }, { clip: 2, tokens: 8 }]);
  t.equal(runs[0].windowLen, 8, 'one window of all 8 tokens per clip');
});

t.test('long clips split across runs at window boundaries; clips batch up to the chunk budget', async (t) => {
  const runs = planEncoderRuns(dims, [clip(2050), clip(900)], 16);
  t.same(runs.map((r) => r.chunks), [16, 5 + 9], '2050 frames = 21 chunks split 16 + 5; the 9 chunks of 900 frames join the second run');
  t.same(runs.map((r) => r.pieces), [[{ clip: 0, tokens: 208 }], [{ clip: 0, tokens: 267 - 208 }, { clip: 1, tokens: 117 }]]);
  const second = runs[1];
  t.equal(second.windows, 1 + 2, 'the 59-token tail is one window, the 117-token clip two');
  t.same(Array.from(second.rowIndex.subarray(59, 61)), [BigInt(5 * 13), BigInt(5 * 13 + 1)], 'clip 1\'s rows start after the 5 chunks of clip 0');
  t.same(Array.from(second.windowIndex.subarray(104, 106)), [59n, 60n], 'and its first window holds packed tokens 59, 60');
});

t.test('bad clips are refused', async (t) => {
  t.throws(() => planEncoderRuns(dims, [{ frames: 0, mel: new Float32Array(0) }], 64), { code: 'ERR_ENCODER_INPUT', message: /frames must be a positive integer/ });
  t.throws(() => planEncoderRuns(dims, [{ frames: 10, mel: new Float32Array(39) }], 64), { code: 'ERR_ENCODER_INPUT' });
});
