import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IrqLine, IrqOr, type IrqSink } from '../../src/vmm/IrqLine.ts';

test('IrqLine reports level changes once and replays its level to late sinks', () => {
  const seen: string[] = [];
  const sink: IrqSink = { setIrq: (pin, level) => seen.push(`${pin}:${level}`) };
  const l = new IrqLine('x').connect(sink, 3);
  l.raise();
  l.raise();
  l.lower();
  l.pulse();
  assert.deepEqual(seen, ['3:true', '3:false', '3:true', '3:false']);
  l.raise();
  const late: string[] = [];
  l.connect({ setIrq: (p, v) => late.push(`${p}:${v}`) }, 7);
  assert.deepEqual(late, ['7:true']);
});

test('IrqOr: the output stays high until every source is low', () => {
  const out = new IrqLine('irq10');
  const or = new IrqOr(out);
  const a = or.input('pci-a');
  const b = or.input('pci-b');
  a.raise();
  b.raise();
  a.lower();
  assert.equal(out.isRaised, true);
  b.lower();
  assert.equal(out.isRaised, false);
});
