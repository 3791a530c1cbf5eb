/**
 * A small Python pickle reader: the subset of protocols 2-5 that `torch.save` emits for state
 * dicts (dicts, lists, tuples, strings, numbers, globals, REDUCE/NEWOBJ/BUILD, persistent ids).
 * Nothing is executed: a global is a `PyGlobal` record, and REDUCE hands (callable, args) to the
 * caller's `reduce` hook, which knows the few torch rebuild functions (nn/weights.ts).
 */

export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** An object built by NEWOBJ or an unknown REDUCE, with whatever BUILD gave it. */
export class PyObject {
  state: unknown = undefined;
  constructor(readonly cls: PyGlobal, readonly args: unknown[]) {}
}

export interface UnpickleHooks {
  /** Resolve a persistent id (BINPERSID). */
  persistentLoad(pid: unknown): unknown;
  /** Apply a callable global to its args (REDUCE); return undefined to fall back to PyObject. */
  reduce?(fn: PyGlobal, args: unknown[]): unknown;
}

export class UnpicklingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnpicklingError';
  }
}

const MARK = Symbol('mark');

/** Unpickle one pickle starting at `offset`; returns the value and the offset after STOP. */
export function unpickle(bytes: Uint8Array, hooks: UnpickleHooks, offset = 0, where = 'pickle'): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let pos = offset;
  const fail = (msg: string): never => { throw new UnpicklingError(`${where}: ${msg} at byte ${pos}`); };
  const u8 = () => bytes[pos++];
  const u16 = () => { const v = view.getUint16(pos, true); pos += 2; return v; };
  const u32 = () => { const v = view.getUint32(pos, true); pos += 4; return v; };
  const i32 = () => { const v = view.getInt32(pos, true); pos += 4; return v; };
  const u64 = () => { const v = Number(view.getBigUint64(pos, true)); pos += 8; return v; };
  const take = (n: number) => { if (pos + n > bytes.length) fail('truncated'); const b = bytes.subarray(pos, pos + n); pos += n; return b; };
  const utf8 = (n: number) => new TextDecoder().decode(take(n));
  const line = () => { const e = bytes.indexOf(10, pos); if (e < 0) fail('unterminated line'); const s = new TextDecoder().decode(bytes.subarray(pos, e)); pos = e + 1; return s; };
  const popMark = (): unknown[] => {
    let i = stack.length - 1;
    while (i >= 0 && stack[i] !== MARK) i--;
    if (i < 0) fail('MARK not found');
    const items = stack.splice(i);
    items.shift();
    return items;
  };
  const top = () => stack[stack.length - 1];
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (d instanceof Map) d.set(k, v);
    else if (d instanceof PyObject) { /* dict subclass we do not model: ignore items */ }
    else fail('SETITEM on a non-dict');
  };
  const reduce = (fn: unknown, args: unknown[]): unknown => {
    if (!(fn instanceof PyGlobal)) return fail('REDUCE of a non-global');
    if (fn.qualified === 'collections.OrderedDict' || fn.qualified === 'builtins.dict') return new Map();
    const r = hooks.reduce?.(fn, args);
    return r === undefined ? new PyObject(fn, args) : r;
  };
  for (;;) {
    if (pos >= bytes.length) fail('no STOP opcode');
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: pos += 8; break; // FRAME
      case 0x2e: return { value: stack.pop(), end: pos }; // STOP
      case 0x28: stack.push(MARK); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x8f: stack.push(new Set()); break; // EMPTY_SET
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push(stack.splice(-1)); break; // TUPLE1
      case 0x86: stack.push(stack.splice(-2)); break; // TUPLE2
      case 0x87: stack.push(stack.splice(-3)); break; // TUPLE3
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x49: { const s = line(); stack.push(s === '01' ? true : s === '00' ? false : Number(s)); break; } // INT
      case 0x4c: stack.push(Number(line().replace(/L$/, ''))); break; // LONG
      case 0x8a: { // LONG1: little-endian two's complement
        const n = u8();
        const b = take(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: { const v = view.getFloat64(pos, false); pos += 8; stack.push(v); break; } // BINFLOAT
      case 0x58: stack.push(utf8(u32())); break; // BINUNICODE
      case 0x8c: stack.push(utf8(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(utf8(u64())); break; // BINUNICODE8
      case 0x54: stack.push(new TextDecoder('latin1').decode(take(i32()))); break; // BINSTRING
      case 0x55: stack.push(new TextDecoder('latin1').decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x42: stack.push(take(u32()).slice()); break; // BINBYTES
      case 0x43: stack.push(take(u8()).slice()); break; // SHORT_BINBYTES
      case 0x8e: stack.push(take(u64()).slice()); break; // BINBYTES8
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: { const k = u8(); if (!memo.has(k)) fail(`memo ${k} missing`); stack.push(memo.get(k)); break; } // BINGET
      case 0x6a: { const k = u32(); if (!memo.has(k)) fail(`memo ${k} missing`); stack.push(memo.get(k)); break; } // LONG_BINGET
      case 0x63: { const mod = line(); stack.push(new PyGlobal(mod, line())); break; } // GLOBAL
      case 0x93: { const name = stack.pop() as string; stack.push(new PyGlobal(stack.pop() as string, name)); break; } // STACK_GLOBAL
      case 0x52: { const args = stack.pop() as unknown[]; stack.push(reduce(stack.pop(), args)); break; } // REDUCE
      case 0x81: { const args = stack.pop() as unknown[]; stack.push(new PyObject(stack.pop() as PyGlobal, args)); break; } // NEWOBJ
      case 0x62: { const state = stack.pop(); const o = top(); if (o instanceof PyObject) o.state = state; break; } // BUILD
      case 0x73: { const v = stack.pop(); const k = stack.pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { const items = popMark(); const d = top(); for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]); break; } // SETITEMS
      case 0x61: { const v = stack.pop(); (top() as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = top(); if (Array.isArray(l)) l.push(...items); break; } // APPENDS
      case 0x90: { const items = popMark(); const s = top() as Set<unknown>; for (const v of items) s.add(v); break; } // ADDITEMS
      case 0x91: stack.push(new Set(popMark())); break; // FROZENSET
      case 0x51: stack.push(hooks.persistentLoad(stack.pop())); break; // BINPERSID
      case 0x30: stack.pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default: fail(`unsupported opcode 0x${op.toString(16)}`);
    }
  }
}
