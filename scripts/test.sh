#!/usr/bin/env bash
# Install what is missing and run the whole test suite (unit, integration, h5py, binary);
# ends with one summary line "tests: N passed, N failed, N skipped".
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
setup_all
say "running the test suite (release profile)"
# Tests run in parallel (threads and processes); one libtorch thread each keeps its OpenMP
# workers from spinning against each other on a small machine.
export OMP_NUM_THREADS=1
log="$(mktemp)"
status=0
cargo build --release --locked --benches
cargo test --release --locked --lib --bins --tests 2>&1 | tee "$log" || status=$?
# Doc tests are a separate target; run them too.
cargo test --release --locked --doc 2>&1 | tee -a "$log" || status=$?
awk '/^test result:/ {
        for (i = 1; i <= NF; i++) {
            if ($(i+1) ~ /^passed/) passed += $i
            if ($(i+1) ~ /^failed/) failed += $i
            if ($(i+1) ~ /^ignored/) skipped += $i
        }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", passed, failed, skipped }' "$log"
rm -f "$log"
exit "$status"
