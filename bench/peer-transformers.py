"""The official transformers Qwen3-ASR model class, timed by phase, driven by bench/peer-transformers.ts.

Not run on its own: the TypeScript side launches it, alternates its rounds with ours and measures
how quiet the machine was. Protocol: one JSON object per line. On start it writes
{"ready": ..., "prompt_ids": [...], "frames": N, ...}; then each stdin line {"round": PRECISION}
runs one round and answers {"precision": ..., "<phase>": ms, ...}; {"quit": true} ends it.

Phases of a round, as ours (bench/peer-ours.ts):
- encoder ms: model.model.get_audio_features (audio tower + projector) on the processor's features
- prefill ms: the language model over the prompt with the audio embeddings spliced in (what generate's
  first forward does after the encoder), logits of the last position only
- step ms b=1: greedy decode steps with the KV cache (DynamicCache), one new token each
- total ms: model.generate(..., max_new_tokens=N, min_new_tokens=N, do_sample=False) end to end
- step ms b=8: decode steps for 8 copies of the prompt, prefilled untimed
Precisions: fp32, bf16 (the whole model in bfloat16), int8 (torch's quantize_dynamic on every
nn.Linear, per-tensor int8 weights, dynamically quantised activations: transformers' usual CPU int8).
"""
import argparse
import json
import sys
import time
import wave
from pathlib import Path

import numpy as np
import torch
from torch import nn
from transformers import Qwen3ASRForConditionalGeneration, Qwen3ASRProcessor

BATCH = 8


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_wav(path: Path, seconds: float) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    n = int(round(seconds * 16000))
    return np.tile(x, -(-n // x.size))[:n]  # looped when the file is shorter than asked


def load(ckpt: Path, precision: str) -> nn.Module:
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = Qwen3ASRForConditionalGeneration.from_pretrained(ckpt, dtype=dtype, attn_implementation="sdpa").eval()
    if precision == "int8":
        model = torch.ao.quantization.quantize_dynamic(model, {nn.Linear}, dtype=torch.qint8)
    return model


def ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


@torch.inference_mode()
def round_of(model: nn.Module, precision: str, inputs: dict, new_tokens: int) -> dict:
    feats = inputs["input_features"].to(torch.bfloat16 if precision == "bf16" else torch.float32)
    mask = inputs["input_features_mask"]
    ids = inputs["input_ids"]
    out = {}
    t0 = time.perf_counter()
    audio = model.model.get_audio_features(feats, mask, return_dict=True).pooler_output
    out["encoder ms"] = ms(t0)
    embeds = model.model.get_input_embeddings()(ids)
    embeds = embeds.masked_scatter((ids == model.config.audio_token_id).unsqueeze(-1).expand_as(embeds), audio.to(embeds.dtype))

    t0 = time.perf_counter()
    res = model(inputs_embeds=embeds, use_cache=True, logits_to_keep=1)
    out["prefill ms"] = ms(t0)
    cache, nxt = res.past_key_values, res.logits[:, -1].argmax(-1, keepdim=True)
    t0 = time.perf_counter()
    for _ in range(new_tokens - 1):
        res = model(input_ids=nxt, past_key_values=cache, use_cache=True, logits_to_keep=1)
        cache, nxt = res.past_key_values, res.logits[:, -1].argmax(-1, keepdim=True)
    out["step ms b=1"] = ms(t0) / max(1, new_tokens - 1)

    t0 = time.perf_counter()
    gen = model.generate(input_ids=ids, input_features=feats, input_features_mask=mask, attention_mask=inputs["attention_mask"],
                         max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    out["total ms"] = ms(t0)
    out["generated"] = int(gen.shape[1] - ids.shape[1])

    res = model(inputs_embeds=embeds.expand(BATCH, -1, -1).contiguous(), use_cache=True, logits_to_keep=1)
    cache, nxt = res.past_key_values, res.logits[:, -1].argmax(-1, keepdim=True)
    steps = max(4, new_tokens // 4)
    t0 = time.perf_counter()
    for _ in range(steps):
        res = model(input_ids=nxt, past_key_values=cache, use_cache=True, logits_to_keep=1)
        cache, nxt = res.past_key_values, res.logits[:, -1].argmax(-1, keepdim=True)
    out["step ms b=8"] = ms(t0) / steps
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True, type=Path, help="-hf layout folder (official converter's output)")
    ap.add_argument("--wav", required=True, type=Path)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--precisions", default="fp32,bf16,int8")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    processor = Qwen3ASRProcessor.from_pretrained(args.checkpoint)
    samples = read_wav(args.wav, args.seconds)
    # The processor's own call (padding=True: to the longest clip, rounded to whole 100-frame chunks);
    # the feature extractor called alone would pad to 30 s and time 3x the encoder work.
    # Prompt as tools/golden/make_golden.py builds it (the checkpoint's own chat template, language forced).
    msgs = [{"role": "system", "content": ""}, {"role": "user", "content": [{"type": "audio", "audio": samples}]}]
    text = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False) + "language English<asr_text>"
    inputs = processor(text=[text], audio=[samples], return_tensors="pt")
    frames = int(inputs["input_features_mask"].sum())
    models = {}
    for p in args.precisions.split(","):
        log(f"transformers: loading {p}")
        models[p] = load(args.checkpoint, p)
        round_of(models[p], p, inputs, 2)  # warm-up: first-call allocations, oneDNN kernel selection
    ids = inputs["input_ids"][0].tolist()
    print(json.dumps({"ready": True, "prompt_ids": ids, "frames": frames, "padded_frames": int(inputs["input_features"].shape[-1]),
                      "audio_tokens": int(sum(1 for i in ids if i == models[next(iter(models))].config.audio_token_id)),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd.get("quit"):
            break
        p = cmd["round"]
        print(json.dumps({"precision": p, **round_of(models[p], p, inputs, args.new_tokens)}), flush=True)


if __name__ == "__main__":
    main()
