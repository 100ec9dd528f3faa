"""Transcribe one file with plain `requests`.

    sgl-omni serve --model-path Qwen/Qwen3-ASR-1.7B --port 8000
    python3 examples/python-requests.py [audio-file]

Env: BASE_URL (default http://localhost:8000), MODEL (default Qwen/Qwen3-ASR-1.7B),
SGL_OMNI_API_KEY (only when the server was started with --api-key).
"""
import json
import os
import sys

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
AUDIO = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "test", "fixtures", "audio", "jfk.wav")
BASE_URL = os.environ.get("BASE_URL", "http://localhost:8000")
MODEL = os.environ.get("MODEL", "Qwen/Qwen3-ASR-1.7B")
HEADERS = {"Authorization": f"Bearer {os.environ['SGL_OMNI_API_KEY']}"} if os.environ.get("SGL_OMNI_API_KEY") else {}
URL = f"{BASE_URL}/v1/audio/transcriptions"


def transcribe(**fields):
    with open(AUDIO, "rb") as f:
        resp = requests.post(
            URL,
            headers=HEADERS,
            data={"model": MODEL, **fields},
            files={"file": (os.path.basename(AUDIO), f, "audio/wav")},
            timeout=300,
        )
    if not resp.ok:
        # Errors come in OpenAI's shape: {"error": {"message", "type", "param", "code"}}
        sys.exit(f"HTTP {resp.status_code}: {resp.json()['error']['message']}")
    return resp


print("json:", transcribe(language="en", response_format="json").json()["text"])

verbose = transcribe(response_format="verbose_json").json()
print(f"verbose_json: language={verbose['language']} duration={verbose['duration']}s")
for segment in verbose["segments"]:
    print(f"  [{segment['start']:.2f}-{segment['end']:.2f}] {segment['text']}")

print("vtt:")
print(transcribe(response_format="vtt").text)

print("stream: ", end="", flush=True)
with open(AUDIO, "rb") as f:
    with requests.post(URL, headers=HEADERS, data={"model": MODEL, "stream": "true"},
                       files={"file": (os.path.basename(AUDIO), f, "audio/wav")}, stream=True, timeout=300) as resp:
        resp.raise_for_status()
        # Split on "\n" only: the default also splits on U+2028 and friends, which JSON leaves raw in text.
        for line in resp.iter_lines(decode_unicode=True, delimiter="\n"):
            if not line or not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[len("data: "):])
            if event["type"] == "transcript.text.delta":
                print(event["delta"], end="", flush=True)
            elif event["type"] == "transcript.text.done":
                print(f"\n(done: {event['usage']['seconds']} s of audio)")
            elif event["type"] == "error":
                sys.exit(f"\nstream failed: {event['error']['message']}")
