// The unshared-memory core variant is the shared one with the memory import's
// "shared" flag cleared (scripts/wasm-unshare.mjs): checked on a small module.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// @ts-expect-error: a plain .mjs build script without type declarations
import { unshareMemoryImport } from '../../scripts/wasm-unshare.mjs';

const unshare = unshareMemoryImport as (bytes: Uint8Array) => Uint8Array<ArrayBuffer>;

/** A module importing env.f (a function) and env.memory (limits flags, 1 page, max 2). */
function moduleImportingMemory(flags: number): Uint8Array<ArrayBuffer> {
  const name = (s: string) => [s.length, ...new TextEncoder().encode(s)];
  const types = [0x01, 0x60, 0x00, 0x00]; // one type: [] -> []
  const imports = [0x02, ...name('env'), ...name('f'), 0x00, 0x00, ...name('env'), ...name('memory'), 0x02, flags, 0x01, 0x02];
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, types.length, ...types, 0x02, imports.length, ...imports]);
}

test('a shared memory import becomes an ordinary one; nothing else changes', () => {
  const shared = moduleImportingMemory(0x03);
  const sharedMemory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true } as WebAssembly.MemoryDescriptor);
  new WebAssembly.Instance(new WebAssembly.Module(shared), { env: { f() {}, memory: sharedMemory } });

  const plain = unshare(shared);
  assert.deepEqual([...plain], [...moduleImportingMemory(0x01)]);
  assert.deepEqual([...shared], [...moduleImportingMemory(0x03)], 'the input is not modified');
  new WebAssembly.Instance(new WebAssembly.Module(plain), { env: { f() {}, memory: new WebAssembly.Memory({ initial: 1, maximum: 2 }) } });
});

test('modules that are not what the core is are refused with one line', () => {
  assert.throws(() => unshare(new Uint8Array([1, 2, 3])), /^Error: not a WebAssembly binary$/);
  assert.throws(() => unshare(moduleImportingMemory(0x01)), /^Error: expected one shared memory import, found 0$/);
  assert.throws(() => unshare(moduleImportingMemory(0x03).subarray(0, 12)), /LEB128|malformed|imports nothing/);
});
