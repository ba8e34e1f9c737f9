#!/usr/bin/env bash
# Install what is missing, build dmosopt, run the ZDT1 demo optimization and print its front.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
setup_all
say "building dmosopt (release)"
cargo build --release --locked
mkdir -p runs
rm -f runs/zdt1.h5
say "running configs/zdt1.toml"
target/release/dmosopt run configs/zdt1.toml --output runs/zdt1.h5
say "Pareto front of runs/zdt1.h5"
target/release/dmosopt front runs/zdt1.h5
