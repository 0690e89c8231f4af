#!/usr/bin/env bash
# The Dockerfile's production sequence, performed here without a Docker engine:
#   1. build stage:   copy what the Dockerfile copies (package*.json, nest-cli.json,
#                     tsconfig*.json, apps/, libs/) to a scratch dir, `npm ci`, `npm run build`
#   2. runtime stage: a second scratch dir with dist/, package.json, package-lock.json
#                     only; `npm ci --omit=dev`
#   3. start `node dist/apps/server/src/main.js` with NODE_ENV=production against a
#      fresh Postgres database, wait for /api/ready, call the API with a key,
#      check the logs are JSON, stop with SIGTERM and require exit code 0.
# The database is dropped and the scratch dirs removed at the end, pass or fail.
#
#   bash scripts/prod-smoke.sh
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres): an admin
# login that may create databases (trust auth, as on the dev machines).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$PWD

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
db="ensemble_smoke_$$"
key="smoke-$(node -e "process.stdout.write(require('crypto').randomBytes(16).toString('hex'))")"
work=$(mktemp -d)
server_pid=""

step() { printf '\n==> %s\n' "$*"; }
cleanup() {
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid" 2>/dev/null || true; fi
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f "$work/server.log" ]] && { echo "--- server log ---" >&2; tail -n 40 "$work/server.log" >&2; }; exit 1; }

step "build stage (as in the Dockerfile) in $work/build"
mkdir -p "$work/build"
cp package.json package-lock.json nest-cli.json tsconfig.json tsconfig.build.json "$work/build/"
cp -r apps libs "$work/build/"
(cd "$work/build" && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent)
test -f "$work/build/dist/apps/server/src/main.js" || fail "the build did not produce dist/apps/server/src/main.js"

step "runtime stage: dist + package*.json, npm ci --omit=dev, in $work/app"
mkdir -p "$work/app"
cp -r "$work/build/dist" "$work/app/dist"
cp package.json package-lock.json "$work/app/"
(cd "$work/app" && NODE_ENV=production npm ci --omit=dev --no-audit --no-fund --loglevel=error)
for dev in typescript @nestjs/cli jest ts-jest supertest; do
  [[ ! -e "$work/app/node_modules/$dev" ]] || fail "dev dependency $dev was installed in the runtime stage"
done
echo "runtime node_modules: $(ls "$work/app/node_modules" | wc -l) top-level entries, $(du -sh "$work/app/node_modules" | cut -f1)"

step "fresh database ${db} on ${PGHOST}:${PGPORT}"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE ${db}"

port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})")
origin="http://127.0.0.1:${port}"
step "start: NODE_ENV=production PORT=${port} node dist/apps/server/src/main.js"
(
  cd "$work/app"
  exec env -i PATH="$PATH" HOME="$work" NODE_ENV=production PORT="$port" HOST=127.0.0.1 \
    DATABASE_URL="postgres://${PGUSER}@${PGHOST}:${PGPORT}/${db}" API_KEYS="$key" LOG_LEVEL=info \
    node dist/apps/server/src/main.js
) >"$work/server.log" 2>&1 &
server_pid=$!

started=$SECONDS
until curl -fsS "$origin/api/ready" >/dev/null 2>&1; do
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited before it was ready"
  (( SECONDS - started < 60 )) || fail "not ready after 60 s"
  sleep 0.5
done
echo "ready after $((SECONDS - started)) s: $(curl -fsS "$origin/api/ready")"

step "requests"
check() { # name, expected status, curl args...
  local name=$1 want=$2; shift 2
  local got
  got=$(curl -sS -o "$work/body" -w '%{http_code}' "$@")
  [[ "$got" == "$want" ]] || fail "$name: HTTP $got, expected $want: $(head -c 300 "$work/body")"
  echo "ok  $name -> $got  $(head -c 120 "$work/body")"
}
check "GET /api/health" 200 "$origin/api/health"
check "GET /api/v2/serve/apps without a key" 401 "$origin/api/v2/serve/apps"
check "POST /api/v2/serve/apps" 201 -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"app_name":"smoke","team_mode":"single_agent","details":[{"agent_name":"Summarizer"}]}' "$origin/api/v2/serve/apps"
check "GET /api/v2/serve/apps" 200 -H "Authorization: Bearer $key" "$origin/api/v2/serve/apps"
grep -q '"total_count":1' "$work/body" || fail "the created app is not listed"
check "GET /api/metrics" 200 -H "Authorization: Bearer $key" "$origin/api/metrics"
grep -q '^http_requests_total{method="POST",route="/api/v2/serve/apps",status="201"} 1$' "$work/body" || fail "metrics lack the POST"
check "GET /api/docs-json" 200 "$origin/api/docs-json"
# The image's HEALTHCHECK command, taken from the Dockerfile and run as Docker would.
hc=$(node -e 'const t=require("fs").readFileSync("Dockerfile","utf8"); const m=/^HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])$/m.exec(t); process.stdout.write(JSON.parse(m[1])[2])')
(cd "$work/app" && PORT="$port" node -e "$hc") || fail "the Dockerfile HEALTHCHECK command failed"
echo "ok  Dockerfile HEALTHCHECK command -> exit 0"
rid=$(curl -sS -D - -o /dev/null -H 'X-Request-Id: smoke-req-1' -H "Authorization: Bearer $key" "$origin/api/v2/serve/apps" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-request-id"{print $2}')
[[ "$rid" == "smoke-req-1" ]] || fail "X-Request-Id not echoed (got '$rid')"
echo "ok  X-Request-Id echoed"

step "stop with SIGTERM"
kill -TERM "$server_pid"
set +e
wait "$server_pid"
code=$?
set -e
server_pid=""
[[ $code -eq 0 ]] || fail "exit code $code after SIGTERM, expected 0"
echo "exit code 0"
if (cd "$work/app" && PORT="$port" node -e "$hc"); then fail "HEALTHCHECK passed with the server stopped"; fi
echo "HEALTHCHECK command fails once the server is gone (exit 1)"

step "logs"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
  const parsed = lines.map((l, i) => { try { return JSON.parse(l); } catch { throw new Error(`line ${i + 1} is not JSON: ${l}`); } });
  const req = parsed.find((l) => l.reqId === "smoke-req-1");
  if (!req || req.req.headers.authorization !== "[REDACTED]") throw new Error("no redacted access-log line for smoke-req-1");
  console.log(`${lines.length} lines, all JSON; e.g.\n${lines.find((l) => l.includes("smoke-req-1"))}`);
' "$work/server.log"
grep -q -- "$key" "$work/server.log" && fail "the API key appears in the logs"
echo "the API key appears nowhere in the logs"

printf '\nPROD SMOKE PASSED\n'
