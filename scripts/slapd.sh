#!/bin/bash
# A throwaway OpenLDAP slapd on 127.0.0.1 for the LDAP tests: its own slapd.conf and mdb
# database in one folder, no system service, seeded from an LDIF file through ldapadd (so the
# memberof overlay fills in memberOf, which slapadd would not), stopped by its PID file.
#
#   scripts/slapd.sh start   # prints "ldap://127.0.0.1:PORT ldaps://127.0.0.1:TLS_PORT" on stdout
#   scripts/slapd.sh stop    # kills the slapd of SLAPD_DIR (by its PID file) and removes the folder
#
# env: SLAPD_DIR       config, data, certificate, log, PID file (default /tmp/berth-slapd-$SLAPD_PORT,
#                      or /tmp/berth-slapd-$$ when the port is chosen here; wiped on start)
#      SLAPD_PORT      ldap:// port (default: a free one, chosen here)
#      SLAPD_TLS_PORT  ldaps:// port with a self-signed certificate for 127.0.0.1 (default SLAPD_PORT+1)
#      SLAPD_SEED      LDIF to load (default test/fixtures/ldap/seed.ldif)
# The suffix is dc=berth,dc=test; the root DN cn=admin,dc=berth,dc=test (password admin-secret)
# may change anything, the seeded cn=berth-search,ou=services,dc=berth,dc=test may read
# everything but passwords, anonymous users may only bind. Unauthenticated binds (a DN with an
# empty password, RFC 4513 5.1.2) are allowed on purpose: clients must refuse them themselves.
# Needs the Debian packages slapd ldap-utils openssl (scripts/install-test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
SEED=${SLAPD_SEED:-test/fixtures/ldap/seed.ldif}
SUFFIX='dc=berth,dc=test'
ROOT_DN="cn=admin,$SUFFIX"
ROOT_PW='admin-secret'
SEARCH_DN="cn=berth-search,ou=services,$SUFFIX"

log() { echo "slapd.sh: $*" >&2; }

alive() { # a live process, not a zombie waiting to be reaped
  [ -e "/proc/$1" ] && ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

dir_for() { echo "${SLAPD_DIR:-/tmp/berth-slapd-$1}"; }

stop_dir() {
  local d=$1 pid
  [ -f "$d/slapd.pid" ] || { rm -rf "$d"; return 0; }
  pid=$(cat "$d/slapd.pid")
  if [ -n "$pid" ] && alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
    alive "$pid" && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$d"
}

write_conf() { # dir
  local d=$1
  cat >"$d/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile $d/slapd.pid
argsfile $d/slapd.args
allow bind_anon_dn
TLSCertificateFile $d/cert.pem
TLSCertificateKeyFile $d/key.pem

database mdb
suffix "$SUFFIX"
rootdn "$ROOT_DN"
rootpw $ROOT_PW
directory $d/data
maxsize 67108864
index objectClass eq
index uid eq
index member eq
index uniqueMember eq
overlay memberof

access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by dn.exact="$SEARCH_DN" read
  by self read
  by * none
EOF
}

try_start() { # dir port tls_port; 0 when slapd answers
  local d=$1 port=$2 tls=$3
  rm -rf "$d"
  mkdir -p "$d/data"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=127.0.0.1' -addext 'subjectAltName=IP:127.0.0.1' \
    -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1
  write_conf "$d"
  # foreground (-d) so that the log goes to a file; setsid and closed descriptors so that it
  # outlives this script and does not hold the caller's pipes open
  setsid slapd -f "$d/slapd.conf" -h "ldap://127.0.0.1:$port/ ldaps://127.0.0.1:$tls/" -d stats \
    </dev/null >"$d/slapd.log" 2>&1 &
  local child=$!
  for _ in $(seq 200); do
    alive "$child" || return 1
    if ldapsearch -x -LLL -H "ldap://127.0.0.1:$port" -D "$ROOT_DN" -w "$ROOT_PW" -s base -b '' namingContexts >/dev/null 2>&1; then
      [ -f "$d/slapd.pid" ] || echo "$child" >"$d/slapd.pid"
      return 0
    fi
    sleep 0.05
  done
  kill "$child" 2>/dev/null || true
  return 1
}

start() {
  local port tls d attempt
  for attempt in $(seq 20); do
    if [ -n "${SLAPD_PORT:-}" ]; then
      port=$SLAPD_PORT
    else
      port=$((20000 + RANDOM % 20000))
    fi
    tls=${SLAPD_TLS_PORT:-$((port + 1))}
    if [ -n "${SLAPD_DIR:-}" ]; then d=$SLAPD_DIR; elif [ -n "${SLAPD_PORT:-}" ]; then d=$(dir_for "$port"); else d=/tmp/berth-slapd-$$; fi
    stop_dir "$d"
    if try_start "$d" "$port" "$tls"; then
      ldapadd -x -H "ldap://127.0.0.1:$port" -D "$ROOT_DN" -w "$ROOT_PW" -f "$SEED" >"$d/seed.log" 2>&1 ||
        { log "seeding from $SEED failed: $(tail -3 "$d/seed.log")"; stop_dir "$d"; exit 1; }
      echo "$d" >"$d/dir"
      log "ready in $d (pid $(cat "$d/slapd.pid"))"
      echo "ldap://127.0.0.1:$port ldaps://127.0.0.1:$tls $d"
      return 0
    fi
    # a port taken by someone else: try another one, unless it was given
    [ -n "${SLAPD_PORT:-}" ] && break
    log "attempt $attempt: port $port or $tls is taken, trying another"
  done
  log "slapd did not start; see $d/slapd.log"
  tail -5 "$d/slapd.log" >&2 || true
  stop_dir "$d"
  exit 1
}

case "${1:-}" in
  start) start ;;
  stop)
    [ -n "${SLAPD_DIR:-}" ] || [ -n "${SLAPD_PORT:-}" ] || { echo "stop needs SLAPD_DIR or SLAPD_PORT" >&2; exit 2; }
    stop_dir "$(dir_for "${SLAPD_PORT:-}")"
    ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
