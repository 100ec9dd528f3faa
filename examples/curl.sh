#!/usr/bin/env bash
# Transcribe one file with curl against a running server:
#   sgl-omni serve --model-path Qwen/Qwen3-ASR-1.7B --port 8000
#   examples/curl.sh [audio-file]
# Env: BASE_URL (default http://localhost:8000), MODEL (default Qwen/Qwen3-ASR-1.7B),
#      SGL_OMNI_API_KEY (only when the server was started with --api-key).
set -euo pipefail

AUDIO="${1:-$(dirname "$0")/../test/fixtures/audio/jfk.wav}"
BASE_URL="${BASE_URL:-http://localhost:8000}"
MODEL="${MODEL:-Qwen/Qwen3-ASR-1.7B}"
AUTH=()
if [[ -n "${SGL_OMNI_API_KEY:-}" ]]; then AUTH=(-H "Authorization: Bearer ${SGL_OMNI_API_KEY}"); fi

echo "== health and models"
curl -sS "${BASE_URL}/health"; echo
curl -sS "${AUTH[@]}" "${BASE_URL}/v1/models"; echo

echo "== json"
curl -sS --fail-with-body "${AUTH[@]}" -X POST "${BASE_URL}/v1/audio/transcriptions" \
  -F model="${MODEL}" \
  -F file=@"${AUDIO}" \
  -F language=en \
  -F response_format=json
echo

echo "== verbose_json (segments, detected language)"
curl -sS --fail-with-body "${AUTH[@]}" -X POST "${BASE_URL}/v1/audio/transcriptions" \
  -F model="${MODEL}" \
  -F file=@"${AUDIO}" \
  -F response_format=verbose_json \
  -F 'timestamp_granularities[]=segment'
echo

echo "== srt subtitles"
curl -sS --fail-with-body "${AUTH[@]}" -X POST "${BASE_URL}/v1/audio/transcriptions" \
  -F model="${MODEL}" \
  -F file=@"${AUDIO}" \
  -F response_format=srt

echo "== streaming (server-sent events; -N prints each event as it arrives)"
curl -sS -N --fail-with-body "${AUTH[@]}" -X POST "${BASE_URL}/v1/audio/transcriptions" \
  -F model="${MODEL}" \
  -F file=@"${AUDIO}" \
  -F stream=true
