#!/usr/bin/env bash
# Runs deploy/Dockerfile's steps without Docker (for a machine with no engine: this is
# how the image was checked), from a clean copy of HEAD: the build stage's npm ci + tsc,
# the deps stage's `npm ci --omit=dev --ignore-scripts`, the runtime stage's file list,
# then `serve` from that tree as a non-root user on a tiny random checkpoint: /startupz
# and /readyz must answer 200 and one transcription 200. Keep it in step with the Dockerfile.
#   bash deploy/check-image-steps.sh        (2-5 minutes, mostly the two npm ci; needs the registry)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/sgl-omni-image-XXXXXX)"
chmod 755 "$work"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
git -C "$repo" archive HEAD | tar -x -C "$work" --one-top-level=src-tree
ctx="$work/src-tree"

echo "== build stage: npm ci --ignore-scripts; tsc"
mkdir "$work/build" && cd "$work/build"
cp "$ctx/package.json" "$ctx/package-lock.json" "$ctx/tsconfig.json" .
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
cp -r "$ctx/bin" "$ctx/src" "$ctx/stages" .
npx tsc -p .

echo "== deps stage: npm ci --omit=dev --ignore-scripts"
mkdir "$work/deps" && cd "$work/deps"
cp "$ctx/package.json" "$ctx/package-lock.json" .
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
chmod 0755 node_modules/@ffmpeg-installer/linux-x64/ffmpeg
for dev in typescript tap kubernetes-models; do [ ! -e "node_modules/$dev" ] || { echo "dev dependency $dev installed"; exit 1; }; done

echo "== runtime stage: the image's files"
app="$work/app" && mkdir "$app" && cd "$app"
cp -r "$work/deps/node_modules" .
cp "$ctx/package.json" "$ctx/package-lock.json" .
cp -r "$ctx/bin" "$ctx/configs" "$ctx/pipelines" "$ctx/src" "$ctx/stages" .
mkdir dist && cp -r "$work/build/dist/src" "$work/build/dist/stages" dist/
mkdir -p "$work/cache" && chmod -R a+rwX "$work"
echo "image tree: $(du -sh "$app" | cut -f1) (node_modules $(du -sh node_modules | cut -f1))"

echo "== serve as a non-root user"
# The tiny checkpoint comes from the repository's own build (make-checkpoint is in the image too).
user=nobody
as_user=(env)
[ "$(id -u)" = 0 ] && as_user=(setpriv --reuid="$(id -u $user)" --regid="$(id -g $user)" --clear-groups env)
"${as_user[@]}" HOME="$work/cache" node bin/sgl-omni.js make-checkpoint --size tiny --out "$work/cache/tiny" 2>/dev/null
port=$(node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })")
"${as_user[@]}" HOME="$work/cache" NODE_ENV=production HF_HOME="$work/cache/huggingface" SGL_OMNI_CACHE_DIR="$work/cache/graphs" \
  SGL_OMNI_PORT=$port SGL_OMNI_MODEL_PATH="$work/cache/tiny" node bin/sgl-omni.js serve > "$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 240); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/startupz" || true)
  [ "$code" = 200 ] && break
  kill -0 $server 2>/dev/null || { cat "$work/serve.log"; exit 1; }
  sleep 0.5
done
[ "$code" = 200 ] || { echo "not started"; tail -20 "$work/serve.log"; exit 1; }
ready=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")
answer=$(curl -s -w ' %{http_code}' -F file=@"$repo/test/fixtures/audio/jfk.wav" -F max_new_tokens=8 "http://127.0.0.1:$port/v1/audio/transcriptions")
echo "startupz 200, readyz $ready, transcription: $answer"
[ "$ready" = 200 ] && [ "${answer##* }" = 200 ] || exit 1
# The signal goes to node itself: $server may be a shell that forked it.
kill -TERM "$(pgrep -P $server || echo $server)"
rc=0 && wait $server || rc=$?
echo "SIGTERM: exit $rc"
[ $rc = 0 ] || { tail -5 "$work/serve.log"; exit 1; }
echo "image steps: ok"
