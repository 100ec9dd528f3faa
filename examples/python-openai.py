"""Transcribe one file with the official `openai` Python package (pip install openai).

    sgl-omni serve --model-path Qwen/Qwen3-ASR-1.7B --port 8000
    python3 examples/python-openai.py [audio-file]

Env: BASE_URL (default http://localhost:8000), MODEL (default Qwen/Qwen3-ASR-1.7B),
SGL_OMNI_API_KEY (only when the server was started with --api-key).
"""
import os
import sys

from openai import OpenAI

HERE = os.path.dirname(os.path.abspath(__file__))
AUDIO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "test", "fixtures", "audio", "jfk.wav")
MODEL = os.environ.get("MODEL", "Qwen/Qwen3-ASR-1.7B")
client = OpenAI(
    base_url=f"{os.environ.get('BASE_URL', 'http://localhost:8000')}/v1",
    # The SDK insists on a key; any string works when the server runs without --api-key.
    api_key=os.environ.get("SGL_OMNI_API_KEY", "unused"),
)

with open(AUDIO, "rb") as f:
    result = client.audio.transcriptions.create(model=MODEL, file=f, language="en")
print("json:", result.text)

with open(AUDIO, "rb") as f:
    verbose = client.audio.transcriptions.create(
        model=MODEL, file=f, response_format="verbose_json", timestamp_granularities=["segment"],
        # Our extension: a cap on generated tokens per segment.
        extra_body={"max_new_tokens": 256},
    )
print(f"verbose_json: language={verbose.language} duration={verbose.duration}s")
for segment in verbose.segments or []:
    print(f"  [{segment.start:.2f}-{segment.end:.2f}] {segment.text}")

with open(AUDIO, "rb") as f:
    print("srt:\n" + client.audio.transcriptions.create(model=MODEL, file=f, response_format="srt"))

print("stream: ", end="", flush=True)
with open(AUDIO, "rb") as f:
    for event in client.audio.transcriptions.create(model=MODEL, file=f, stream=True):
        if event.type == "transcript.text.delta":
            print(event.delta, end="", flush=True)
        elif event.type == "transcript.text.done":
            print("\n(done)")
