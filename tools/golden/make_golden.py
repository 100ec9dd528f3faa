"""Golden tensors from the official transformers Qwen3-ASR (models/qwen3_asr) for a checkpoint
written by `sgl-omni make-checkpoint`, in the "-hf" layout, on audio the first golden set does not
hold. The project's tests read what this writes; they never run Python.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch==2.13 transformers==5.17.0 numpy safetensors
    node bin/sgl-omni.js make-checkpoint --size tiny --seed 21 --out /tmp/orig
    /tmp/venv/bin/python tools/golden/make_golden.py --checkpoint /tmp/orig \\
        --audio jfk=test/fixtures/audio/jfk.wav --out test/fixtures/golden/qwen3-asr-tiny-hf

What it does, in order:
1. Converts the original (thinker.*) checkpoint the way transformers' convert_qwen3_asr_to_hf.py
   does (flattened config, renamed tensors, tied lm_head not stored) into OUT/checkpoint.
2. Drives it with the official Qwen3ASRProcessor (chat template, tokenizer, feature extractor):
   prompt ids for three prompts, and the log-mel of each clip.
3. Runs Qwen3ASRForConditionalGeneration in float64 (and float32, as a check): encoder output,
   prefill logits, and STEPS greedy ids (full recompute per step).
4. Writes float32 / int32 .npy files and manifest.json in the first golden set's schema.
"""
import argparse
import hashlib
import json
import os
import shutil
import wave
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer, Qwen3ASRFeatureExtractor, Qwen3ASRForConditionalGeneration, Qwen3ASRProcessor

STEPS = 24
PROMPTS = {
    "forced_en": {"context": "", "language": "English"},
    "auto": {"context": "", "language": None},
    "context": {"context": "Ask not what your country can do for you.", "language": None},
}
RENAMES = [  # convert_qwen3_asr_to_hf.py STATE_DICT_MAPPING_ASR, applied in order
    ("thinker.model.", "model.language_model."),
    ("thinker.lm_head.", "lm_head."),
    ("thinker.", "model."),
    ("model.audio_tower.proj1.", "model.multi_modal_projector.linear_1."),
    ("model.audio_tower.proj2.", "model.multi_modal_projector.linear_2."),
]


def convert(src: Path, dst: Path) -> None:
    cfg = json.loads((src / "config.json").read_text())
    th = cfg.pop("thinker_config")
    cfg.pop("support_languages", None)
    audio = dict(th["audio_config"])
    audio["num_attention_heads"] = audio.pop("encoder_attention_heads")
    audio["num_key_value_heads"] = audio["num_attention_heads"]
    audio["max_position_embeddings"] = 13
    for k in ("model_type", "max_source_positions"):
        audio.pop(k, None)
    text = dict(th["text_config"])
    text.pop("model_type", None)
    for k in ("mrope_interleaved", "interleaved", "mrope_section", "type"):
        text.get("rope_scaling", {}).pop(k, None)
    cfg.update(audio_config=audio, text_config=text, audio_token_id=th["audio_token_id"])
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "config.json").write_text(json.dumps(cfg, indent=2))
    state = {}
    for f in sorted(src.glob("*.safetensors")):
        state.update(load_file(f))
    out = {}
    for k, v in state.items():
        for a, b in RENAMES:
            k = k.replace(a, b)
        out[k] = v
    if text.get("tie_word_embeddings") and torch.equal(out["lm_head.weight"], out["model.language_model.embed_tokens.weight"]):
        del out["lm_head.weight"]  # save_pretrained does not store a tied head
    save_file(out, dst / "model.safetensors", metadata={"format": "pt"})
    shutil.copy(src / "generation_config.json", dst / "generation_config.json")
    # As the converter: the tokenizer read from the original files (vocab.json, merges.txt,
    # tokenizer_config.json: a gap in the ids would renumber the specials here), the -hf feature
    # extractor, and the checkpoint's own chat template; save_pretrained writes the -hf files.
    template = json.loads((src / "chat_template.json").read_text())["chat_template"]
    Qwen3ASRProcessor(feature_extractor=Qwen3ASRFeatureExtractor(), tokenizer=AutoTokenizer.from_pretrained(src), chat_template=template).save_pretrained(dst)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True, type=Path)
    ap.add_argument("--audio", required=True, action="append", help="NAME=16 kHz mono 16-bit WAV under test/fixtures (the manifest names it relative to --out)")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()
    out: Path = args.out
    ckpt = out / "checkpoint"
    convert(args.checkpoint, ckpt)
    processor = Qwen3ASRProcessor.from_pretrained(ckpt)
    models = {dt: Qwen3ASRForConditionalGeneration.from_pretrained(ckpt, dtype=dt).eval() for dt in (torch.float64, torch.float32)}
    cfg = json.loads((ckpt / "config.json").read_text())
    gen = json.loads((ckpt / "generation_config.json").read_text())
    manifest = {
        "model": "Qwen3-ASR tiny random checkpoint from make-checkpoint, converted to the -hf layout; official transformers 5.17 forward",
        "checkpoint": {"source": str(args.checkpoint), "sha256": {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(ckpt.glob("*.safetensors"))}},
        "config": {"eos_token_ids": list(gen["eos_token_id"]), "audio_token_id": cfg["audio_token_id"]},
        "precision": "float64 forward, stored as float32 (ids as int32); fp32_vs_fp64 are the official float32 forward's deviations",
        "steps": STEPS, "prompts": PROMPTS, "inputs": {},
        "tolerances": {"mel": {"max_abs": 2e-4}, "encoder_fp32": {"max_rel": 1e-4}, "logits_fp32": {"max_rel": 1e-4},
                       "greedy_fp32": "exact before the first EOS id", "prompt_ids": "exact"},
    }
    save = lambda name, a: np.save(out / f"{name}.npy", a)
    for spec in args.audio:
        name, wav = spec.split("=", 1)
        wav = Path(wav).resolve()
        samples = read_wav(wav)
        entry = {"wav": os.path.relpath(wav, out.resolve()), "samples": int(samples.size), "seconds": samples.size / 16000}
        for pname, p in PROMPTS.items():
            msgs = [{"role": "system", "content": p["context"]}, {"role": "user", "content": [{"type": "audio", "audio": samples}]}]
            text = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
            if p["language"]:
                text += f"language {p['language']}<asr_text>"
            inputs = processor(text=[text], audio=[samples], return_tensors="pt")
            ids = inputs["input_ids"][0]
            frames = int(inputs["input_features_mask"][0].sum())
            save(f"{name}.{pname}.prompt_ids", ids.numpy().astype(np.int32))
            if pname == "forced_en":
                save(f"{name}.mel", inputs["input_features"][0, :, :frames].numpy().astype(np.float32))
                entry.update(frames=frames, audio_tokens=int((ids == cfg["audio_token_id"]).sum()))
            results = {}
            for dt, model in models.items():
                feats = inputs["input_features"].to(dt)
                with torch.no_grad():
                    enc = model.model.get_audio_features(feats, inputs["input_features_mask"], return_dict=True).pooler_output
                    seq = ids[None].clone()
                    logits0, greedy = None, []
                    for _ in range(STEPS):
                        logits = model(input_ids=seq, input_features=feats, input_features_mask=inputs["input_features_mask"],
                                       attention_mask=torch.ones_like(seq)).logits[0, -1]
                        logits0 = logits if logits0 is None else logits0
                        greedy.append(int(logits.argmax()))
                        seq = torch.cat([seq, torch.tensor([[greedy[-1]]])], dim=1)
                results[dt] = (enc.reshape(-1, enc.shape[-1]).numpy(), logits0.numpy(), greedy)
            (enc64, logits64, greedy64), (enc32, logits32, greedy32) = results[torch.float64], results[torch.float32]
            if pname == "forced_en":
                save(f"{name}.enc", enc64.astype(np.float32))
                entry["encoder_fp32_vs_fp64_max_rel"] = float(np.abs(enc32 - enc64).max() / np.abs(enc64).max())
            save(f"{name}.{pname}.logits", logits64.astype(np.float32))
            save(f"{name}.{pname}.greedy", np.array(greedy64, dtype=np.int32))
            entry[pname] = {"prompt_len": int(ids.numel()), "greedy": greedy64, "fp32_greedy_same": greedy32 == greedy64,
                            "logits_fp32_vs_fp64_max_rel": float(np.abs(logits32 - logits64).max() / np.abs(logits64).max()),
                            "raw_text": processor.decode(greedy64), "parsed": processor.decode(greedy64, return_format="parsed")}
        manifest["inputs"][name] = entry
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
