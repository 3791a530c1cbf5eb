/**
 * WebGPU in Node for gpu.js: installs `globalThis.navigator.gpu` from the npm `webgpu` package
 * (Dawn; 0.6.2, pinned via package.json overrides) and reports the adapter it found.
 *
 * Steps (idempotent, once per thread):
 *   1. Make the Vulkan loader `libvulkan.so.1` loadable: the system's if it has one, else the copy
 *      that gpu/swiftshader.ts unpacked, or $MLA_VULKAN_LOADER (the GPU carry bundle sets it).
 *      It is preloaded with RTLD_NODELETE | RTLD_GLOBAL so Dawn's later dlopen("libvulkan.so.1")
 *      finds it by soname even though LD_LIBRARY_PATH was not set when this process started.
 *   2. software: 'always' points VK_ICD_FILENAMES at SwiftShader (fetched if needed);
 *      'fallback' does so only when no hardware adapter answers; 'never' never does.
 *   3. navigator.gpu = create([]) with the package's `globals` (GPUBufferUsage etc.) on globalThis;
 *      requestAdapter is memoised so gpu.js gets the very adapter reported here.
 *
 * installWebGpu(...) -> { adapter: { vendor, architecture, device, description }, software, label }
 * label is "<vendor> <architecture> (<description>)", printed as "backend: webgpu on <label>".
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';
import { existsSync } from 'node:fs';
import { cachedSwiftShader, ensureSwiftShader } from './swiftshader.ts';

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

export interface WebGpuInstall {
  adapter: AdapterReport;
  /** true when the adapter is SwiftShader (software Vulkan on the CPU) */
  software: boolean;
  /** one line for the start-up banner */
  label: string;
}

export type SoftwareAdapterPolicy = 'always' | 'fallback' | 'never';

const RTLD_NODELETE = 0x1000; // glibc's value; not in os.constants.dlopen

/** dlopen with NODELETE; true when the library is now resident. */
function preload(path: string): boolean {
  const flags = osConstants.dlopen.RTLD_NOW | osConstants.dlopen.RTLD_GLOBAL | RTLD_NODELETE;
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, path, flags);
    return true;
  } catch (e) {
    // Not a Node addon, so process.dlopen always throws; the library is loaded iff the error is
    // about registration rather than about finding or loading the file.
    return /did not self-register|Module did not/.test(String((e as Error).message));
  }
}

let vulkanReady = false;

function ensureVulkanLoader(software: SoftwareAdapterPolicy): void {
  if (vulkanReady) return;
  const candidates = [process.env.MLA_VULKAN_LOADER, 'libvulkan.so.1'];
  for (const c of candidates) {
    if (c && (c === 'libvulkan.so.1' || existsSync(c)) && preload(c)) {
      vulkanReady = true;
      return;
    }
  }
  const cached = software === 'never' ? cachedSwiftShader() : ensureSwiftShader();
  if (cached && preload(cached.vulkanLoader)) {
    vulkanReady = true;
    return;
  }
  throw new Error(
    'webgpu: the Vulkan loader libvulkan.so.1 is missing (install Debian/Ubuntu libvulkan1, set ' +
      'MLA_VULKAN_LOADER=/path/to/libvulkan.so.1, or run `npx tsx gpu/swiftshader.ts`)',
  );
}

interface DawnModule {
  create(flags: string[]): GpuLike;
  globals: Record<string, unknown>;
}
interface AdapterLike {
  info: AdapterReport;
}
interface GpuLike {
  requestAdapter(opts?: object): Promise<AdapterLike | null>;
}

function loadDawn(): DawnModule {
  // The webgpu package is ESM with a top-level createRequire; require() of its .node file keeps
  // this function synchronous and the module loaded once per thread.
  const require = createRequire(import.meta.url);
  const pkgDir = require.resolve('webgpu/package.json').replace(/package\.json$/, '');
  const arch = process.platform === 'darwin' ? 'universal' : process.arch;
  return require(`${pkgDir}dist/${process.platform}-${arch}/dawn.node`) as DawnModule;
}

function report(a: AdapterLike): AdapterReport {
  const i = a.info;
  return { vendor: i.vendor ?? '', architecture: i.architecture ?? '', device: i.device ?? '', description: i.description ?? '' };
}

function labelOf(r: AdapterReport): string {
  const name = [r.vendor, r.architecture].filter((s) => s).join(' ') || 'unknown adapter';
  return r.description ? `${name} (${r.description})` : name;
}

function isSoftware(r: AdapterReport): boolean {
  return /swiftshader|llvmpipe|lavapipe/i.test(`${r.vendor} ${r.architecture} ${r.description}`);
}

let installed: Promise<WebGpuInstall> | null = null;

async function requestAdapter(dawn: DawnModule): Promise<{ gpu: GpuLike; adapter: AdapterLike | null }> {
  const gpu = dawn.create([]);
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return { gpu, adapter };
}

async function install(software: SoftwareAdapterPolicy): Promise<WebGpuInstall> {
  ensureVulkanLoader(software);
  if (software === 'always') process.env.VK_ICD_FILENAMES = ensureSwiftShader().icdJson;
  const dawn = loadDawn();
  Object.assign(globalThis, dawn.globals);
  let { gpu, adapter } = await requestAdapter(dawn);
  if (!adapter && software === 'fallback') {
    process.env.VK_ICD_FILENAMES = ensureSwiftShader().icdJson;
    ({ gpu, adapter } = await requestAdapter(dawn));
  }
  if (!adapter) {
    const icd = process.env.VK_ICD_FILENAMES ? ` (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES})` : '';
    throw new Error(
      `webgpu: no WebGPU adapter found${icd}. No Vulkan driver answered; on a machine without a GPU ` +
        `use the software adapter (MLA_ALLOW_SOFTWARE_GPU=1 with --backend gpu, or software: 'always' in code; SwiftShader via gpu/swiftshader.ts).`,
    );
  }
  const chosen = adapter;
  // gpu.js calls navigator.gpu.requestAdapter() itself; hand it the adapter reported here.
  const navGpu = Object.create(gpu) as GpuLike;
  navGpu.requestAdapter = async () => chosen;
  const nav = (globalThis as { navigator?: object }).navigator;
  if (nav) {
    Object.defineProperty(nav, 'gpu', { value: navGpu, configurable: true, writable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: navGpu }, configurable: true, writable: true });
  }
  const r = report(chosen);
  return { adapter: r, software: isSoftware(r), label: labelOf(r) };
}

/**
 * Installs navigator.gpu once per thread and resolves to the adapter report; rejects with a clear
 * message when no adapter exists. Later calls return the first result whatever their policy.
 */
export function installWebGpu(opts: { software?: SoftwareAdapterPolicy } = {}): Promise<WebGpuInstall> {
  if (!installed) {
    installed = install(opts.software ?? 'never');
    installed.catch(() => {
      installed = null;
    });
  }
  return installed;
}
