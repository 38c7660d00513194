#!/usr/bin/env bash
# CTest fixture: installs ChromaDB's server from npm (pinned: chromadb 3.0.12 with
# chromadb-js-bindings-linux-x64-gnu 1.0.5, the last bindings that load on Debian 12's glibc
# 2.36) into <repo>/.cache/chroma, starts it on a free 127.0.0.1 port with its data under $1,
# waits for its heartbeat and writes the URL to $1/url. tests/chroma/stop.sh $1 stops it.
# Exits 77 (CTest: skipped) when node/npm are missing or the install fails, unless $CI is
# set: in CI that is a failure. A server that is installed but does not come up always fails.
set -euo pipefail
state=$1
here=$(cd "$(dirname "$0")" && pwd)
prefix=${FACEGATE_CHROMA_PREFIX:-$here/../../.cache/chroma}
in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != false ]; }
skip() {
  echo "SKIPPED: $1"
  if in_ci; then echo "CI is set: a ChromaDB server is required there"; exit 1; fi
  exit 77
}

"$here/stop.sh" "$state" >/dev/null 2>&1 || true
rm -rf "$state"
mkdir -p "$state"
command -v node >/dev/null && command -v npm >/dev/null || skip "node/npm not installed (the ChromaDB server comes from npm)"

bin=$prefix/node_modules/.bin/chroma
if ! grep -qs '"version": "3.0.12"' "$prefix/node_modules/chromadb/package.json" ||
   ! grep -qs '"version": "1.0.5"' "$prefix/node_modules/chromadb-js-bindings-linux-x64-gnu/package.json"; then
  mkdir -p "$prefix"
  echo "installing chromadb@3.0.12 into $prefix"
  timeout 900 npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
    chromadb@3.0.12 chromadb-js-bindings-linux-x64-gnu@1.0.5 || skip "npm install of chromadb@3.0.12 failed"
fi

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
alive() {
  node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1/api/v2/heartbeat"
}

# The port may be taken between free_port and the bind: try a few.
for attempt in 1 2 3; do
  port=$(free_port)
  url=http://127.0.0.1:$port
  setsid "$bin" run --path "$state/data" --host 127.0.0.1 --port "$port" >"$state/server.log" 2>&1 </dev/null &
  echo $! >"$state/pid"
  for _ in $(seq 1 120); do
    if alive "$url"; then
      echo "$url" >"$state/url"
      echo "ChromaDB at $url (pid $(cat "$state/pid"), log $state/server.log)"
      exit 0
    fi
    kill -0 "$(cat "$state/pid")" 2>/dev/null || break
    sleep 0.5
  done
  "$here/stop.sh" "$state" >/dev/null 2>&1 || true
  echo "attempt $attempt: ChromaDB did not answer on $url; its log:"
  tail -20 "$state/server.log" || true
done
echo "FAILED: could not start the ChromaDB server ($bin)"
exit 1
