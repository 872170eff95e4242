// QEMU's isa-debug-exit: status (v << 1) | 1, configurable ports, reads 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IsaDebugExit } from '../../src/devices/IsaDebugExit.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';

test('default ports 0x501-0x502: byte write v exits with (v << 1) | 1', () => {
  const exits: number[] = [];
  const dev = new IsaDebugExit({ onExit: (s) => exits.push(s) });
  const bus = new PortBus();
  dev.register(bus);
  assert.equal(bus.ownerOf(0x501), 'isa-debug-exit');
  assert.equal(bus.ownerOf(0x502), 'isa-debug-exit');
  assert.equal(bus.ownerOf(0x503), undefined);
  bus.write(0x501, 1, 0x10);
  bus.write(0x502, 1, 0x00);
  assert.deepEqual(exits, [0x21, 0x01]);
  assert.equal(bus.read(0x501, 1), 0);
});

test('iobase 0xf4 iosize 4: the whole access is the value', () => {
  const exits: number[] = [];
  const dev = new IsaDebugExit({ iobase: 0xf4, iosize: 4, onExit: (s) => exits.push(s) });
  const bus = new PortBus();
  dev.register(bus);
  bus.write(0xf4, 4, 0x10);
  bus.write(0xf4, 2, 0x1234);
  bus.write(0xf4, 4, 0x80000001);
  assert.deepEqual(exits, [0x21, 0x2469, 0x100000003]);
  assert.equal(exits[0] & 0xff, 0x21, 'a process exit status keeps the low byte');
});

test('impossible configuration is refused with a clear message', () => {
  const onExit = () => {};
  assert.throws(() => new IsaDebugExit({ iobase: 0x10000, onExit }), /iobase/);
  assert.throws(() => new IsaDebugExit({ iosize: 0, onExit }), /iosize 0/);
  assert.throws(() => new IsaDebugExit({ iobase: 0xffff, iosize: 2, onExit }), /does not fit/);
  assert.throws(() => new IsaDebugExit({} as never), /onExit/);
  assert.deepEqual(new IsaDebugExit({ onExit }).saveState(), {});
});
