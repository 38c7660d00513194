#!/usr/bin/env bash
# CTest fixture cleanup: stops the ChromaDB server tests/chroma/start.sh started for $1 (its
# whole process group), then removes its data.
set -uo pipefail
state=$1
[ -f "$state/pid" ] || exit 0
pid=$(cat "$state/pid")
if kill -0 "$pid" 2>/dev/null; then
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  for _ in $(seq 1 20); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
fi
rm -f "$state/pid" "$state/url"
rm -rf "$state/data"
echo "ChromaDB server stopped"
