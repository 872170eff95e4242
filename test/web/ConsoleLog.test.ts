// waitForOutput's matching: text split across messages, UTF-8 characters split
// across messages, patterns, "since this call" versus "since boot".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleLog } from '../../src/web/ConsoleLog.ts';

const enc = new TextEncoder();

function waiter(log: ConsoleLog, match: string | RegExp, fromBoot = false) {
  const w = { done: false };
  log.wait(match, fromBoot, () => (w.done = true));
  return w;
}

test('a string split across two messages matches', () => {
  const log = new ConsoleLog();
  const w = waiter(log, 'wkvm:/# ');
  log.append(enc.encode('booting...\nwkvm:'));
  assert.equal(w.done, false);
  log.append(enc.encode('/# '));
  assert.equal(w.done, true);
});

test('a wait sees only output after the call unless fromBoot', () => {
  const log = new ConsoleLog();
  log.markBoot();
  log.append(enc.encode('login: '));
  const later = waiter(log, 'login: ');
  const fromBoot = waiter(log, 'login: ', true);
  assert.equal(later.done, false);
  assert.equal(fromBoot.done, true);
  log.append(enc.encode('\nlogin: '));
  assert.equal(later.done, true);
  // A new boot: fromBoot waits start over.
  log.markBoot();
  const again = waiter(log, 'login: ', true);
  assert.equal(again.done, false);
  assert.equal(log.sinceBoot(), '');
});

test('UTF-8 characters split between messages are decoded whole; RegExps match (g flag harmless)', () => {
  const log = new ConsoleLog();
  const euro = enc.encode('price: 5€\n');
  const w = waiter(log, /5€$/m);
  const g = waiter(log, /price/g);
  log.append(euro.subarray(0, euro.length - 2));
  assert.equal(w.done, false);
  assert.equal(g.done, true);
  log.append(euro.subarray(euro.length - 2));
  assert.equal(w.done, true);
  assert.equal(log.sinceBoot(), 'price: 5€\n');
});

test('a cancelled wait is not resolved; old text is dropped past the limit', () => {
  const log = new ConsoleLog();
  let called = false;
  const cancel = log.wait('x', false, () => (called = true));
  cancel();
  log.append(enc.encode('x'));
  assert.equal(called, false);
  const big = new Uint8Array(1 << 20).fill(0x61);
  for (let i = 0; i < 3; i++) log.append(big);
  assert.ok(log.sinceBoot().length <= 2 << 20);
  assert.equal(log.end, 1 + 3 * (1 << 20));
  const w = waiter(log, 'needle');
  log.append(enc.encode('needle'));
  assert.equal(w.done, true);
});
