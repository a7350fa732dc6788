#!/bin/bash
# A throwaway single-node Ceph (one mon, one RAM-backed osd, no mgr) with radosgw in front of it:
# a real S3 endpoint on 127.0.0.1 for the S3 storage driver's tests. Nothing here is for
# production: cephx is off inside the cluster and the data lives in memory.
#
#   scripts/rgw.sh start   # prints the endpoint (http://127.0.0.1:$RGW_PORT) on stdout
#   scripts/rgw.sh stop    # SIGKILLs the daemons listed in the PID files that start wrote
#
# env: RGW_DIR     state, logs and PID files (default /tmp/berth-rgw-$RGW_PORT; wiped on start)
#      RGW_PORT    S3 port (default 17480)         MON_PORT  monitor port (default RGW_PORT+1)
#      RGW_STORE   memstore (default) | bluestore (a sparse 4 GiB file in RGW_DIR)
#      RGW_ACCESS_KEY / RGW_SECRET_KEY   S3 credentials of the one user (berth / berth-secret)
# Needs the Debian packages radosgw ceph-mon ceph-osd curl (scripts/install-test-deps.sh).
# S3 clients: path-style, region us-east-1; @aws-sdk/client-s3 v3 needs
# requestChecksumCalculation/responseChecksumValidation 'WHEN_REQUIRED' (Pacific's radosgw
# rejects the aws-chunked uploads the SDK sends by default).
set -euo pipefail
RGW_PORT=${RGW_PORT:-17480}
MON_PORT=${MON_PORT:-$((RGW_PORT + 1))}
D=${RGW_DIR:-/tmp/berth-rgw-$RGW_PORT}
STORE=${RGW_STORE:-memstore}
AK=${RGW_ACCESS_KEY:-berth}
SK=${RGW_SECRET_KEY:-berth-secret}

log() { echo "rgw.sh: $*" >&2; }

alive() { # a live process, not a zombie waiting to be reaped
  [ -e "/proc/$1" ] && ! grep -q '^[^)]*) Z' "/proc/$1/stat" 2>/dev/null
}

stop() {
  [ -d "$D/run" ] || return 0
  local f pid
  for f in "$D"/run/*.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    # the data is throwaway, so SIGKILL: a clean osd shutdown takes seconds and stopping
    # radosgw and the osd together can hang
    kill -9 "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.05; done
    rm -f "$f"
  done
}

wait_for() { # tries, command...
  local n=$1
  shift
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
  return 1
}

start() {
  local t0=$EPOCHREALTIME
  stop
  rm -rf "$D"
  mkdir -p "$D"/{mon.a,osd.0,rgw.a,run,log}
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$D/ceph.conf" <<EOF
[global]
fsid = $fsid
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_client_mode = crc
ms_service_mode = crc
ms_cluster_mode = crc
ms_mon_client_mode = crc
ms_mon_service_mode = crc
ms_mon_cluster_mode = crc
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
osd_crush_chooseleaf_type = 0
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_max_pg_per_osd = 1000
# radosgw creates its pools lazily; with the default paxos timings each one costs ~2 s
paxos_propose_interval = 0.05
paxos_min_wait = 0.01
run_dir = $D/run
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/log/\$name.log
keyring = $D/keyring
mon_data = $D/\$name
osd_data = $D/\$name
[osd]
osd_objectstore = $STORE
memstore_device_bytes = 4294967296
bluestore_block_path = $D/osd.0.block
bluestore_block_size = 4294967296
bluestore_block_create = true
osd_memory_target = 939524096
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw_data = $D/rgw.a
EOF
  local c=(-c "$D/ceph.conf")
  ceph-authtool --create-keyring "$D/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
  ceph-mon "${c[@]}" --mkfs -i a --monmap "$D/monmap" --keyring "$D/keyring"
  ceph-mon "${c[@]}" -i a
  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$(ceph "${c[@]}" osd new "$uuid")
  ceph-osd "${c[@]}" -i "$id" --mkfs --osd-uuid "$uuid" >>"$D/log/mkfs.log" 2>&1
  ceph-osd "${c[@]}" -i "$id" 2>>"$D/log/osd-start.log"
  wait_for 600 osd_up "${c[@]}" || { log "the osd did not come up; see $D/log"; stop; exit 1; }
  radosgw "${c[@]}" -n client.rgw.a
  wait_for 600 curl -sf -o /dev/null "http://127.0.0.1:$RGW_PORT/" || { log "radosgw did not come up; see $D/log"; stop; exit 1; }
  radosgw-admin "${c[@]}" user create --uid=berth --display-name=berth --access-key="$AK" --secret="$SK" >/dev/null
  log "$(printf 'ready in %.2f s (%s, keys %s)' "$(awk "BEGIN{print ${EPOCHREALTIME/,/.} - ${t0/,/.}}")" "$STORE" "$AK")"
  echo "http://127.0.0.1:$RGW_PORT"
}

osd_up() { ceph "$@" osd stat 2>/dev/null | grep -q '1 up'; }

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
