/**
 * Re-ID data set loaders: a folder on disk in, three lists of {path, pid, camid} out.
 *
 *   ReidItem    { path (absolute), pid, camid (zero-based) }
 *   ReidDataset { train, query, gallery, numTrainPids, numCameras, format, root }
 *
 * Rules shared by every layout (the community's data-set classes, e.g. torchreid / cluster-contrast):
 *   - junk images (pid -1) are dropped everywhere;
 *   - distractors (pid 0) are kept in the gallery, dropped from train and query;
 *   - training pids are relabelled 0..P-1 in increasing order of the original pid; query and
 *     gallery keep the original pids (so they match each other);
 *   - camera ids are zero-based.
 *
 * Layouts (format names for `loadDataset`):
 *   market1501  ROOT/{bounding_box_train,query,bounding_box_test}/PPPP_cCsS_FFFFFF_BB.jpg (camera 1..6)
 *   dukemtmc    same folders, names PPPP_cC_fFFFFFFF.jpg (camera 1..8)
 *   msmt17      either the converted layout (same folders, names PPPP_cCC_NNNN.jpg, camera 1..15), or
 *               the original one: ROOT/{train,test}/ (or mask_train_v2/, mask_test_v2/) with
 *               ROOT/list_{train,val,query,gallery}.txt, lines "PPPP/PPPP_NNN_CC_...jpg PID"
 *               (camera = third '_' field, 1-based); val joins train only with includeVal.
 *               MSMT17 pids start at 0 and it has no distractors, so its query/gallery pids are
 *               reported shifted by one (pid + 1)
 *   personx     same folders as Market; cameras are 3, 4, 8, 10, 11, 12 and map to 0..5 (as SpCL /
 *               cluster-contrast do)
 *   folder      ROOT/{train,query,gallery}/<person>/<image>.{jpg,jpeg,png} with the camera in the file
 *               name (`c3`: at the start or after _ - .), or ROOT/{train,query,gallery}/<person>/<camera>/<image>;
 *               any folder names; persons with the same name in query and gallery are the same identity; a person
 *               folder named `_distractors` in gallery/ gives pid 0. Training identities only feed
 *               reports (clustering is unsupervised): unlabelled data can sit in one person folder.
 *   auto        picks one of the above from what ROOT contains (also one folder level down).
 * A wrong or partial layout raises DatasetLayoutError saying what was expected and what was found.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

export interface ReidItem {
  path: string;
  pid: number;
  camid: number;
}

export type DatasetFormat = 'market1501' | 'dukemtmc' | 'msmt17' | 'personx' | 'folder' | 'auto';

export interface ReidDataset {
  format: Exclude<DatasetFormat, 'auto'>;
  root: string;
  train: ReidItem[];
  query: ReidItem[];
  gallery: ReidItem[];
  numTrainPids: number;
  /** Number of distinct zero-based camera ids over all splits (max camid + 1). */
  numCameras: number;
}

export interface LoadOptions {
  /** MSMT17 original layout: add list_val.txt to the training set (default false, the usual setting). */
  includeVal?: boolean;
}

export class DatasetLayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetLayoutError';
  }
}

const IMAGE = /\.(jpe?g|png)$/i;
/** The camera in a file name of the folder layout: `c3` at the start or after `_`, `-` or `.`. */
const FOLDER_CAMERA = /(?:^|[_.-])c(\d+)(?=[^\d]|$)/i;
const BOX_DIRS = ['bounding_box_train', 'query', 'bounding_box_test'];
const PERSONX_CAMERAS: Record<number, number> = { 3: 0, 4: 1, 8: 2, 10: 3, 11: 4, 12: 5 };

function listing(dir: string): string {
  if (!existsSync(dir)) return '(the folder does not exist)';
  const names = readdirSync(dir).sort();
  if (names.length === 0) return '(empty)';
  const shown = names.slice(0, 12).map((n) => (statSync(join(dir, n)).isDirectory() ? `${n}/` : n));
  return shown.join(', ') + (names.length > 12 ? `, ... (${names.length} entries)` : '');
}

function isDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}

function requireDirs(root: string, dirs: string[], layout: string): void {
  const missing = dirs.filter((d) => !isDir(join(root, d)));
  if (missing.length) {
    throw new DatasetLayoutError(`${root}: the ${layout} layout needs the folders ${dirs.map((d) => d + '/').join(', ')}; missing ${missing.map((d) => d + '/').join(', ')}. Found: ${listing(root)}`);
  }
}

/** Training pids -> 0..P-1 (sorted by original pid). */
function relabel(items: ReidItem[]): { items: ReidItem[]; count: number } {
  const pids = [...new Set(items.map((x) => x.pid))].sort((a, b) => a - b);
  const map = new Map(pids.map((p, i) => [p, i]));
  return { items: items.map((x) => ({ ...x, pid: map.get(x.pid)! })), count: pids.length };
}

function finish(format: ReidDataset['format'], root: string, train: ReidItem[], query: ReidItem[], gallery: ReidItem[]): ReidDataset {
  // Junk (-1) out everywhere; distractors (0) only stay in the gallery.
  const tr = relabel(train.filter((x) => x.pid > 0));
  const q = query.filter((x) => x.pid > 0);
  const g = gallery.filter((x) => x.pid >= 0);
  for (const [name, list] of [['train', tr.items], ['query', q], ['gallery', g]] as const) {
    if (list.length === 0) throw new DatasetLayoutError(`${root}: the ${name} split has no usable images (after dropping junk pid -1${name === 'gallery' ? '' : ' and distractors pid 0'})`);
  }
  let maxCam = -1;
  for (const x of [...tr.items, ...q, ...g]) maxCam = Math.max(maxCam, x.camid);
  return { format, root, train: tr.items, query: q, gallery: g, numTrainPids: tr.count, numCameras: maxCam + 1 };
}

/** A bounding_box_* folder: every image's name must start with PID_cCAM. */
function parseBoxDir(dir: string, pattern: RegExp, patternText: string, camid: (cam: number, file: string) => number): ReidItem[] {
  const out: ReidItem[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!IMAGE.test(f)) continue;
    const m = pattern.exec(f);
    if (!m) throw new DatasetLayoutError(`${join(dir, f)}: the file name does not match ${patternText}`);
    const pid = Number(m[1]);
    out.push({ path: join(dir, f), pid, camid: camid(Number(m[2]), join(dir, f)) });
  }
  if (out.length === 0) throw new DatasetLayoutError(`${dir}: no images named ${patternText} (found: ${listing(dir)})`);
  return out;
}

function loadBoxLayout(root: string, format: 'market1501' | 'dukemtmc' | 'msmt17' | 'personx'): ReidDataset {
  requireDirs(root, BOX_DIRS, format);
  const pattern = format === 'market1501' || format === 'dukemtmc' ? /^(-?\d+)_c(\d)/ : /^(-?\d+)_c(-?\d+)/;
  const text = format === 'market1501' ? 'PPPP_cCsS_FFFFFF_BB.jpg (e.g. 0002_c1s1_000451_03.jpg)'
    : format === 'dukemtmc' ? 'PPPP_cC_fFFFFFFF.jpg (e.g. 0001_c2_f0046182.jpg)'
      : format === 'msmt17' ? 'PPPP_cCC_NNNN.jpg (e.g. 0000_c14_0001.jpg)' : 'PPPP_cC_NNNN.jpg (e.g. 0001_c3_0001.jpg)';
  const camid = (cam: number, file: string): number => {
    if (format === 'personx') {
      const c = PERSONX_CAMERAS[cam];
      if (c === undefined) throw new DatasetLayoutError(`${file}: PersonX cameras are 3, 4, 8, 10, 11, 12; found camera ${cam}`);
      return c;
    }
    if (cam < 1) throw new DatasetLayoutError(`${file}: camera numbers start at 1; found ${cam}`);
    return cam - 1;
  };
  let [train, query, gallery] = BOX_DIRS.map((d) => parseBoxDir(join(root, d), pattern, text, camid));
  if (format === 'msmt17') {
    // MSMT17 pids start at 0 and it has no distractors: shift real pids by one so the shared rule
    // (pid 0 = distractor) keeps identity 0.
    [train, query, gallery] = [train, query, gallery].map((xs) => xs.map((x) => (x.pid >= 0 ? { ...x, pid: x.pid + 1 } : x)));
  }
  return finish(format, root, train, query, gallery);
}

function loadMsmtLists(root: string, includeVal: boolean): ReidDataset {
  const trainDir = ['train', 'mask_train_v2'].map((d) => join(root, d)).find(isDir);
  const testDir = ['test', 'mask_test_v2'].map((d) => join(root, d)).find(isDir);
  const lists = ['list_train.txt', 'list_query.txt', 'list_gallery.txt', ...(includeVal ? ['list_val.txt'] : [])];
  const missing = [...lists.filter((l) => !existsSync(join(root, l))), ...(trainDir ? [] : ['train/']), ...(testDir ? [] : ['test/'])];
  if (missing.length) throw new DatasetLayoutError(`${root}: the MSMT17 list layout needs train/ and test/ (or mask_train_v2/, mask_test_v2/) and ${lists.join(', ')}; missing ${missing.join(', ')}. Found: ${listing(root)}`);
  const read = (list: string, dir: string): ReidItem[] => {
    const file = join(root, list);
    const out: ReidItem[] = [];
    readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
      if (!line.trim()) return;
      const [rel, label] = line.trim().split(/\s+/);
      const fields = basename(rel ?? '').split('_');
      const pid = Number(label);
      const cam = Number(fields[2]);
      if (!rel || !Number.isInteger(pid) || fields.length < 3 || !Number.isInteger(cam) || cam < 1) {
        throw new DatasetLayoutError(`${file}:${i + 1}: expected "PPPP/PPPP_NNN_CC_..._.jpg PID" (camera in the third '_' field, from 1); found "${line.trim()}"`);
      }
      out.push({ path: join(dir, rel), pid, camid: cam - 1 });
    });
    if (out.length === 0) throw new DatasetLayoutError(`${file}: the list is empty`);
    return out;
  };
  const train = read('list_train.txt', trainDir!);
  if (includeVal) train.push(...read('list_val.txt', trainDir!));
  // MSMT17 list labels start at 0 and have no junk or distractors: shift by one so the shared
  // rule (pid 0 = distractor) does not drop identity 0, then relabel as usual.
  const shift = (xs: ReidItem[]) => xs.map((x) => ({ ...x, pid: x.pid + 1 }));
  return finish('msmt17', root, shift(train), shift(read('list_query.txt', testDir!)), shift(read('list_gallery.txt', testDir!)));
}

function loadFolderLayout(root: string): ReidDataset {
  const splits = ['train', 'query', 'gallery'];
  requireDirs(root, splits, 'plain folder (train/, query/, gallery/ with <person>/<image> named with its camera, e.g. c3, or <person>/<camera>/<image>)');
  const walk = (split: string) => {
    const out: { person: string; camera: string; path: string }[] = [];
    const sdir = join(root, split);
    for (const person of readdirSync(sdir).sort()) {
      const pdir = join(sdir, person);
      if (!isDir(pdir)) {
        if (IMAGE.test(person)) throw new DatasetLayoutError(`${pdir}: images go in a person folder (${split}/<person>/<image> or ${split}/<person>/<camera>/<image>), not directly in ${split}/`);
        continue;
      }
      for (const entry of readdirSync(pdir).sort()) {
        const epath = join(pdir, entry);
        if (isDir(epath)) {
          // <person>/<camera>/<image>
          for (const f of readdirSync(epath).sort()) if (IMAGE.test(f)) out.push({ person, camera: entry, path: join(epath, f) });
        } else if (IMAGE.test(entry)) {
          // <person>/<image> with the camera in the name: c3, as in Market-1501's 0002_c3s1_000451_03.jpg
          const m = FOLDER_CAMERA.exec(entry);
          if (!m) throw new DatasetLayoutError(`${epath}: no camera in the file name; name images like 0001_c3_01.jpg (camera 3) or put them in ${split}/<person>/<camera>/`);
          out.push({ person, camera: `c${Number(m[1])}`, path: epath });
        }
      }
    }
    if (out.length === 0) throw new DatasetLayoutError(`${sdir}: no images in ${split}/<person>/ (camera as c3 in the name) or ${split}/<person>/<camera>/ (found: ${listing(sdir)})`);
    return out;
  };
  const [tr, q, g] = splits.map(walk);
  const cameras = [...new Set([...tr, ...q, ...g].map((x) => x.camera))].sort();
  const camOf = new Map(cameras.map((c, i) => [c, i]));
  const people = [...new Set([...tr, ...q, ...g].map((x) => x.person).filter((p) => p !== '_distractors'))].sort();
  const pidOf = new Map(people.map((p, i) => [p, i + 1]));
  const item = (x: { person: string; camera: string; path: string }): ReidItem => ({ path: x.path, pid: x.person === '_distractors' ? 0 : pidOf.get(x.person)!, camid: camOf.get(x.camera)! });
  return finish('folder', root, tr.map(item), q.map(item), g.map(item));
}

/** The layout of `root` as found on disk (no folder level down), or null when it is none of them. */
export function detectLayout(root: string): Exclude<DatasetFormat, 'auto'> | null {
  return isDir(root) ? detect(resolve(root)) : null;
}

function detect(root: string): Exclude<DatasetFormat, 'auto'> | null {
  if (existsSync(join(root, 'list_train.txt'))) return 'msmt17';
  if (BOX_DIRS.every((d) => isDir(join(root, d)))) {
    const name = root.toLowerCase();
    if (name.includes('duke')) return 'dukemtmc';
    if (name.includes('msmt')) return 'msmt17';
    if (name.includes('personx')) return 'personx';
    // Duke names carry '_f' frames; MSMT converted names have two-digit cameras.
    const sample = readdirSync(join(root, 'bounding_box_train')).find((f) => IMAGE.test(f)) ?? '';
    if (/^-?\d+_c\d+_f\d+/.test(sample)) return 'dukemtmc';
    if (/^-?\d+_c\d\d/.test(sample)) return 'msmt17';
    return 'market1501';
  }
  if (['train', 'query', 'gallery'].every((d) => isDir(join(root, d)))) return 'folder';
  return null;
}

/** Loads the data set under `root` in the given layout (or detects it). */
export function loadDataset(root: string, format: DatasetFormat = 'auto', opts: LoadOptions = {}): ReidDataset {
  root = resolve(root);
  if (!isDir(root)) throw new DatasetLayoutError(`${root}: data set folder does not exist`);
  let fmt = format;
  if (fmt === 'auto') {
    let found = detect(root);
    if (!found) {
      // One level down (e.g. ROOT/Market-1501-v15.09.15/).
      const subs = readdirSync(root).map((d) => join(root, d)).filter(isDir).filter((d) => detect(d));
      if (subs.length === 1) return loadDataset(subs[0], 'auto', opts);
      throw new DatasetLayoutError(`${root}: not a known re-ID layout. Expected bounding_box_train/, query/, bounding_box_test/ (Market-1501, DukeMTMC-reID, MSMT17, PersonX), or list_train.txt with train/ and test/ (MSMT17), or train/, query/, gallery/ (plain folders). Found: ${listing(root)}`);
    }
    fmt = found;
  }
  switch (fmt) {
    case 'market1501':
    case 'dukemtmc':
    case 'personx':
      return loadBoxLayout(root, fmt);
    case 'msmt17':
      return existsSync(join(root, 'list_train.txt')) && !isDir(join(root, 'bounding_box_train')) ? loadMsmtLists(root, opts.includeVal ?? false) : loadBoxLayout(root, 'msmt17');
    case 'folder':
      return loadFolderLayout(root);
    default:
      throw new DatasetLayoutError(`unknown data set format '${format}' (expected market1501, dukemtmc, msmt17, personx, folder or auto)`);
  }
}

/**
 * Why `root` cannot be read as `requested`, or null when its layout agrees: the folders found must be
 * the requested layout's (bounding_box_* for Market-1501 / DukeMTMC-reID / PersonX / MSMT17, the
 * list files for MSMT17, train/query/gallery for folder), and Duke's `_f` frame names or MSMT17's
 * two-digit cameras must not be read as another set. A root with none of the layouts is left to
 * loadDataset's own message (which also looks one folder level down).
 */
export function layoutDisagreement(root: string, requested: Exclude<DatasetFormat, 'auto'>): string | null {
  const found = detectLayout(root);
  if (!found) return null;
  const family = (f: string) => (f === 'folder' ? 'folder' : 'box');
  if (family(found) !== family(requested) && !(requested === 'msmt17' && found === 'msmt17')) {
    return `${resolve(root)} holds a ${found} layout (${listing(root)}), not ${requested}: give --dataset ${found}`;
  }
  if (family(found) === 'box' && isDir(join(root, 'bounding_box_train'))) {
    const sample = readdirSync(join(root, 'bounding_box_train')).find((f) => IMAGE.test(f)) ?? '';
    const byName = /^-?\d+_c\d+_f\d+/.test(sample) ? 'dukemtmc' : /^-?\d+_c\d\d/.test(sample) ? 'msmt17' : null;
    if (byName && byName !== requested) return `${resolve(root)}: its images are named like ${byName} (${sample}), not ${requested}: give --dataset ${byName}`;
  }
  return null;
}
