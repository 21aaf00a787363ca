#!/usr/bin/env bash
# Installs the Debian packages Watchkeeper builds, runs and tests with. Cheap when all are present.
set -euo pipefail
packages=(
  cmake ninja-build g++ clang pkg-config ccache git ca-certificates curl
  libcaf-dev libwebsockets-dev rapidjson-dev libpqxx-dev libpq-dev libspdlog-dev libfmt-dev
  doctest-dev libcurl4-openssl-dev libyaml-cpp-dev libssl-dev zlib1g-dev libbenchmark-dev
  postgresql prometheus-node-exporter
)
if [ "${1:-}" = "--test" ]; then
  # Test-only: promtool (prometheus), compose validation, an SMTP server, openssl for TLS
  # fixtures, and clang's sanitizer/fuzzer runtime for the fuzz target.
  # Debian's chromium drives the dashboard's browser test.
  packages+=(prometheus docker-compose python3 python3-aiosmtpd procps psmisc openssl libclang-rt-14-dev
             chromium)
fi
# The dashboard is bundled with node and npm at build time; use the machine's when it has them.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
