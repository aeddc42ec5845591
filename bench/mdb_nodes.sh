# shellcheck shell=bash
# Sourced by bench/mariadb.sh and bench/floor.sh: throwaway MariaDB datadirs for the monitor
# benchmarks. mdb_prepare WORK makes a template datadir with the replication user 'benchrepl'
# (password in WORK/repl.pw, mode 0600, never on a command line) and a crm_attribute recorder in
# WORK/bin (a stand-in for Pacemaker's attribute store; put WORK/bin first in PATH);
# mdb_node WORK N ID PORT copies the template to WORK/N/data and writes WORK/N/my.cnf.
mdb_prepare() {
  local work=$1 pw="bench-$$-$RANDOM$RANDOM"
  mariadb-install-db --no-defaults --user=root --skip-test-db --datadir="$work/template" >/dev/null
  printf "USE mysql;\nFLUSH PRIVILEGES;\nCREATE USER 'benchrepl'@'%%' IDENTIFIED BY '%s';\nGRANT REPLICATION SLAVE, SLAVE MONITOR ON *.* TO 'benchrepl'@'%%';\n" "$pw" |
    /usr/sbin/mariadbd --no-defaults --bootstrap --user=root --skip-log-bin --datadir="$work/template" 2>/dev/null
  (umask 077; printf '%s\n' "$pw" > "$work/repl.pw")
  mkdir -p "$work/bin"
  cat > "$work/bin/crm_attribute" <<REC
#!/bin/sh
# Stand-in for Pacemaker's attribute store (bench only).
echo "\$*" >> "$work/calls"
case "\$*" in *--query*) echo 1000;; esac
REC
  chmod 755 "$work/bin/crm_attribute"
}
mdb_node() {
  local work=$1 n=$2 id=$3 port=$4
  mkdir -p "$work/$n"; cp -a "$work/template" "$work/$n/data"
  printf '[mariadbd]\nserver-id=%s\nport=%s\nlog-bin=fh-bin\nsync_binlog=1\ninnodb_flush_log_at_trx_commit=1\nbind-address=127.0.0.1\nskip-name-resolve\ninnodb-buffer-pool-size=32M\nperformance-schema=OFF\n' "$id" "$port" > "$work/$n/my.cnf"
}
