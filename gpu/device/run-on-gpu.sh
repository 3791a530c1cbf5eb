#!/usr/bin/env bash
# Runs on the GPU machine (device tool) from the repository root, with .tmp/gpu-bundle carried
# (build it first with `bash gpu/device/build-bundle.sh`):
#
#   device tool: run(command="bash gpu/device/run-on-gpu.sh", carry=[".tmp/gpu-bundle"], timeout_s=600)
#
# Set-up (any failure stops the script at once, exit 2, with the reason):
#   1. unpacks node and node_modules from the bundle
#   2. checks what dawn.node (npm `webgpu`, linux-x64) needs: glibc >= 2.34 (its newest symbol is
#      GLIBC_2.34) and a libstdc++ with GLIBCXX_3.4.30 (GCC 12 or newer); the bundle does not carry them
#   3. the Vulkan loader: the system's libvulkan.so.1, else the bundle's copy
#   4. the NVIDIA Vulkan ICD json: the first that exists of the usual places, else one written to a
#      temporary folder pointing at the driver's libGLX_nvidia.so.0 (containers often omit the json)
#   5. the WebGPU adapter must be the hardware one (not SwiftShader/llvmpipe)
# Measurements (each one runs; a failure or a time-out is reported and makes the exit status 1):
#   6. the kernel specs on the hardware adapter (MLA_GPU_HARDWARE=1: no software fallback):
#      property tests, real lengths (K up to 8192), the 2^24 index limit, 3 training steps vs cpu,
#      the tiled WGSL GEMM vs core/gemm.ts and gpu.js (spec/gpu-wgsl-gemm.test.ts), the device-resident
#      webgpu backend's kernels and three training steps vs cpu (spec/gpu-device-store.test.ts)
#   7. bench/gpu.ts (WGSL GEMM beside gpu.js's GEMM at ResNet-50 shapes, with their ratio, plus a
#      batch-level and a square product on hardware)
#   8. the training loop's iteration (ClusterNCE and the memory update included) of ResNet-50 + MLA at
#      batch 64, 256x128, and feature extraction, on the device-resident webgpu backend, and the
#      iteration on --backend gpu (gpu/device/resnet-step.ts; the first also reports the MiB that
#      crossed per iteration) and, when python3 has torch and torchvision, PyTorch's ResNet-50 and
#      ResNet-50 + MLA doing the same on the same card (gpu/device/torch-step.py)
#   9. a short `npm run train -- --backend webgpu` (device-resident) (1 epoch of 10 iterations on the synthetic set)
# Everything it prints is also written under $OUT (the device tool brings $OUT back).
# Time: set-up about 30-60 s, then at most 150 + 45 + 130 + 45 + 75 + 90 s: inside the device tool's 600 s.
# Exit status: 0 all passed; 1 a measurement failed (listed at the end); 2 set-up failed.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=.tmp/gpu-bundle
OUT=${OUT:-.tmp/gpu-out}
mkdir -p "$OUT"
LOG="$OUT/device.txt"
W=$(mktemp -d)
T0=$(date +%s)

say() { echo "== [$(( $(date +%s) - T0 )) s] $*" | tee -a "$LOG"; }
die() { echo "FATAL: $*" | tee -a "$LOG" >&2; exit 2; }
trap 'echo "FATAL: unexpected failure at line $LINENO (status $?)" | tee -a "$LOG" >&2' ERR

# ---- 1. bundle ------------------------------------------------------------------------------
if [ ! -f "$B/node.xz" ] || [ ! -f "$B/node_modules.tar.xz" ]; then
  die "$B is missing: build it with 'bash gpu/device/build-bundle.sh' and carry it"
fi
unxz() {
  if command -v xz >/dev/null; then xz -dc "$1"
  else python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}
unxz "$B/node.xz" > "$W/node" || die "could not unpack $B/node.xz"
chmod +x "$W/node"
rm -rf node_modules
unxz "$B/node_modules.tar.xz" | tar -xf - || die "could not unpack $B/node_modules.tar.xz"
export PATH="$W:$PATH"
node -v >/dev/null || die "the bundled node does not run here"
say "node $(node -v), $(uname -m)"

# ---- 2. what dawn.node needs ------------------------------------------------------------------
DAWN=node_modules/webgpu/dist/linux-x64/dawn.node
[ -f "$DAWN" ] || die "$DAWN missing from the bundle"
glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}') || true
[ -n "$glibc" ] || die "cannot tell the glibc version (getconf GNU_LIBC_VERSION); dawn.node needs glibc >= 2.34"
if [ "$(printf '%s\n2.34\n' "$glibc" | sort -V | head -1)" != 2.34 ]; then
  die "glibc $glibc here; dawn.node needs glibc >= 2.34"
fi
stdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
for f in /usr/lib/x86_64-linux-gnu/libstdc++.so.6 /usr/lib64/libstdc++.so.6; do
  if [ -z "$stdcxx" ] && [ -f "$f" ]; then stdcxx=$f; fi
done
[ -n "$stdcxx" ] || die "no libstdc++.so.6 found; dawn.node needs one with GLIBCXX_3.4.30 (GCC 12+)"
if command -v strings >/dev/null; then has30=$(strings "$stdcxx" | grep -c '^GLIBCXX_3\.4\.30$' || true)
else has30=$(grep -c 'GLIBCXX_3\.4\.30' "$stdcxx" || true); fi
[ "$has30" -gt 0 ] || die "$stdcxx lacks GLIBCXX_3.4.30; dawn.node needs libstdc++ from GCC 12 or newer"
say "glibc $glibc (>= 2.34 needed), $stdcxx has GLIBCXX_3.4.30"

# ---- 3. Vulkan loader -------------------------------------------------------------------------
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$PWD/$B/lib"
if [ -d /usr/local/nvidia/lib64 ]; then export LD_LIBRARY_PATH="/usr/local/nvidia/lib64:$LD_LIBRARY_PATH"; fi
if ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1 '; then
  say "Vulkan loader: the system's"
else
  [ -f "$PWD/$B/lib/libvulkan.so.1" ] || die "no libvulkan.so.1 on the system or in $B/lib"
  export MLA_VULKAN_LOADER="$PWD/$B/lib/libvulkan.so.1"
  say "Vulkan loader: the bundle's ($MLA_VULKAN_LOADER)"
fi

# ---- 4. NVIDIA Vulkan ICD json ------------------------------------------------------------------
icd=""
for f in "${VK_ICD_FILENAMES:-}" "${VK_DRIVER_FILES:-}" \
  /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
  /etc/vulkan/icd.d/nvidia_icd.json /usr/local/share/vulkan/icd.d/nvidia_icd.json; do
  if [ -n "$f" ] && [ -f "$f" ] && grep -qi nvidia "$f"; then icd=$f; break; fi
done
if [ -z "$icd" ]; then
  lib=$(ldconfig -p 2>/dev/null | awk '/libGLX_nvidia\.so\.0 .*x86-64/ {print $NF; exit}')
  for d in /usr/local/nvidia/lib64 /usr/lib/x86_64-linux-gnu /usr/lib64; do
    if [ -z "$lib" ] && [ -f "$d/libGLX_nvidia.so.0" ]; then lib="$d/libGLX_nvidia.so.0"; fi
  done
  [ -n "$lib" ] || die "no NVIDIA Vulkan ICD json and no libGLX_nvidia.so.0 (the driver's Vulkan library) found"
  icd="$W/nvidia_icd.json"
  printf '{ "file_format_version": "1.0.1", "ICD": { "library_path": "%s", "api_version": "1.3.0" } }\n' "$lib" > "$icd"
  say "NVIDIA ICD json written: $icd -> $lib"
else
  say "NVIDIA ICD json: $icd"
fi
export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"
export MLA_GPU_HARDWARE=1

# ---- 5. the card and the adapter ----------------------------------------------------------------
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi failed"; } | tee -a "$LOG"
node --import tsx -e "import('./gpu/webgpu-setup.ts').then(async (m) => {
  const r = await m.installWebGpu({ software: 'never' });
  console.log('backend: webgpu on ' + r.label);
  if (r.software) { console.error('the adapter is a software one'); process.exit(1); }
}).catch((e) => { console.error(e.message); process.exit(1); })" 2>&1 | tee -a "$LOG" \
  || die "no hardware WebGPU adapter (see above)"

# ---- measurements: each runs, failures are collected ----------------------------------------------
trap - ERR
set +e
failed=()
step() { # step <name> <timeout s> <log file> <command...>
  local name=$1 limit=$2 log=$3; shift 3
  say "$name (limit ${limit} s)"
  timeout "$limit" "$@" 2>&1 | tee "$OUT/$log"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -eq 124 ]; then failed+=("$name: did not finish within $limit s"); say "$name: TIMED OUT after $limit s"
  elif [ "$rc" -ne 0 ]; then failed+=("$name: exit status $rc (see $log)"); say "$name: FAILED, exit status $rc"
  else say "$name: ok"; fi
}

step "kernel specs on the hardware adapter" 150 tests.txt \
  node node_modules/vitest/vitest.mjs run spec/gpu-kernels.test.ts spec/gpu-long-loops.test.ts spec/gpu-index-limit.test.ts spec/gpu-training.test.ts spec/gpu-wgsl-gemm.test.ts spec/gpu-device-store.test.ts spec/gpu-recorder.test.ts
step "bench/gpu.ts" 45 bench-gpu.txt node --import tsx bench/gpu.ts
cp bench/results/gpu.json "$OUT/" 2>/dev/null || true
step "ResNet-50 + MLA iteration and extraction, batch 64, 256x128, device-resident webgpu" 130 resnet-step-webgpu.txt \
  env MLA_STEP_BACKEND=webgpu MLA_STEP_BATCH=64 MLA_STEP_ITERS=3 node --import tsx gpu/device/resnet-step.ts
step "ResNet-50 + MLA iteration, batch 64, 256x128, --backend gpu (GEMMs only)" 45 resnet-step.txt \
  env MLA_STEP_BATCH=64 MLA_STEP_ITERS=1 MLA_STEP_EXTRACT=0 node --import tsx gpu/device/resnet-step.ts
if command -v python3 >/dev/null && python3 -c 'import torch, torchvision' 2>/dev/null; then
  step "PyTorch ResNet-50 and ResNet-50 + MLA iteration and extraction, batch 64, 256x128 (peer)" 75 torch-step.txt python3 gpu/device/torch-step.py
else
  say "PyTorch peer skipped: python3 has no torch/torchvision"
fi
step "npm run train -- --backend webgpu (1 epoch, 10 iterations)" 90 train.txt \
  node --import tsx reid/train/cli.ts --backend webgpu --epochs 1 --iters 10 --out "$W/train-run"

say "done in $(( $(date +%s) - T0 )) s"
if [ "${#failed[@]}" -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" | tee -a "$LOG" >&2
  exit 1
fi
echo "all steps passed" | tee -a "$LOG"
