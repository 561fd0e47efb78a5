#!/bin/bash
# Grade a class on a Slurm cluster: one array task per shard of the class (`biaslab grade --shard K/N`), each into
# its own folder; then merge them into one gradebook. From the biaslab checkout, on storage every node mounts:
#
#   jid=$(sbatch --parsable --array=1-8 lab/grading/slurm-array.sh submitted graded)
#   sbatch --dependency=afterok:"$jid" --wrap 'target/release/biaslab grade merge graded/shard-* --out graded/all'
#
# Each task grades the Kth of N shards (K and N from the array: --array=1-8 or 0-7 both give 1/8 … 8/8) into
# graded/shard-K. A task that fails or is stopped resumes where it stopped when it runs again
# (`scontrol requeue`, or sbatch --array=K …), reusing every finished result.
#
# Needs on every node: bubblewrap with unprivileged user namespaces (the grader is not root there; Debian and
# Fedora allow them; Ubuntu 24.04 needs `sysctl kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor
# profile for bwrap), and the checkout prepared once by `bash lab/setup.sh` (target/kernel/build, .venv) and
# `cargo build --release`. Every shard keeps a warm build of about 1.2 GB in graded/shard-K/.biaslab/: delete it
# when the grading is done.
#
# Every shard must be graded with the same limits: merge refuses shards graded with different ones. So --threads
# is given here (from the task's CPUs), never left to each node's core count.
#SBATCH --job-name=biaslab-grade
#SBATCH --cpus-per-task=2
#SBATCH --mem=12G
#SBATCH --time=06:00:00
#SBATCH --output=biaslab-grade-%A_%a.log
set -euo pipefail

submitted=${1:?usage: sbatch --array=1-N lab/grading/slurm-array.sh SUBMITTED OUT [biaslab grade options]}
out=${2:?usage: sbatch --array=1-N lab/grading/slurm-array.sh SUBMITTED OUT [biaslab grade options]}
shift 2
: "${SLURM_ARRAY_TASK_ID:?run it as a job array: sbatch --array=1-N lab/grading/slurm-array.sh …}"

# K counted from 1 whatever the array's first index; the array must be one unbroken range.
first=${SLURM_ARRAY_TASK_MIN:-1}
count=${SLURM_ARRAY_TASK_COUNT:?}
if (( ${SLURM_ARRAY_TASK_MAX:-$((first + count - 1))} - first + 1 != count )); then
    echo "the array must be one range (--array=1-N), not $first..$SLURM_ARRAY_TASK_MAX in $count tasks" >&2
    exit 2
fi
k=$((SLURM_ARRAY_TASK_ID - first + 1))

biaslab=${BIASLAB_BIN:-target/release/biaslab}
threads=${SLURM_CPUS_PER_TASK:-2}
echo "shard $k/$count of $submitted on $(hostname), $threads threads"
exec "$biaslab" grade "$submitted" --out "$out/shard-$k" --shard "$k/$count" --jobs 1 --threads "$threads" "$@"
