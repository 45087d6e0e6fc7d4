# Shared by scripts/setup, scripts/run and scripts/test. Source it; do not run it.
# shellcheck shell=bash

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$REPO/.local"            # per-checkout state ignored by git: private cluster, logs
PRIVATE_PG_PORT=54322           # the port `supabase start` gives its database
export PATH="$HOME/.cargo/bin:$PATH"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# The PostgreSQL server to use, as host:port: DATABASE_URL's when set, else 127.0.0.1:5432 when it
# answers, else a private cluster under .local/pg (started by ensure_postgres).
pg_server() {
  if [[ -n "${DATABASE_URL:-}" ]]; then
    local hostport="${DATABASE_URL#*://}"; hostport="${hostport#*@}"; hostport="${hostport%%/*}"
    [[ "$hostport" == *:* ]] || hostport="$hostport:5432"
    echo "$hostport"
  elif [[ -z "${SALESPULSE_PRIVATE_PG:-}" ]] && pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "127.0.0.1:5432"
  else
    echo "127.0.0.1:$PRIVATE_PG_PORT"
  fi
}

# apt-get install the packages not yet installed; `apt-get update` only when something is missing.
apt_ensure() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  local sudo=(); [[ $EUID -eq 0 ]] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# `cargo install` a tool at a pinned version unless that version is already installed. A first
# extra argument --unlocked resolves its dependencies afresh: for a tool whose published lock file
# names a yanked crate.
cargo_tool() {
  local crate="$1" version="$2"; shift 2
  if cargo install --list | grep -q "^$crate v$version:"; then return 0; fi
  local locked=(--locked)
  if [[ "${1:-}" == --unlocked ]]; then locked=(); shift; fi
  log "installing $crate $version"
  cargo install "${locked[@]}" --quiet "$crate" --version "$version" "$@"
}

# `npm ci` in DIR (default: the repository) unless its node_modules already holds exactly what
# its package-lock.json pins.
npm_ensure() {
  local dir="${1:-$REPO}" want
  local stamp="$dir/node_modules/.package-lock.sha256"
  want="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && return 0
  log "installing the npm packages (${dir#"$REPO/"}/package-lock.json)"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  echo "$want" >"$stamp"
}

# localstripe VERSION in the venv .local/localstripe (from PyPI) unless that version is there.
LOCALSTRIPE_VENV="$LOCAL/localstripe"
localstripe_ensure() {
  local version="$1" pip="$LOCALSTRIPE_VENV/bin/pip"
  # Read whole before matching: `grep -q` stopping early would fail the pipe (pipefail).
  [[ -x "$pip" && "$("$pip" show localstripe 2>/dev/null)" == *$'\n'"Version: $version"$'\n'* ]] && return 0
  log "installing localstripe $version"
  [[ -x "$pip" ]] || python3 -m venv "$LOCALSTRIPE_VENV"
  "$pip" install --quiet --disable-pip-version-check "localstripe==$version"
}

# Starts the private cluster under .local/pg when no server answers where pg_server points.
ensure_postgres() {
  local server host port
  server="$(pg_server)"; host="${server%:*}"; port="${server##*:}"
  pg_isready -q -h "$host" -p "$port" 2>/dev/null && return 0
  if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "DATABASE_URL points at $server, which does not answer" >&2; return 1
  fi
  local bin; bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
  local data="$LOCAL/pg"
  log "starting a private PostgreSQL cluster in $data on port $port"
  mkdir -p "$data"; chown postgres:postgres "$data"; chmod 700 "$data"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k $data -c listen_addresses=127.0.0.1" start >/dev/null
}

# The owner connection for database NAME on the chosen server.
database_url() {
  local name="$1"
  if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "${DATABASE_URL%/*}/$name"
  else
    echo "postgres://postgres@$(pg_server)/$name"
  fi
}

# base64url without padding, of standard input.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# An access token for auth user SUB, signed HS256 with the stack's JWT secret SECRET and valid for
# an hour, shaped as Supabase Auth issues them to a signed-in user: for scripts acting as a member.
jwt_for_user() {
  local secret="$1" sub="$2" now header payload
  now="$(date +%s)"
  header="$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)"
  payload="$(printf '{"sub":"%s","aud":"authenticated","role":"authenticated","iat":%d,"exp":%d}' \
    "$sub" "$now" $((now + 3600)) | b64url)"
  printf '%s.%s.%s' "$header" "$payload" \
    "$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)"
}

# The Cloudflare Workers (a test keeps them equal to functions::WORKERS and the functions-worker
# crate's features): app, whose config is the project's wrangler.toml, and one per
# wrangler/<worker>.toml.
workers() {
  local config
  echo app
  for config in "$REPO"/wrangler/*.toml; do basename "$config" .toml; done
}
# The wrangler config of Worker $1.
worker_config() {
  if [[ "$1" == app ]]; then echo "$REPO/wrangler.toml"; else echo "$REPO/wrangler/$1.toml"; fi
}
