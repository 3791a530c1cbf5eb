#!/usr/bin/env bash
# Runs on the GPU machine (device tool) from the repository root, with .tmp/gpu-bundle carried
# (build it first with `bash gpu/device/build-bundle.sh`):
#
#   device tool: run(command="bash gpu/device/run-on-gpu.sh", carry=[".tmp/gpu-bundle"])
#
# 1. unpacks node and node_modules, puts the bundle's libs behind the system's on LD_LIBRARY_PATH
# 2. prints the card (nvidia-smi) and the Vulkan ICDs present
# 3. runs the gpu-vs-cpu property tests on the hardware adapter (MLA_GPU_HARDWARE=1: the tests use
#    no software fallback and FAIL if the adapter is SwiftShader/llvmpipe)
# 4. runs bench/gpu.ts (GEMM at ResNet-50 shapes) and, when present, bench/resnet-step.ts
#    (our ResNet-50 training step) and gpu/device/torch-step.py (PyTorch peer, same GPU)
# Everything it measures is copied to $OUT (the device tool brings $OUT back).
set -uo pipefail
cd "$(dirname "$0")/../.."
B=.tmp/gpu-bundle
OUT=${OUT:-.tmp/gpu-out}
mkdir -p "$OUT"
W=$(mktemp -d)
unxz() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
unxz "$B/node.xz" > "$W/node" && chmod +x "$W/node"
rm -rf node_modules && unxz "$B/node_modules.tar.xz" | tar -xf -
export PATH="$W:$PATH"
# System libs first (a real libvulkan/ libX11 there wins); the bundle's fill the gaps.
export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$PWD/$B/lib"
[ -e /usr/lib/x86_64-linux-gnu/libvulkan.so.1 ] || export MLA_VULKAN_LOADER="$PWD/$B/lib/libvulkan.so.1"
export MLA_GPU_HARDWARE=1

{
  echo "== node $(node -v)"; nvidia-smi || true
  echo "== Vulkan ICDs"; ls -l /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1 || true
  echo "== adapter"
  node --import tsx -e "import('./gpu/webgpu-setup.ts').then(async m => { const r = await m.installWebGpu({ software: 'never' }); console.log('backend: webgpu on ' + r.label + (r.software ? ' (SOFTWARE!)' : '')); })" 2>&1
} | tee "$OUT/device.txt"

echo "== property tests (webgpu on the hardware adapter)" | tee -a "$OUT/device.txt"
( time node node_modules/vitest/vitest.mjs run spec/gpu-kernels.test.ts ) 2>&1 | tee "$OUT/tests.txt"

echo "== bench/gpu.ts" | tee -a "$OUT/device.txt"
node --import tsx bench/gpu.ts 2>&1 | tee "$OUT/bench-gpu.txt"
cp bench/results/gpu.json "$OUT/" 2>/dev/null || true

if [ -f bench/resnet-step.ts ]; then
  echo "== bench/resnet-step.ts --backend gpu"
  node --import tsx bench/resnet-step.ts --backend gpu 2>&1 | tee "$OUT/resnet-step.txt"
else
  echo "== bench/resnet-step.ts not present yet: our ResNet-50 step was not timed" | tee -a "$OUT/device.txt"
fi
if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then
  echo "== PyTorch ResNet-50 step (peer)"
  python3 gpu/device/torch-step.py 2>&1 | tee "$OUT/torch-step.txt"
fi
