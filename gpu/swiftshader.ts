/**
 * SwiftShader: a software Vulkan driver, so WebGPU (Dawn over Vulkan) has a real adapter on a
 * machine without a GPU (CI, this 2-core box).
 *
 * Source: Debian's `chromium-common` package ships `libvk_swiftshader.so` and its ICD json.
 * Dawn also needs the Vulkan loader `libvulkan.so.1` (Debian `libvulkan1`), which a bare machine
 * lacks. Both .debs are fetched with `apt-get download` (no root install), unpacked with
 * `dpkg -x`, and the two files kept in a cache folder:
 *
 *   <cache>/libvk_swiftshader.so
 *   <cache>/vk_swiftshader_icd.json   library_path rewritten to the absolute .so path
 *   <cache>/libvulkan.so.1
 *
 * `VK_ICD_FILENAMES=<cache>/vk_swiftshader_icd.json` makes the Vulkan loader use it.
 * Cache: $MLA_SWIFTSHADER_DIR, else node_modules/.cache/swiftshader (ignored by git).
 *
 * Run `npx tsx gpu/swiftshader.ts` to fetch it and print the paths and the time taken.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SwiftShaderPaths {
  /** folder holding the three files */
  dir: string;
  /** the ICD json to point VK_ICD_FILENAMES at */
  icdJson: string;
  /** the Vulkan loader (libvulkan.so.1) unpacked from Debian's libvulkan1 */
  vulkanLoader: string;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function swiftShaderCacheDir(): string {
  return process.env.MLA_SWIFTSHADER_DIR ?? join(repoRoot, 'node_modules', '.cache', 'swiftshader');
}

function pathsIn(dir: string): SwiftShaderPaths {
  return { dir, icdJson: join(dir, 'vk_swiftshader_icd.json'), vulkanLoader: join(dir, 'libvulkan.so.1') };
}

/** The cached paths, or null when the cache is not (completely) there. */
export function cachedSwiftShader(dir = swiftShaderCacheDir()): SwiftShaderPaths | null {
  const p = pathsIn(dir);
  return existsSync(p.icdJson) && existsSync(p.vulkanLoader) && existsSync(join(dir, 'libvk_swiftshader.so')) ? p : null;
}

function aptDownload(pkg: string, into: string): void {
  const run = () => execFileSync('apt-get', ['download', pkg], { cwd: into, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    run();
  } catch (first) {
    // A fresh machine may have empty apt lists; refresh them once (needs root) and retry.
    if (process.getuid?.() === 0) {
      execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'pipe', 'pipe'] });
      run();
    } else {
      const msg = (first as { stderr?: Buffer }).stderr?.toString() ?? String(first);
      throw new Error(`swiftshader: 'apt-get download ${pkg}' failed (not root, so apt lists were not refreshed): ${msg}`);
    }
  }
}

function findFile(root: string, name: string): string {
  const stack = [root];
  while (stack.length > 0) {
    const d = stack.pop()!;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.name === name && (e.isFile() || e.isSymbolicLink())) return p;
      if (e.isDirectory()) stack.push(p);
    }
  }
  throw new Error(`swiftshader: ${name} not found in the unpacked Debian packages under ${root}`);
}

/**
 * Returns the SwiftShader paths, fetching and unpacking the Debian packages first when the cache
 * is empty. Safe against concurrent callers: each builds in its own temp folder and renames it in.
 */
export function ensureSwiftShader(dir = swiftShaderCacheDir()): SwiftShaderPaths {
  const cached = cachedSwiftShader(dir);
  if (cached) return cached;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`swiftshader: only linux-x64 is supported (this is ${process.platform}-${process.arch})`);
  }
  mkdirSync(dirname(dir), { recursive: true });
  const work = mkdtempSync(join(dirname(dir), '.swiftshader-build-'));
  try {
    const debs = join(work, 'debs');
    const root = join(work, 'root');
    const out = join(work, 'out');
    for (const d of [debs, root, out]) mkdirSync(d);
    aptDownload('chromium-common', debs);
    aptDownload('libvulkan1', debs);
    for (const deb of readdirSync(debs).filter((f) => f.endsWith('.deb'))) {
      execFileSync('dpkg', ['-x', join(debs, deb), root], { stdio: ['ignore', 'pipe', 'pipe'] });
    }
    const so = join(out, 'libvk_swiftshader.so');
    copyFileSync(findFile(root, 'libvk_swiftshader.so'), so);
    // copyFileSync follows the libvulkan.so.1 -> libvulkan.so.1.3.x symlink, giving a plain file.
    copyFileSync(findFile(root, 'libvulkan.so.1'), join(out, 'libvulkan.so.1'));
    const icd = JSON.parse(readFileSync(findFile(root, 'vk_swiftshader_icd.json'), 'utf8'));
    // The packaged json says "./libvk_swiftshader.so"; the loader needs the absolute final path.
    icd.ICD.library_path = join(dir, 'libvk_swiftshader.so');
    writeFileSync(join(out, 'vk_swiftshader_icd.json'), JSON.stringify(icd, null, 2) + '\n');
    try {
      renameSync(out, dir);
    } catch (e) {
      // Another process finished first: use its copy.
      if (!cachedSwiftShader(dir)) throw e;
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const done = cachedSwiftShader(dir);
  if (!done) throw new Error(`swiftshader: set-up finished but ${dir} is incomplete`);
  return done;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const wasCached = cachedSwiftShader() !== null;
  const p = ensureSwiftShader();
  const s = ((performance.now() - t0) / 1000).toFixed(2);
  console.log(`swiftshader ready in ${s} s (${wasCached ? 'cached' : 'fetched'})`);
  console.log(`VK_ICD_FILENAMES=${p.icdJson}`);
  console.log(`vulkan loader: ${p.vulkanLoader}`);
}
