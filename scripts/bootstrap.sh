#!/usr/bin/env bash
# Install and start what TDP needs on a Debian/Ubuntu machine, only where it is missing:
# PostgreSQL and Redis (when nothing answers at DATABASE_URL / REDIS_URL), Chromium for the
# browser tests (with --browser), a virtualenv with the pinned requirements, and the database.
# Safe to run again: every step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_BROWSER=0
[ "${1:-}" = "--browser" ] && WITH_BROWSER=1

DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/tdp}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    echo "==> apt-get update"
    $SUDO apt-get update -qq
    APT_UPDATED=1
  fi
  echo "==> apt-get install $*"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

# host and port out of a URL such as postgres://user@host:port/db
url_host() { "$PYTHON" -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(p.hostname or "127.0.0.1")' "$1"; }
url_port() { "$PYTHON" -c 'import sys,urllib.parse as u; p=u.urlsplit(sys.argv[1]); print(p.port or sys.argv[2])' "$1" "$2"; }
port_open() { "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.settimeout(1); sys.exit(s.connect_ex((sys.argv[1], int(sys.argv[2]))))' "$1" "$2"; }

# --- PostgreSQL --------------------------------------------------------------------------------
PG_HOST=$(url_host "$DATABASE_URL"); PG_PORT=$(url_port "$DATABASE_URL" 5432)
if ! port_open "$PG_HOST" "$PG_PORT"; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql postgresql-contrib
    # Local development only: trust connections from this machine, as the default URL expects.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      grep -q "TDP local trust" "$hba" || $SUDO sed -i '1i # TDP local trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
    done
  fi
  echo "==> starting PostgreSQL"
  for version in $(ls /etc/postgresql); do
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || $SUDO pg_ctlcluster "$version" main start || true
    # A cluster the package already started must re-read pg_hba.conf.
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" main reload 2>/dev/null || true
  done
  for _ in $(seq 1 30); do port_open "$PG_HOST" "$PG_PORT" && break; sleep 1; done
  port_open "$PG_HOST" "$PG_PORT" || { echo "PostgreSQL does not answer at $PG_HOST:$PG_PORT" >&2; exit 1; }
fi

# --- Redis -------------------------------------------------------------------------------------
REDIS_HOST=$(url_host "$REDIS_URL"); REDIS_PORT=$(url_port "$REDIS_URL" 6379)
if ! port_open "$REDIS_HOST" "$REDIS_PORT"; then
  command -v redis-server >/dev/null || apt_install redis-server
  echo "==> starting Redis"
  mkdir -p var
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$PWD/var" --logfile "$PWD/var/redis.log"
  for _ in $(seq 1 20); do port_open "$REDIS_HOST" "$REDIS_PORT" && break; sleep 0.5; done
  port_open "$REDIS_HOST" "$REDIS_PORT" || { echo "Redis does not answer at $REDIS_HOST:$REDIS_PORT" >&2; exit 1; }
fi

# --- Chromium for the browser tests (Debian's build; never a downloaded one) --------------------
if [ "$WITH_BROWSER" -eq 1 ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium
fi

# --- Python virtualenv -------------------------------------------------------------------------
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -m venv .venv 2>/dev/null; then
    apt_install python3-venv
    "$PYTHON" -m venv .venv
  fi
fi
STAMP=.venv/.requirements.sha
WANT=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  echo "==> pip install -r requirements-dev.txt"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements-dev.txt
  echo "$WANT" > "$STAMP"
fi

# --- The database and its extensions ------------------------------------------------------------
.venv/bin/python - "$DATABASE_URL" <<'PY'
import sys
import urllib.parse

import psycopg

url = urllib.parse.urlsplit(sys.argv[1])
name = url.path.lstrip("/") or "tdp"
admin_url = url._replace(path="/postgres").geturl()
with psycopg.connect(admin_url, autocommit=True) as conn:
    if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
        conn.execute(f'CREATE DATABASE "{name}"')
        print(f"==> created database {name}")
PY
echo "==> services ready: PostgreSQL at $PG_HOST:$PG_PORT, Redis at $REDIS_HOST:$REDIS_PORT"
