#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, with fake GPUs, for CI and
# for trying profiles/slurm before a site does (Debian 12, as root):
#
#   scripts/slurm-cluster.sh up       install Debian's packages if missing (slurm-wlm, munge,
#                                     slurmdbd, mariadb-server), write the configs, start munged,
#                                     MariaDB, slurmdbd, slurmctld and slurmd, wait for the node
#                                     to be idle; run again, it changes nothing
#   scripts/slurm-cluster.sh down     stop exactly the daemons `up` started, by PID (a munged or
#                                     MariaDB that was already running is left alone), remove the
#                                     fake devices and the configs it wrote; logs stay
#   scripts/slurm-cluster.sh status   what runs, sinfo
#
# The node is named after `hostname -s`, has partition `gpu`, and declares
# PATCHBENCH_SLURM_GPUS (2) GPUs whose files are character devices made with
# mknod under the state directory (Slurm needs a device file per GPU; nothing
# opens them). CPUs and memory are declared, not detected
# (SlurmdParameters=config_overrides): the node looks like a GPU node with
# PATCHBENCH_SLURM_CPUS (32) CPUs and PATCHBENCH_SLURM_MEM_MB (512000) MB, so
# profiles/slurm runs with its own resource requests. Without cgroups nothing
# enforces them: this is a scheduler to test against, not a place to run real
# benchmarks. Accounting is on (slurmdbd + MariaDB): the slurm plugin's
# default status command is sacct, as on production clusters, and sacct keeps
# every job's record (AllocTRES shows how many GPUs it got); a prolog adds
# which ones, "<jobid> <GPU indices>" per job in $ROOT/log/job-gpus.log.
# State, logs and PID files live under PATCHBENCH_SLURM_DIR (/tmp/patchbench-slurm).
set -euo pipefail

ROOT=${PATCHBENCH_SLURM_DIR:-/tmp/patchbench-slurm}
GPUS=${PATCHBENCH_SLURM_GPUS:-2}
CPUS=${PATCHBENCH_SLURM_CPUS:-32}
MEM_MB=${PATCHBENCH_SLURM_MEM_MB:-512000}
CLUSTER=patchbench
ACCOUNT=ciacct
PARTITION=gpu
PACKAGES=(slurm-wlm munge slurmdbd mariadb-server)
MARK="# written by patchbench scripts/slurm-cluster.sh; removed by its 'down'"
STARTED=$ROOT/run/started # "<name> <pid>" per daemon this script started, in start order
CONFS=(/etc/slurm/slurm.conf /etc/slurm/gres.conf /etc/slurm/slurmdbd.conf)
T0=$SECONDS

say() { echo "slurm-cluster [$((SECONDS - T0))s]: $*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll every 0.2 s; says DESCRIPTION when it holds (if any)
wait_for() {
    local limit=$1 what=$2
    shift 2
    local deadline=$((SECONDS + limit))
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
    [[ -z $what ]] || say "$what"
}

# A PID this script recorded that still runs the same program (not a reused PID).
is_ours_alive() {
    local name=$1 pid
    [[ -f $STARTED ]] || return 1
    pid=$(awk -v n="$name" '$1 == n {print $2}' "$STARTED" | tail -1)
    [[ -n $pid && -d /proc/$pid ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]
}

record() { echo "$1 $2" >>"$STARTED"; }

pid_from() { # pid_from FILE: wait for a daemon's PID file
    local file=$1
    wait_for 30 "" test -s "$file" || die "no PID file $file"
    tr -d ' \n' <"$file"
}

install_packages() {
    local missing=() pkg
    for pkg in "${PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    ((${#missing[@]})) || return 0
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >"$ROOT/log/apt.log" 2>&1 ||
        { tail -20 "$ROOT/log/apt.log" >&2; die "apt-get install failed (log: $ROOT/log/apt.log)"; }
    say "installed"
}

# write_conf PATH MODE < content: never overwrite a config this script did not write;
# a changed config while our daemons run needs `down` first.
write_conf() {
    local path=$1 mode=$2 new
    new=$(printf '%s\n' "$MARK"; cat)
    if [[ -e $path ]]; then
        head -1 "$path" | grep -qxF "$MARK" || die "$path exists and was not written by this script; refusing to touch it"
        if [[ $(cat "$path") == "$new" ]]; then
            return 0
        fi
        if is_ours_alive slurmctld || is_ours_alive slurmd || is_ours_alive slurmdbd; then
            die "$path would change while the cluster runs: run '$0 down' first"
        fi
    fi
    mkdir -p "$(dirname "$path")"
    printf '%s\n' "$new" >"$path.tmp"
    chmod "$mode" "$path.tmp"
    mv "$path.tmp" "$path"
}

write_configs() {
    local host=$1 last=$((GPUS - 1))
    write_conf /etc/slurm/slurm.conf 644 <<EOC
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$ROOT/state
SlurmdSpoolDir=$ROOT/spool
SlurmctldPidFile=$ROOT/run/slurmctld.pid
SlurmdPidFile=$ROOT/run/slurmd.pid
SlurmctldLogFile=$ROOT/log/slurmctld.log
SlurmdLogFile=$ROOT/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
GresTypes=gpu
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/linux
JobCompType=jobcomp/none
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=5
Prolog=$ROOT/prolog.sh
NodeName=$host NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB Gres=gpu:$GPUS State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOC
    write_conf /etc/slurm/gres.conf 644 <<EOC
AutoDetect=off
NodeName=$host Name=gpu File=$ROOT/dev/fakegpu[0-$last]
EOC
    write_conf /etc/slurm/slurmdbd.conf 600 <<EOC
AuthType=auth/munge
DbdHost=localhost
DbdPort=6819
SlurmUser=root
LogFile=$ROOT/log/slurmdbd.log
PidFile=$ROOT/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
EOC
}

# Slurm's record of which GPUs each job got (the accounting has only how many):
# "<jobid> <GPU indices>" per job in $ROOT/log/job-gpus.log. A failing prolog
# drains the node, so it always succeeds.
write_prolog() {
    cat >"$ROOT/prolog.sh.tmp" <<EOS
#!/bin/sh
echo "\$SLURM_JOB_ID \${SLURM_JOB_GPUS:-}" >>"$ROOT/log/job-gpus.log"
exit 0
EOS
    chmod 755 "$ROOT/prolog.sh.tmp"
    mv "$ROOT/prolog.sh.tmp" "$ROOT/prolog.sh"
}

fake_gpus() {
    local i
    mkdir -p "$ROOT/dev"
    for ((i = 0; i < GPUS; i++)); do
        [[ -c $ROOT/dev/fakegpu$i ]] || mknod "$ROOT/dev/fakegpu$i" c 1 3 # a char device, like /dev/null
    done
}

munge_works() { { munge -n </dev/null | unmunge; } >/dev/null 2>&1; }

start_munge() {
    if munge_works; then
        is_ours_alive munged || say "munged already running (not started here: 'down' leaves it)"
        return 0
    fi
    mkdir -p /run/munge && chown munge:munge /run/munge
    [[ -s /etc/munge/munge.key ]] || die "no /etc/munge/munge.key (the munge package makes it)"
    runuser -u munge -- /usr/sbin/munged --force
    record munged "$(pid_from /run/munge/munged.pid)"
    wait_for 30 "munged up" munge_works || die "munged does not answer"
}

db_works() { mysqladmin ping; }

start_mariadb() {
    if db_works >/dev/null 2>&1; then
        is_ours_alive mariadbd || say "MariaDB already running (not started here: 'down' leaves it)"
    else
        mkdir -p /run/mysqld "$ROOT/mysql" && chown mysql:mysql /run/mysqld "$ROOT/mysql" # mariadbd writes as mysql
        /usr/sbin/mariadbd --user=mysql --skip-networking --socket=/run/mysqld/mysqld.sock \
            --pid-file="$ROOT/mysql/mariadbd.pid" --log-error="$ROOT/mysql/mariadb.log" </dev/null >/dev/null 2>&1 &
        record mariadbd $!
        disown
        wait_for 60 "MariaDB up" db_works || die "MariaDB did not start (log: $ROOT/mysql/mariadb.log)"
    fi
    mysql -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw';
              GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
}

dbd_works() { sacctmgr -n list cluster; }

start_slurmdbd() {
    if ! is_ours_alive slurmdbd; then
        rm -f "$ROOT/run/slurmdbd.pid"
        /usr/sbin/slurmdbd
        record slurmdbd "$(pid_from "$ROOT/run/slurmdbd.pid")"
    fi
    wait_for 60 "slurmdbd up" dbd_works || die "slurmdbd does not answer (log: $ROOT/log/slurmdbd.log)"
    sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER" ||
        sacctmgr -i add cluster "$CLUSTER" >/dev/null
    sacctmgr -n -P list account format=account | grep -qx "$ACCOUNT" ||
        sacctmgr -i add account "$ACCOUNT" Cluster="$CLUSTER" Description=ci Organization=ci >/dev/null
    sacctmgr -n -P list user root format=defaultaccount | grep -qx "$ACCOUNT" ||
        sacctmgr -i add user root Account="$ACCOUNT" DefaultAccount="$ACCOUNT" >/dev/null
}

start_slurm_daemon() { # start_slurm_daemon slurmctld|slurmd
    local name=$1
    is_ours_alive "$name" && return 0
    rm -f "$ROOT/run/$name.pid"
    "/usr/sbin/$name"
    record "$name" "$(pid_from "$ROOT/run/$name.pid")"
}

node_state() { sinfo -h -n "$1" -o %t 2>/dev/null; }

node_idle() { [[ $(node_state "$1") == idle ]]; }

up() {
    [[ $(id -u) == 0 ]] || die "run as root (it installs packages and starts system daemons)"
    mkdir -p "$ROOT"/{state,spool,log,run}
    local host
    host=$(hostname -s)
    install_packages
    write_configs "$host"
    write_prolog
    fake_gpus
    start_munge
    start_mariadb
    start_slurmdbd
    start_slurm_daemon slurmctld
    start_slurm_daemon slurmd
    if ! wait_for 60 "node $host idle" node_idle "$host"; then
        sinfo -N -l >&2 || true
        tail -20 "$ROOT/log/slurmd.log" "$ROOT/log/slurmctld.log" >&2 || true
        die "node $host is '$(node_state "$host")', not idle"
    fi
    say "up: partition $PARTITION, node $host, $GPUS fake GPUs, account $ACCOUNT, logs in $ROOT/log"
}

down() {
    if [[ ! -f $STARTED ]]; then
        say "nothing was started here ($STARTED is missing)"
    else
        local name pid i
        # Stop in reverse start order: slurmd, slurmctld, slurmdbd, MariaDB, munged.
        while read -r name pid; do
            if [[ -d /proc/$pid && $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
                kill -TERM "$pid"
                for ((i = 0; i < 150; i++)); do
                    [[ -d /proc/$pid ]] || break
                    sleep 0.1
                done
                if [[ -d /proc/$pid ]]; then
                    say "$name ($pid) ignored SIGTERM for 15s; SIGKILL"
                    kill -KILL "$pid" 2>/dev/null || true
                fi
                say "stopped $name ($pid)"
            fi
        done < <(tac "$STARTED")
        rm -f "$STARTED"
    fi
    local path
    for path in "${CONFS[@]}"; do
        if [[ -f $path ]] && head -1 "$path" | grep -qxF "$MARK"; then
            rm -f "$path"
        fi
    done
    rm -rf "$ROOT/dev"
    say "down (logs stay in $ROOT/log)"
}

status() {
    local name
    for name in munged mariadbd slurmdbd slurmctld slurmd; do
        if is_ours_alive "$name"; then echo "$name: running (started here)"; else echo "$name: not started here"; fi
    done
    sinfo -N -o '%N %P %t %c %m %G' 2>/dev/null || echo "sinfo: no controller"
}

case ${1:-} in
up) up ;;
down) down ;;
status) status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
