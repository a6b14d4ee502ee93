#!/usr/bin/env bash
# Start or stop a one-node SLURM cluster on localhost, for testing neurodyn's job-array
# sharding against a real scheduler (Slurm 22.05 from Debian, no systemd, no
# cgroups). Everything lives in one scratch folder.
#
#   scripts/slurm_cluster.sh start DIR   # install nothing; needs slurmctld slurmd munge
#   export SLURM_CONF=DIR/slurm.conf     # for sbatch, squeue, sinfo
#   scripts/slurm_cluster.sh stop DIR
set -euo pipefail
cmd=${1:?usage: slurm_cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm_cluster.sh start|stop DIR}")

stop() {
    for pidfile in "$dir"/slurmd.pid "$dir"/slurmctld.pid "$dir"/munge/munged.pid; do
        if [ -f "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
}

case "$cmd" in
stop)
    stop
    exit 0
    ;;
start) ;;
*)
    echo "usage: slurm_cluster.sh start|stop DIR" >&2
    exit 2
    ;;
esac

for tool in slurmctld slurmd munged mungekey sbatch sinfo; do
    command -v "$tool" >/dev/null || {
        echo "error: $tool not found" >&2
        echo "hint: apt-get install -y slurmctld slurmd slurm-client munge" >&2
        exit 2
    }
done

mkdir -p "$dir/munge" "$dir/state" "$dir/spool"
# munge refuses a socket folder that others cannot traverse.
chmod 755 "$dir" "$dir/munge"
[ -f "$dir/munge/munge.key" ] || mungekey --create --keyfile="$dir/munge/munge.key"
chmod 600 "$dir/munge/munge.key"
munged --socket="$dir/munge/munge.socket" --key-file="$dir/munge/munge.key" \
    --log-file="$dir/munge/munged.log" --pid-file="$dir/munge/munged.pid" \
    --seed-file="$dir/munge/munged.seed" --force

host=$(hostname -s)
cpus=$(nproc)
mem=$(($(free -m | awk '/^Mem:/ {print $2}') * 8 / 10))
cat >"$dir/slurm.conf" <<CONF
ClusterName=neurodyn
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 50); do
    state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
    if [ "$state" = "idle" ]; then
        echo "slurm: one node ($host, $cpus CPUs) idle; SLURM_CONF=$SLURM_CONF"
        exit 0
    fi
    sleep 0.2
done
echo "error: the SLURM node did not become idle (state: '${state:-none}')" >&2
echo "hint: see $dir/slurmctld.log and $dir/slurmd.log" >&2
stop
exit 1
