#!/bin/bash
# Submit a chain of jobs that continue one optimization: each job starts when the previous one
# has ended for whatever reason (afterany: completed, failed, or killed at the time limit) and
# continues from the result file with --resume. With a deadline (SLURM_JOB_END_TIME, see
# run.sbatch) every job stops handing out work before its limit and leaves a consistent file.
#
#   slurm/chain.sh N CONFIG [SBATCH_SCRIPT] [-- dmosopt run options …]
#   slurm/chain.sh 5 configs/net.toml
#   slurm/chain.sh 3 configs/net.toml slurm/gpu-controller.sbatch -- --output /scratch/$USER/net.h5
#
# Each later job resumes exactly where the previous one stopped: stored evaluations are kept,
# those in flight at the limit are evaluated again, and the result equals one long run's.
# Cancel the rest of a chain with: scancel --name=dmosopt  (or the job ids printed below).

set -euo pipefail
n="${1:?usage: slurm/chain.sh N CONFIG [SBATCH_SCRIPT] [-- dmosopt run options]}"
config="${2:?usage: slurm/chain.sh N CONFIG [SBATCH_SCRIPT] [-- dmosopt run options]}"
shift 2
script="$(dirname "$0")/run.sbatch"
if [[ $# -gt 0 && "$1" != "--" ]]; then
    script="$1"
    shift
fi
[[ "${1:-}" == "--" ]] && shift
options=("$@")

job="$(sbatch --parsable "$script" "$config" ${options[@]+"${options[@]}"})"
echo "job 1/$n: $job"
for ((i = 2; i <= n; i++)); do
    job="$(sbatch --parsable --dependency="afterany:$job" "$script" "$config" --resume ${options[@]+"${options[@]}"})"
    echo "job $i/$n: $job (after the previous one, --resume)"
done
