#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the submitit_slurm launcher's tests and for
# trying a sweep without a cluster. Needs Debian's slurm-wlm and munge (it installs nothing).
#
#   scripts/slurm_local.sh start    write the config, start munged, slurmctld, slurmd; print the env
#   scripts/slurm_local.sh status   what runs, and sinfo
#   scripts/slurm_local.sh stop     cancel the jobs, stop exactly the daemons started here
#
# Everything lives under $SLURM_LOCAL_DIR (default /tmp/neb-slurm). The daemons listen on
# 127.0.0.1 only: SlurmctldPort $SLURM_LOCAL_PORT (default 6817) and slurmd on the next port.
# Partitions: `debug` (default) and `urgent`, whose jobs preempt debug's: a preempted job is
# sent its --signal (submitit's USR2) at once, then requeued (PreemptMode=REQUEUE).
set -euo pipefail

PATH=$PATH:/usr/sbin:/sbin  # where Debian puts the daemons; not on every user's PATH
DIR=${SLURM_LOCAL_DIR:-/tmp/neb-slurm}
PORT=${SLURM_LOCAL_PORT:-6817}
TIMEOUT=${SLURM_LOCAL_TIMEOUT:-60}  # seconds for the node to come up idle
CONF=$DIR/etc/slurm.conf
SOCKET=$DIR/run/munge.socket  # clients of any user reach it: its folders are 755
NODE=$(hostname -s)
DAEMONS=(slurmd slurmctld munged)

die() {
  echo "slurm_local: $*" >&2
  exit 1
}

pid_file() { echo "$DIR/run/$1.pid"; }

# The pid in the daemon's pid file, if that process is alive and still that daemon (a pid
# file left by a crash may name an unrelated process by now).
live_pid() {
  local file pid
  file=$(pid_file "$1")
  [ -s "$file" ] || return 1
  pid=$(tr -d '[:space:]' <"$file")
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

check_binaries() {
  local b
  for b in munged slurmctld slurmd sinfo squeue scancel; do
    command -v "$b" >/dev/null 2>&1 \
      || die "$b not found: install Debian's slurm-wlm and munge (apt-get install -y slurm-wlm munge)"
  done
}

# Half the memory, in MB: a node that claims more than it has is drained by slurmctld.
real_memory() {
  awk '/^MemTotal:/ { printf "%d\n", $2 / 1024 / 2 }' /proc/meminfo
}

write_conf() {
  local user
  user=$(id -un)
  mkdir -p "$DIR"/{etc,munge,run,log,state,spool}
  chmod 755 "$DIR" "$DIR/run"   # munged wants its socket reachable by all, writable by none
  chmod 700 "$DIR/munge"        # and its key and seed private
  cat >"$CONF" <<EOF
# Written by scripts/slurm_local.sh: a one-node cluster on 127.0.0.1.
ClusterName=neb-local
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
# bind to the address the node resolves to (NodeAddr), not to every interface
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SrunPortRange=$((PORT + 2))-$((PORT + 200))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
# cred_expire: a requeued job waits this long before it starts again (default 120 s)
AuthInfo=socket=$SOCKET,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$(pid_file slurmctld)
SlurmdPidFile=$(pid_file slurmd)
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
# no cgroups in containers and sandboxes: processes are tracked through /proc
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=5
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
InactiveLimit=0
# time between SIGTERM and SIGKILL: a job writes its record and checkpoint in it
KillWait=15
MinJobAge=300
# requeue: \`scontrol requeue\` and submitit's own requeue on USR2; preempted jobs are requeued
JobRequeue=1
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$(real_memory) State=UNKNOWN
# a preempted debug job gets 30 s between its signal and SIGKILL, then is requeued
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP PriorityTier=1 GraceTime=30
PartitionName=urgent Nodes=$NODE MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF
EOF
  if [ ! -s "$DIR/munge/munge.key" ]; then
    (umask 077 && head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
  fi
  chmod 400 "$DIR/munge/munge.key"
}

# Waits for a daemon's pid file: the daemons fork into the background and write it a moment
# after the command returns, and `stop` finds them by it.
wait_pid_file() {
  for _ in $(seq 100); do
    live_pid "$1" >/dev/null && return 0
    sleep 0.1
  done
  stop_daemons
  die "$1 did not start (no live pid in $(pid_file "$1")): $(tail -n 3 "$DIR/log/$1.log" 2>/dev/null)"
}

start_munged() {
  munged --socket="$SOCKET" --key-file="$DIR/munge/munge.key" \
    --pid-file="$(pid_file munged)" --log-file="$DIR/log/munged.log" \
    --seed-file="$DIR/munge/munged.seed" --num-threads=2
}

# Waits for the node to be idle; on timeout prints the logs' tails and stops what started.
wait_idle() {
  local state="" deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    state=$(SLURM_CONF=$CONF sinfo -h -n "$NODE" -o %T 2>/dev/null || true)
    [ "$state" = "idle" ] && return 0
    sleep 1
  done
  echo "slurm_local: node $NODE not idle after ${TIMEOUT}s (state: ${state:-none})" >&2
  local log
  for log in munged slurmctld slurmd; do
    echo "--- $DIR/log/$log.log (tail)" >&2
    # without the PMIx noise: Debian's slurmd logs a failed optional MPI plugin at every start
    grep -v -i pmix "$DIR/log/$log.log" 2>/dev/null | tail -n 15 >&2 || true
  done
  stop_daemons
  die "node $NODE not idle after ${TIMEOUT}s (state: ${state:-none}); logs in $DIR/log"
}

print_env() {
  echo "# SLURM on 127.0.0.1 ($NODE, $(nproc) CPUs, partitions debug and urgent). Export:"
  echo "export SLURM_CONF=$CONF"
}

cmd_start() {
  check_binaries
  local d
  for d in "${DAEMONS[@]}"; do
    if live_pid "$d" >/dev/null; then
      die "$d already runs (pid $(live_pid "$d")): \`$0 stop\` first"
    fi
  done
  local port
  for port in "$PORT" $((PORT + 1)); do
    # a connection that succeeds means another daemon listens there
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      die "port $port on 127.0.0.1 is in use: set SLURM_LOCAL_PORT (slurmd takes the next one)"
    fi
  done
  write_conf
  rm -f "$DIR"/run/*.pid "$DIR"/log/*  # a failed start shows this start's log lines only
  # munged's own errors (an insecure folder, say) come before its log file opens
  start_munged 2>"$DIR/log/munged.stderr" \
    || die "munged did not start: $(tail -n 1 "$DIR/log/munged.stderr")"
  wait_pid_file munged
  # The saved state is kept across restarts so job ids keep counting up: submitit names its
  # folders by job id, and a reused id would find an old sweep's result there. -i: start even
  # if that state is unreadable (a previous run killed mid-write).
  SLURM_CONF=$CONF slurmctld -f "$CONF" -i \
    || { stop_daemons; die "slurmctld did not start: $(tail -n 3 "$DIR/log/slurmctld.log")"; }
  wait_pid_file slurmctld
  SLURM_CONF=$CONF slurmd -f "$CONF" \
    || { stop_daemons; die "slurmd did not start: $(tail -n 3 "$DIR/log/slurmd.log")"; }
  wait_pid_file slurmd
  wait_idle
  print_env >"$DIR/env"
  print_env
}

# Waits up to 10 s for a process to exit, then SIGKILLs it; returns once it is gone.
reap() {
  local pid=$1
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# Cancels every job, so that no slurmstepd or job process outlives the cluster.
cancel_jobs() {
  live_pid slurmctld >/dev/null || return 0
  local jobs
  jobs=$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null || true)
  [ -n "$jobs" ] || return 0
  # shellcheck disable=SC2086  # one argument per job id
  SLURM_CONF=$CONF scancel $jobs 2>/dev/null || true
  for _ in $(seq 60); do
    [ -z "$(SLURM_CONF=$CONF squeue -h -o %i 2>/dev/null || true)" ] && return 0
    sleep 0.5
  done
  echo "slurm_local: jobs still listed after 30 s: $(SLURM_CONF=$CONF squeue -h -o '%i %T')" >&2
}

# SIGTERM to all three at once (each takes a second or two to shut down), then reap each.
stop_daemons() {
  local d pid pids=()
  for d in "${DAEMONS[@]}"; do
    if pid=$(live_pid "$d"); then
      kill -TERM "$pid" 2>/dev/null && pids+=("$d:$pid")
    fi
  done
  for d in "${pids[@]}"; do
    reap "${d#*:}"
    echo "stopped ${d%%:*} (pid ${d#*:})"
  done
  rm -f "$DIR"/run/*.pid
}

cmd_stop() {
  cancel_jobs
  stop_daemons
}

cmd_status() {
  local d pid running=0
  for d in "${DAEMONS[@]}"; do
    if pid=$(live_pid "$d"); then
      echo "$d: running (pid $pid)"
      running=1
    else
      echo "$d: not running"
    fi
  done
  [ $running = 1 ] || return 3
  SLURM_CONF=$CONF sinfo || true
  SLURM_CONF=$CONF squeue || true
  print_env
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *)
    echo "usage: $0 start|stop|status   (state in \$SLURM_LOCAL_DIR, default /tmp/neb-slurm)" >&2
    exit 2
    ;;
esac
