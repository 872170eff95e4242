// PS/2 keyboard on its own: queue, scanning, defaults, parameters.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ps2Keyboard } from '../../src/devices/Ps2Keyboard.ts';

function takeAll(k: Ps2Keyboard): number[] {
  const got: number[] = [];
  while (k.hasData()) got.push(k.take());
  return got;
}

test('the 16-byte queue drops bytes when full and notifies the controller', () => {
  const k = new Ps2Keyboard();
  let notified = 0;
  k.attach(() => notified++);
  k.sendBytes(Array.from({ length: 20 }, (_, i) => i));
  assert.equal(notified, 1);
  assert.deepEqual(takeAll(k), Array.from({ length: 16 }, (_, i) => i));
  assert.equal(k.take(), 0, 'empty queue');
});

test('reset clears the queue and answers ACK, BAT passed; F6 restores defaults', () => {
  const k = new Ps2Keyboard();
  k.sendBytes([1, 2, 3]);
  k.write(0xed);
  k.write(0x05);
  k.write(0xf0);
  k.write(0x03);
  takeAll(k);
  assert.equal(k.state.leds, 5);
  assert.equal(k.state.scancodeSet, 3);
  k.sendBytes([9]);
  k.write(0xff);
  assert.deepEqual(takeAll(k), [0xfa, 0xaa]);
  assert.equal(k.state.leds, 0);
  assert.equal(k.state.scancodeSet, 2);
  k.write(0xf3);
  k.write(0x7f);
  k.write(0xf6);
  assert.deepEqual(takeAll(k), [0xfa, 0xfa, 0xfa]);
  assert.equal(k.state.typematic, 0x2b);
});

test('F5 stops scanning (key bytes dropped), F4 restarts it; bad scancode set → FE', () => {
  const k = new Ps2Keyboard();
  k.write(0xf5);
  k.sendBytes([0x1e]);
  assert.deepEqual(takeAll(k), [0xfa]);
  k.write(0xf4);
  k.sendBytes([0x1e]);
  assert.deepEqual(takeAll(k), [0xfa, 0x1e]);
  k.write(0xf0);
  k.write(0x04);
  assert.deepEqual(takeAll(k), [0xfa, 0xfe]);
  k.write(0xfb); // set-3 key type command: acknowledged
  assert.deepEqual(takeAll(k), [0xfa]);
});

test('state round-trips through JSON; a malformed state is refused', () => {
  const k = new Ps2Keyboard();
  k.write(0xf2);
  const saved = JSON.parse(JSON.stringify(k.saveState()));
  const k2 = new Ps2Keyboard();
  k2.loadState(saved);
  assert.deepEqual(takeAll(k2), [0xfa, 0xab, 0x83]);
  assert.throws(() => k2.loadState({ queue: [] } as never), /16-byte queue/);
});
