#!/usr/bin/env bash
# Starts the services the test suite needs (PostgreSQL, Redis; Chromium installed), then prints the environment the tests
# read, as `export NAME=value` lines on stdout (everything else goes to stderr):
#
#   bash .ci/services.sh /tmp/services.env && source /tmp/services.env
#   eval "$(bash .ci/services.sh)"      # same lines on stdout (but eval hides a failure from set -e)
#
# The optional first argument is a file the export lines are also written to.
# Works as root on a fresh Debian 12 machine (installs Debian's postgresql package when no
# server is there) and is idempotent: a second run finds the cluster, starts it if it is down,
# and prints the same lines. The cluster is the project's own (not Debian's `main`), lives in
# PUSHLINE_PG_DIR, listens on 127.0.0.1 only, and trusts nobody without the password.
set -euo pipefail
# shellcheck source=.ci/apt-install.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"

PG_DIR="${PUSHLINE_PG_DIR:-/var/lib/pushline-ci/postgres}"
PG_USER_NAME="pushline"
PG_PASSWORD="pushline"
PG_DB="pushline"

log() { echo "services.sh: $*" >&2; }

find_bindir() {
  # Newest installed server version (Debian keeps each major in /usr/lib/postgresql/<major>/bin).
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" ]]; then echo "$dir"; fi
}

BINDIR="$(find_bindir)"
if [[ -z "$BINDIR" ]]; then
  log "no PostgreSQL server found: installing Debian's postgresql package"
  apt_install_quietly postgresql
  BINDIR="$(find_bindir)"
  [[ -n "$BINDIR" ]] || { log "postgresql installed but no server binaries in /usr/lib/postgresql/*/bin"; exit 1; }
fi
log "using $BINDIR"

id postgres >/dev/null 2>&1 || { log "the postgres system user is missing (the Debian package creates it)"; exit 1; }
as_postgres() { runuser -u postgres -- "$@"; }

mkdir -p "$PG_DIR"
chown postgres:postgres "$PG_DIR"
chmod 700 "$PG_DIR"
DATA="$PG_DIR/data"
SOCKET_DIR="$PG_DIR/socket"
PORT_FILE="$PG_DIR/port"

if [[ ! -f "$DATA/PG_VERSION" ]]; then
  log "creating a cluster in $DATA"
  as_postgres mkdir -p "$DATA" "$SOCKET_DIR"
  # The superuser `postgres` connects over the socket as itself (peer); everyone else needs a password.
  as_postgres "$BINDIR/initdb" -D "$DATA" -U postgres --auth-local=peer --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >&2
fi
as_postgres mkdir -p "$SOCKET_DIR"

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { as_postgres "$BINDIR/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

if ! running; then
  port="${PUSHLINE_PG_PORT:-$(cat "$PORT_FILE" 2>/dev/null || echo 5432)}"
  # Another server (Debian's own cluster, say) may hold the port: take the next free one.
  while port_in_use "$port"; do port=$((port + 1)); done
  echo "$port" >"$PORT_FILE"
  log "starting PostgreSQL on 127.0.0.1:$port"
  as_postgres "$BINDIR/pg_ctl" -D "$DATA" -l "$PG_DIR/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $SOCKET_DIR" >&2 ||
    { log "PostgreSQL did not start; its log:"; tail -n 30 "$PG_DIR/server.log" >&2; exit 1; }
fi
port="$(cat "$PORT_FILE")"

psql_admin() { as_postgres "$BINDIR/psql" -h "$SOCKET_DIR" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

# Role and database: created once, password reset every run (so the printed URL always works).
psql_admin -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER_NAME') THEN
    CREATE ROLE $PG_USER_NAME LOGIN;
  END IF;
END \$\$;" >&2
psql_admin -c "ALTER ROLE $PG_USER_NAME WITH LOGIN PASSWORD '$PG_PASSWORD';" >&2
if [[ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]]; then
  psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_USER_NAME;" >&2
fi

url="postgres://$PG_USER_NAME:$PG_PASSWORD@127.0.0.1:$port/$PG_DB"
# Prove the URL works over TCP with the password before handing it out.
PGPASSWORD="$PG_PASSWORD" "$BINDIR/psql" "$url" -v ON_ERROR_STOP=1 -qAt -c 'SELECT 1' >/dev/null
log "PostgreSQL ready: $url"
exports="export DATABASE_URL=$url"

# Redis for the BullMQ queue: Debian's redis-server, the project's own instance (not Debian's
# service), on 127.0.0.1 in PUSHLINE_REDIS_DIR, with the settings the README asks for (AOF,
# noeviction). The queue's crash tests start private ones too (they kill and restart them):
# they need the binary, which this installs.
REDIS_DIR="${PUSHLINE_REDIS_DIR:-/var/lib/pushline-ci/redis}"
if ! command -v redis-server >/dev/null 2>&1; then
  log "no redis-server found: installing Debian's redis-server package"
  apt_install_quietly redis-server
fi
mkdir -p "$REDIS_DIR"
REDIS_PORT_FILE="$REDIS_DIR/port"
redis_running() {
  [[ -f "$REDIS_DIR/redis.pid" && -f "$REDIS_PORT_FILE" ]] &&
    kill -0 "$(cat "$REDIS_DIR/redis.pid")" 2>/dev/null &&
    [[ "$(redis-cli -h 127.0.0.1 -p "$(cat "$REDIS_PORT_FILE")" ping 2>/dev/null)" == "PONG" ]]
}
if ! redis_running; then
  redis_port="${PUSHLINE_REDIS_PORT:-6390}"
  while port_in_use "$redis_port"; do redis_port=$((redis_port + 1)); done
  echo "$redis_port" >"$REDIS_PORT_FILE"
  log "starting Redis on 127.0.0.1:$redis_port"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$REDIS_DIR" --daemonize yes \
    --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log" \
    --appendonly yes --save '' --maxmemory-policy noeviction >&2
  for _ in $(seq 1 100); do redis_running && break; sleep 0.1; done
  redis_running || { log "Redis did not start; its log:"; tail -n 30 "$REDIS_DIR/redis.log" >&2; exit 1; }
fi
redis_url="redis://127.0.0.1:$(cat "$REDIS_PORT_FILE")"
log "Redis ready: $redis_url"
exports="$exports
export REDIS_URL=$redis_url"

# Chromium for the browser tests (test/browser/): Debian's package, driven by playwright-core,
# which downloads no browser of its own.
if ! command -v chromium >/dev/null 2>&1; then
  log "no chromium found: installing Debian's chromium package"
  apt_install_quietly --no-install-recommends chromium
fi
exports="$exports
export PUSHLINE_CHROMIUM=$(command -v chromium)"
if [[ -n "${1:-}" ]]; then printf '%s\n' "$exports" >"$1"; fi
echo "$exports"
