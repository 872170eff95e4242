// Turns a wasm module that imports a shared memory into one that imports an
// ordinary memory: the import section is walked entry by entry and only the
// memory import's limits flag loses its "shared" bit (0x02). Nothing else
// changes size or place, so the rest of the binary is untouched. Throws a
// one-line Error when the module is not what we expect.

const MEMORY_SHARED = 0x02;

/** @param {Uint8Array} input @returns {Uint8Array} a modified copy */
export function unshareMemoryImport(input) {
  const bytes = Uint8Array.from(input);
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new Error('not a WebAssembly binary');
  }
  let pos = 8;
  const u32 = () => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new Error('truncated LEB128 number');
      const b = bytes[pos++];
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error('LEB128 number too long');
    }
  };
  const skipName = () => {
    const len = u32();
    pos += len;
  };
  const skipLimits = () => {
    const flags = bytes[pos++];
    u32();
    if (flags & 1) u32();
  };

  while (pos < bytes.length) {
    const id = bytes[pos++];
    const size = u32();
    const end = pos + size;
    if (id !== 2) {
      pos = end;
      continue;
    }
    let count = u32();
    let changed = 0;
    while (count-- > 0) {
      skipName();
      skipName();
      const kind = bytes[pos++];
      switch (kind) {
        case 0: u32(); break; // function: type index
        case 1: pos++; skipLimits(); break; // table: element type, limits
        case 2: // memory: limits
          if (bytes[pos] & MEMORY_SHARED) {
            bytes[pos] &= ~MEMORY_SHARED;
            changed++;
          }
          skipLimits();
          break;
        case 3: pos += 2; break; // global: value type, mutability
        case 4: pos++; u32(); break; // tag: attribute, type index
        default: throw new Error(`unknown import kind ${kind}`);
      }
    }
    if (pos !== end) throw new Error('malformed import section');
    if (changed !== 1) throw new Error(`expected one shared memory import, found ${changed}`);
    return bytes;
  }
  throw new Error('the module imports nothing');
}
