#!/usr/bin/env bash
# Installs the Debian packages Segue needs to build and test, if any are missing.
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
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
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
