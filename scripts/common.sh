# Shared set-up for scripts/demo.sh and scripts/test.sh: install whatever is missing (Debian
# packages, Rust, the project's Python virtualenv with the torch wheel and h5py) and export the
# build environment. Sourced, not run. Every step checks first, so a second run is quick.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
TORCH_VERSION="2.13.0"
APT_PACKAGES=(build-essential pkg-config libclang-dev libopenmpi-dev openmpi-bin
              libhdf5-dev hdf5-tools python3 python3-venv python3-pip ca-certificates curl
              fonts-dejavu-core)

say() { printf '==> %s\n' "$*" >&2; }

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_apt_packages() {
    command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system: install ${APT_PACKAGES[*]} yourself"; return; }
    local missing=()
    for package in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            # python3 / venv may come from elsewhere (pyenv): accept a working interpreter.
            case "$package" in
                python3|python3-venv|python3-pip) python3 -m venv --help >/dev/null 2>&1 && continue ;;
            esac
            missing+=("$package")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "installing Debian packages: ${missing[*]}"
        sudo_if_needed apt-get update -qq
        sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
    fi
}

ensure_rust() {
    [ -d "$HOME/.cargo/bin" ] && export PATH="$HOME/.cargo/bin:$PATH"
    if ! command -v cargo >/dev/null 2>&1; then
        say "installing the Rust toolchain (rustup)"
        curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
}

ensure_venv() {
    if [ ! -x "$VENV/bin/python" ]; then
        say "creating the project virtualenv $VENV"
        python3 -m venv "$VENV"
    fi
    if ! "$VENV/bin/python" -c "import torch, h5py, numpy; assert torch.__version__.split('+')[0] == '$TORCH_VERSION'" >/dev/null 2>&1; then
        say "installing torch==$TORCH_VERSION, h5py and numpy into $VENV (once; large download)"
        "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            "torch==$TORCH_VERSION" h5py numpy
    fi
}

# libtorch from the virtualenv's torch wheel (see build.rs for the run-time path).
export_build_env() {
    export VIRTUAL_ENV="$VENV"
    export PATH="$VENV/bin:$PATH"
    export LIBTORCH_USE_PYTORCH=1
    export DMOSOPT_PYTHON="$VENV/bin/python"
    # MPI tests run as root in containers and CI.
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
}

setup_all() {
    ensure_apt_packages
    ensure_rust
    ensure_venv
    export_build_env
    cd "$ROOT"
}
