"""Golden tensors from the official forced aligner for a checkpoint written by the project's
aligner generator (original layout, thinker.*): transformers 5.17's Qwen3ASRProcessor and
Qwen3ASRForTokenClassification on its "-hf" conversion. The project's tests read what this
writes; they never run Python.

    /work/venv/bin/python  (torch 2.13 CPU, transformers 5.17, numpy, safetensors)
    node -e "import('./dist/stages/qwen3-forced-aligner/checkpoint/make-checkpoint.js').then(m => m.makeAlignerCheckpoint({size: 'tiny', seed: 11, out: '/tmp/al'}))"
    python tools/golden/make_golden_aligner.py --checkpoint /tmp/al --seed 11 \\
        --case 'jfk=test/fixtures/audio/jfk.wav|English|And so, my fellow Americans: ask not what your country can do for you...' \\
        --out test/fixtures/golden/qwen3-forced-aligner-tiny

What it does, in order:
1. Converts the checkpoint as make_golden.py does (flattened config, renamed tensors), with the
   aligner's differences: the head thinker.lm_head becomes `score` (GenericForTokenClassification),
   num_labels = classify_num, timestamp_token_id at the top, no bias, untied; the processor gets
   timestamp_segment_time. Only this "-hf" copy is stored; the test regenerates the original
   layout from the seed and checks its bytes against the sha256 recorded here.
2. Per case: words from processor.split_words_for_alignment; the input text exactly as qwen-asr's
   Qwen3ForceAlignProcessor.encode_timestamp builds it (audio block, each word followed by
   <timestamp><timestamp>, no chat markup) through the processor (audio pads expanded, log-mel).
3. Runs the model in float64 (and float32, as a check): logits at the <timestamp> slots, and the
   official decode_forced_alignment (argmax, x segment ms, _fix_timestamps, seconds).
"""
import argparse
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import Qwen3ASRForTokenClassification, Qwen3ASRProcessor
from transformers.models.qwen3_asr.processing_qwen3_asr import _fix_timestamps

from make_golden import convert, read_wav


def convert_aligner(src: Path, dst: Path) -> dict:
    convert(src, dst)  # the ASR conversion: lm_head.weight keeps its name there
    orig = json.loads((src / "config.json").read_text())
    cfg = json.loads((dst / "config.json").read_text())
    classes = orig["thinker_config"]["classify_num"]
    cfg.update(architectures=["Qwen3ASRForTokenClassification"], timestamp_token_id=orig["timestamp_token_id"],
               token_classification_bias=False, tie_word_embeddings=False,
               id2label={str(i): f"LABEL_{i}" for i in range(classes)}, label2id={f"LABEL_{i}": i for i in range(classes)})
    cfg.pop("timestamp_segment_time", None)  # a processor argument in the -hf layout
    (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    state = load_file(dst / "model.safetensors")
    state["score.weight"] = state.pop("lm_head.weight")
    save_file(state, dst / "model.safetensors", metadata={"format": "pt"})
    proc = json.loads((dst / "processor_config.json").read_text()) if (dst / "processor_config.json").exists() else {}
    proc["timestamp_segment_time"] = orig["timestamp_segment_time"]
    (dst / "processor_config.json").write_text(json.dumps(proc, indent=2))
    return orig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True, type=Path)
    ap.add_argument("--seed", required=True, type=int, help="the generator seed (recorded for the test)")
    ap.add_argument("--case", required=True, action="append", help="NAME=WAV|LANGUAGE|TEXT (16 kHz mono 16-bit WAV)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    out: Path = args.out
    ckpt = out / "checkpoint"
    orig = convert_aligner(args.checkpoint, ckpt)
    processor = Qwen3ASRProcessor.from_pretrained(ckpt)
    models = {dt: Qwen3ASRForTokenClassification.from_pretrained(ckpt, dtype=dt).eval() for dt in (torch.float64, torch.float32)}
    ts_id = models[torch.float64].config.timestamp_token_id
    seg_ms = processor.timestamp_segment_time
    manifest = {
        "model": "Qwen3-ForcedAligner tiny random checkpoint from the project's generator, converted to the -hf layout; official transformers 5.17 forward",
        "generator": {"size": "tiny", "seed": args.seed,
                      "original_sha256": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(args.checkpoint.glob("*.safetensors"))}},
        "config": {"timestamp_token_id": ts_id, "timestamp_segment_time": seg_ms, "classes": orig["thinker_config"]["classify_num"]},
        "precision": "float64 forward, stored as float32 (ids as int32); *_fp32_vs_fp64 are the official float32 forward's deviations",
        "tolerances": {"slot_logits_fp32": {"max_rel": 1e-4}, "word_times": "exact (seconds, 3 decimals)", "prompt_ids": "exact"},
        "cases": {},
        # The official monotonic repair on seeded class sequences (x 80 ms), beyond what random weights produce.
        "repair": [],
    }
    rng = np.random.default_rng(args.seed)
    for n in (1, 2, 5, 9, 16, 40):
        raw = np.sort(rng.integers(0, 60, n)) * seg_ms
        flips = rng.integers(0, n, max(1, n // 4))
        raw[flips] = rng.integers(0, 60, flips.size) * seg_ms  # out-of-order values, single and in runs
        manifest["repair"].append({"raw_ms": raw.tolist(), "fixed_ms": _fix_timestamps(raw.astype(np.float64))})
    manifest["repair"].append({"raw_ms": [800.0, 80.0, 160.0, 240.0, 0.0, 0.0, 0.0, 960.0], "fixed_ms": _fix_timestamps(np.array([800.0, 80.0, 160.0, 240.0, 0.0, 0.0, 0.0, 960.0]))})
    save = lambda name, a: np.save(out / f"{name}.npy", a)
    for spec in args.case:
        name, rest = spec.split("=", 1)
        wav, language, text = rest.split("|", 2)
        wav = Path(wav).resolve()
        samples = read_wav(wav)
        words = processor.split_words_for_alignment(text, language)
        aligner_text = "<|audio_start|><|audio_pad|><|audio_end|>" + "<timestamp><timestamp>".join(words) + "<timestamp><timestamp>"
        inputs = processor(text=[aligner_text], audio=[samples], return_tensors="pt")
        ids = inputs["input_ids"][0]
        frames = int(inputs["input_features_mask"][0].sum())
        mask = ids == ts_id
        save(f"{name}.prompt_ids", ids.numpy().astype(np.int32))
        logits = {}
        for dt, model in models.items():
            with torch.no_grad():
                logits[dt] = model(input_ids=ids[None], input_features=inputs["input_features"].to(dt),
                                   input_features_mask=inputs["input_features_mask"], attention_mask=torch.ones_like(ids[None])).logits
        l64 = logits[torch.float64]
        slot64 = l64[0][mask].numpy()
        slot32 = logits[torch.float32][0][mask].numpy()
        save(f"{name}.slot_logits", slot64.astype(np.float32))
        times = processor.decode_forced_alignment(l64, ids[None], [words], ts_id, seg_ms)[0]
        raw = (l64[0][mask].argmax(-1).numpy() * seg_ms).tolist()
        manifest["cases"][name] = {
            "wav": os.path.relpath(wav, out.resolve()), "language": language, "text": text, "words": words,
            "samples": int(samples.size), "frames": frames, "prompt_len": int(ids.numel()), "slots": int(mask.sum()),
            "raw_ms": raw, "times": [{"word": t["text"], "start": t["start_time"], "end": t["end_time"]} for t in times],
            "slot_logits_fp32_vs_fp64_max_rel": float(np.abs(slot32 - slot64).max() / np.abs(slot64).max()),
            "fp32_classes_same": bool((slot32.argmax(-1) == slot64.argmax(-1)).all()),
        }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


if __name__ == "__main__":
    main()
