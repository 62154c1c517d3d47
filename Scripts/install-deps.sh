#!/usr/bin/env bash
# Installs the Debian packages Recur needs (OpenCL headers and ICD loader, PoCL as a CPU OpenCL
# device, clinfo, pkg-config, oclgrind for the kernel checks). Uses sudo when not root. Does nothing when all are present.
set -euo pipefail
packages=(ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo pkg-config oclgrind)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]}"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
