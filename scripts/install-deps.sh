#!/usr/bin/env bash
# Installs every Debian 12 package natter needs to build, run and test.
# Idempotent: packages already present are left alone. Needs root (or sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config dpkg-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libsqlite3-dev libpq-dev libsodium-dev libssl-dev zlib1g-dev
  libspdlog-dev libcli11-dev libtomlplusplus-dev
  libgtest-dev libsignal-protocol-c-dev
  libnats-dev nats-server
  libcurl4-openssl-dev python3-h2 python3-cryptography
  libvips-dev libvips-tools python3-pil
  python3 python3-websockets curl openssl tmux
  postgresql haproxy prometheus
  clang-15 libfuzzer-15-dev clang-format-15 clang-tidy-15
  openjdk-17-jdk-headless junit5
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
