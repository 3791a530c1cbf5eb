/**
 * Reads the entries of a zip archive (what `torch.save` writes since PyTorch 1.6: stored, i.e.
 * uncompressed, entries; deflated ones are inflated with node:zlib). Zip64 sizes are honoured.
 */
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** The entry's bytes (a view into the archive when stored uncompressed). */
  data(): Uint8Array;
}

export function isZip(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
}

export function readZip(bytes: Uint8Array, file = '<zip>'): Map<string, ZipEntry> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65535); i--) {
    if (view.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error(`${file}: not a zip archive (no end-of-central-directory record)`);
  let count = view.getUint16(eocd + 10, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  // Zip64: the locator sits just before the EOCD record
  if ((count === 0xffff || cdOffset === 0xffffffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64 = Number(view.getBigUint64(eocd - 12, true));
    count = Number(view.getBigUint64(z64 + 32, true));
    cdOffset = Number(view.getBigUint64(z64 + 48, true));
  }
  const entries = new Map<string, ZipEntry>();
  let p = cdOffset;
  for (let e = 0; e < count; e++) {
    if (view.getUint32(p, true) !== 0x02014b50) throw new Error(`${file}: corrupt zip central directory at byte ${p}`);
    const method = view.getUint16(p + 10, true);
    let csize = view.getUint32(p + 20, true);
    let usize = view.getUint32(p + 24, true);
    const nlen = view.getUint16(p + 28, true);
    const xlen = view.getUint16(p + 30, true);
    const clen = view.getUint16(p + 32, true);
    let local = view.getUint32(p + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 46, p + 46 + nlen));
    // zip64 extra field (id 1): the 0xffffffff fields in order usize, csize, local offset
    for (let x = p + 46 + nlen; x < p + 46 + nlen + xlen;) {
      const id = view.getUint16(x, true);
      const sz = view.getUint16(x + 2, true);
      if (id === 1) {
        let q = x + 4;
        if (usize === 0xffffffff) { usize = Number(view.getBigUint64(q, true)); q += 8; }
        if (csize === 0xffffffff) { csize = Number(view.getBigUint64(q, true)); q += 8; }
        if (local === 0xffffffff) { local = Number(view.getBigUint64(q, true)); }
      }
      x += 4 + sz;
    }
    p += 46 + nlen + xlen + clen;
    const at = local;
    entries.set(name, {
      name,
      data() {
        if (view.getUint32(at, true) !== 0x04034b50) throw new Error(`${file}: corrupt local header of '${name}'`);
        const start = at + 30 + view.getUint16(at + 26, true) + view.getUint16(at + 28, true);
        const raw = bytes.subarray(start, start + csize);
        if (method === 0) return raw;
        if (method === 8) return new Uint8Array(inflateRawSync(raw));
        throw new Error(`${file}: entry '${name}' uses zip compression method ${method}, which is not supported`);
      },
    });
  }
  return entries;
}
