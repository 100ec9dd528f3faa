"""Golden pairs for the Qwen3-ASR output cleanup: generated decoder outputs (normal text, character
runs, repeated patterns of 1-25 characters at and around the threshold, CJK, emoji outside the BMP,
loops behind the `language X<asr_text>` header) and what the official toolkit makes of them:
transformers 5.17 `models/qwen3_asr/processing_qwen3_asr.py` `_detect_and_fix_repetitions` (the
same rule as QwenLM qwen_asr/inference/utils.py detect_and_fix_repetitions) and
`_parse_single_output` (the transcript it returns). The tests read the JSON this writes; they never
run Python.

    /work/venv/bin/python tools/golden/make_repetitions.py --out test/fixtures/golden/repetitions.json
    (any venv with transformers==5.17.0: python3 -m venv /tmp/v && /tmp/v/bin/pip install transformers==5.17.0)
"""
import argparse
import json
import random

import transformers
from transformers.models.qwen3_asr.processing_qwen3_asr import _detect_and_fix_repetitions, _parse_single_output

WORDS = ["the", "cat", "sat", "on", "a", "mat", "I", "think", "so", "and", "then", "we", "went", "home", "no", "yes"]
CJK = list("我你他的是了在有这个人们来说好嗯啊像可但")
EXTRA = ["😀", "🎵", "𝄞", "é", "ß", "，", "。", ".", ",", " ", "!", "?"]
HEADERS = ["", "language English<asr_text>", "language Chinese<asr_text>", "language None<asr_text>", "  language English\n<asr_text>"]


def normal_text(rng: random.Random, n: int) -> str:
    """Text without loops: words, CJK characters and odd characters mixed."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.5:
            out.append(rng.choice(WORDS) + " ")
        elif kind < 0.85:
            out.append(rng.choice(CJK))
        else:
            out.append(rng.choice(EXTRA))
    return "".join(out)


def pattern(rng: random.Random, length: int) -> str:
    alphabet = rng.choice([list("abcdefgh "), CJK, list("ab"), EXTRA + list("xyz")])
    return "".join(rng.choice(alphabet) for _ in range(length))


def case(rng: random.Random, threshold: int) -> str:
    parts = [normal_text(rng, rng.randint(0, 12))]
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        if kind < 0.3:  # a character run around the threshold
            parts.append(rng.choice(CJK + EXTRA + list("ab")) * rng.randint(threshold - 3, threshold + 6))
        elif kind < 0.85:  # a pattern of 1..25 characters, copies around the threshold
            parts.append(pattern(rng, rng.randint(1, 25)) * rng.randint(max(1, threshold - 3), threshold + 8))
        parts.append(normal_text(rng, rng.randint(0, 15)))
    return "".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--cases", type=int, default=240)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    fixes = []
    for i in range(args.cases):
        # Mostly the toolkit's threshold (20); some small thresholds so short inputs reach every branch.
        threshold = 20 if i % 3 else rng.choice([2, 3, 5])
        text = case(rng, threshold)
        fixes.append({"threshold": threshold, "input": text, "output": _detect_and_fix_repetitions(text, threshold)})
    parses = []
    for _ in range(args.cases // 3):
        raw = rng.choice(HEADERS) + case(rng, 20)
        parses.append({"input": raw, "transcription": _parse_single_output(raw)["transcription"]})
    changed = sum(f["input"] != f["output"] for f in fixes)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(
            {
                "source": f"transformers {transformers.__version__} models/qwen3_asr/processing_qwen3_asr.py",
                "generator": "tools/golden/make_repetitions.py",
                "seed": args.seed,
                "fix": fixes,
                "parse": parses,
            },
            f,
            ensure_ascii=False,
            indent=0,
        )
    print(f"{len(fixes)} fix cases ({changed} changed by the official rule), {len(parses)} parse cases -> {args.out}")


if __name__ == "__main__":
    main()
