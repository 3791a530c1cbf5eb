#!/usr/bin/env bash
# Builds the carry bundle for a GPU machine that has no Node.js and no network:
#
#   .tmp/gpu-bundle/node.xz               this machine's node binary (self-contained official build)
#   .tmp/gpu-bundle/node_modules.tar.xz   node_modules trimmed to what gpu/, bench/, vitest and tsx need
#                                         (linux-x64 dawn.node only; no @tensorflow, typescript, @types,
#                                         nor the wasm build tools assemblyscript/binaryen: kernels.wasm is committed)
#   .tmp/gpu-bundle/lib/                  libvulkan.so.1 + the X11 libraries NVIDIA's Vulkan ICD loads even
#                                         headless (libX11, libXext, libxcb, libXau, libXdmcp, libbsd, libmd),
#                                         unpacked from Debian 12 packages with apt-get download + dpkg -x
#
# The sources travel as the working tree; pass `carry: [".tmp/gpu-bundle"]` to the device tool and run
# `bash gpu/device/run-on-gpu.sh` there. Size budget: the device tool carries 64 MiB with the working
# tree (about 3 MiB); this was 57 MiB on 2026-12-01 with assemblyscript/binaryen still in it.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=.tmp/gpu-bundle
rm -rf "$OUT" && mkdir -p "$OUT/lib"
t0=$(date +%s)

xz -T0 -6 -c "$(command -v node)" > "$OUT/node.xz"

tar -C . -cf - \
  --exclude='node_modules/@tensorflow' --exclude='node_modules/typescript' --exclude='node_modules/@types' \
  --exclude='node_modules/.cache' --exclude='node_modules/gpu.js/dist' \
  --exclude='node_modules/webgpu/dist/darwin-universal' --exclude='node_modules/webgpu/dist/linux-arm64' \
  --exclude='node_modules/webgpu/dist/win32-arm64' --exclude='node_modules/webgpu/dist/win32-x64' \
  --exclude='node_modules/lightningcss-linux-x64-gnu' \
  --exclude='node_modules/binaryen' --exclude='node_modules/assemblyscript' \
  node_modules | xz -T0 -6 > "$OUT/node_modules.tar.xz"

debs=$(mktemp -d)
( cd "$debs" && apt-get download libvulkan1 libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 >/dev/null 2>&1 )
for d in "$debs"/*.deb; do dpkg -x "$d" "$debs/root"; done
cp -L "$debs"/root/usr/lib/x86_64-linux-gnu/*.so.* "$OUT/lib/" 2>/dev/null || true
cp -L "$debs"/root/lib/x86_64-linux-gnu/*.so.* "$OUT/lib/" 2>/dev/null || true
rm -rf "$debs"

du -sh "$OUT" "$OUT"/* | sed 's/^/  /'
echo "bundle built in $(( $(date +%s) - t0 )) s: $OUT"
