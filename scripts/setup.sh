#!/usr/bin/env bash
# Installs the Debian packages Segue needs to build and test, if any are missing, the
# ONNX Runtime library (the `onnxruntime` wheel from PyPI in a venv at target/onnxruntime/,
# which the ONNX separator and its tests find by default; see separate/src/onnx/runtime.rs),
# and a second Ableton Link peer for the daemon's Link test (the `aalink` wheel in a venv at
# target/aalink/).
# Safe to run repeatedly; does nothing when everything is there.
set -euo pipefail

packages=(
  pkg-config     # -sys crates find native libraries with it
  clang          # signalsmith-stretch runs bindgen ...
  libclang-dev   # ... which needs libclang
  g++            # signalsmith-stretch is C++
  ffmpeg         # decode tests: AAC/M4A and ALAC encoders
  flac           # decode tests: FLAC encoder
  lame           # decode tests: MP3 encoder
  vorbis-tools   # decode tests: OGG Vorbis encoder (oggenc)
  fonts-dejavu-core  # the font `segue analyze --plot` writes its labels with
  libasound2-dev     # cpal's ALSA backend (alsa-sys)
  libjack-jackd2-dev # jack-sys asks pkg-config for jack at build time
  jackd2             # the daemon tests start a real `jackd -d dummy`
  mixxx-data         # real Mixxx controller mappings for the import tests
  xvfb               # the plugin editor screenshot runs under a virtual X server
  xauth              # ... which xvfb-run needs
  libgl1-mesa-dri    # Mesa's software OpenGL: the egui editor draws with GL under Xvfb
  libx11-6           # the editor test reads the screen back with libX11 (dlopened)
  python3-venv       # the venvs for ONNX Runtime and aalink below
  cmake              # rusty_link builds Ableton Link's abl_link C wrapper with CMake
  fluidsynth         # the indie evaluation set (issue 13's CI subset) is rendered with it ...
  fluid-soundfont-gm # ... and two General-MIDI soundfonts
  timgm6mb-soundfont
)

# ONNX Runtime for the ONNX separator (ort with load-dynamic, api-22: onnxruntime >= 1.22).
# ORT_VERSION pins another release; the venv also gets onnx + numpy, which
# separate/tests/fixtures/make_tiny.py (the parity fixture) needs, and NVRTC (CUDA's
# run-time compiler, no GPU needed) for the test that compiles the GPU kernels.
onnxruntime() {
  local root venv
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$root/target/onnxruntime"
  if ! ls "$venv"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so* >/dev/null 2>&1; then
    echo "segue setup: pip install onnxruntime into $venv" >&2
    mkdir -p "$root/target"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "onnxruntime${ORT_VERSION:+==$ORT_VERSION}" onnx numpy
  fi
  # NVRTC alone (no GPU needed): the tests compile the DSP separator's CUDA kernels with it.
  if ! ls "$venv"/lib/python3*/site-packages/nvidia/cuda_nvrtc/lib/libnvrtc.so.12 >/dev/null 2>&1; then
    echo "segue setup: pip install nvidia-cuda-nvrtc-cu12 into $venv" >&2
    "$venv/bin/pip" install -q nvidia-cuda-nvrtc-cu12
  fi
}

# A real second Ableton Link peer for tests/daemon.rs (the official Link library in Python).
aalink() {
  local root venv
  root="$(cd "$(dirname "$0")/.." && pwd)"
  venv="$root/target/aalink"
  if ! "$venv/bin/python" -c "import aalink" >/dev/null 2>&1; then
    echo "segue setup: pip install aalink into $venv" >&2
    mkdir -p "$root/target"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "aalink${AALINK_VERSION:+==$AALINK_VERSION}"
  fi
}

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  onnxruntime
  aalink
  exit 0
fi

echo "segue setup: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
onnxruntime
aalink
