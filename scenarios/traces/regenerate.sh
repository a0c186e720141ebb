#!/usr/bin/env bash
# Records the traces `scenarios/replay-*.yaml` replay, from real programs,
# with the flags `kind: replay` documents (docs/replay.md):
#
#   strace -f -ttt -T -y -o FILE CMD…
#
# Each program runs in a fresh directory of its own (the trace's root, the
# directory replayed onto each target). Needs strace, sqlite3 and git
# (Debian packages of the same names). Run from anywhere:
#
#   bash scenarios/traces/regenerate.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d /tmp/wpbench-traces.XXXXXX)"
trap 'rm -rf "$work"' EXIT

record() { # record NAME CMD… — in $work/NAME, into $here/NAME.trace
  local name="$1"; shift
  mkdir -p "$work/$name"
  (cd "$work/$name" && strace -f -ttt -T -y -o "$here/$name.trace" "$@" >/dev/null)
  printf '%-12s %6d lines %8d bytes\n' "$name" "$(wc -l <"$here/$name.trace")" "$(wc -c <"$here/$name.trace")"
}

# SQLite in WAL mode with synchronous=FULL: 20 inserts, each its own
# transaction (one WAL append and an fsync of the WAL per commit), then a
# checkpoint that writes the pages back into the database file.
inserts=""
for i in $(seq 1 20); do
  inserts+="insert into kv values($i, randomblob(400));"
done
record sqlite-wal sqlite3 app.db \
  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; create table kv(k integer primary key, v blob); $inserts PRAGMA wal_checkpoint(TRUNCATE);"

# git: add and commit a small tree, then a change to it (objects written
# and fsynced, the index and refs written to lock files renamed into
# place). The tree is made before the trace begins: its files are what a
# replay makes before its clock, with the sizes the trace implies.
export GIT_AUTHOR_NAME=wpbench GIT_AUTHOR_EMAIL=wpbench@example.invalid
export GIT_COMMITTER_NAME=wpbench GIT_COMMITTER_EMAIL=wpbench@example.invalid
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
mkdir -p "$work/git-commit"
(
  cd "$work/git-commit"
  git init -q -b main . && git config core.fsync all
  for i in $(seq 1 24); do
    mkdir -p "src/$((i % 4))"
    head -c 1500 /dev/urandom | base64 >"src/$((i % 4))/f$i.txt"
  done
)
record git-commit sh -c 'git add -A && git commit -q -m first'
