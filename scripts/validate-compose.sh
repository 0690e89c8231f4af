#!/usr/bin/env bash
# Validates docker-compose.yml with a compose implementation (no Docker engine
# needed: `config` only parses, interpolates and checks the file).
#   - uses `docker compose` (v2 plugin) when installed, else `docker-compose`
#     (Debian's package, v1.29: `apt-get install docker-compose`);
#   - checks the file with .env.example as its .env (in a scratch copy, so no
#     .env of yours is read or written), and that a .env without API_KEYS is
#     refused.
#
#   bash scripts/validate-compose.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "no compose implementation: apt-get install docker-compose (or the docker compose plugin)" >&2
  exit 2
fi
echo "\$ ${compose[*]} version"
"${compose[@]}" version

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp docker-compose.yml Dockerfile .dockerignore "$work/"
cp .env.example "$work/.env"

echo
echo "\$ ${compose[*]} -f docker-compose.yml config      # with .env = .env.example"
(cd "$work" && "${compose[@]}" -f docker-compose.yml config) | sed "s#$work#<project dir>#g"
(cd "$work" && "${compose[@]}" -f docker-compose.yml config --services) | sort | tr '\n' ' ' | grep -qx 'ensemble postgres ' \
  || { echo "expected services ensemble and postgres" >&2; exit 1; }

echo
echo "\$ ${compose[*]} -f docker-compose.yml config      # with the models-file volume uncommented"
sed -e 's/^    # volumes:$/    volumes:/' -e 's|^    #   - ./models.json:/app/models.json:ro$|      - ./models.json:/app/models.json:ro|' \
  docker-compose.yml >"$work/docker-compose.models.yml"
(cd "$work" && "${compose[@]}" -f docker-compose.models.yml config) | sed "s#$work#<project dir>#g" | grep -A3 '^    volumes:' \
  || { echo "the commented models-file volume does not parse" >&2; exit 1; }

echo
echo "\$ ${compose[*]} -f docker-compose.yml config      # with API_KEYS missing from .env: must fail"
grep -v '^API_KEYS=' .env.example >"$work/.env"
if (cd "$work" && "${compose[@]}" -f docker-compose.yml config >/dev/null 2>"$work/err"); then
  echo "compose accepted a .env without API_KEYS" >&2
  exit 1
fi
cat "$work/err"
echo
echo "compose file OK (${root}/docker-compose.yml)"
