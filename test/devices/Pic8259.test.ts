// 8259A pair: initialisation sequences, priority and rotation, EOI forms,
// OCW3 reads and poll, special mask, auto-EOI, ELCR level inputs, spurious
// IRQ7/IRQ15, cascade, INTR level.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DualPic } from '../../src/devices/Pic8259.ts';
import { PortBus } from '../../src/vmm/PortBus.ts';

function setup(bios = true) {
  const bus = new PortBus();
  const pic = new DualPic();
  pic.register(bus);
  if (bios) pic.biosInit();
  const out = (port: number, v: number) => bus.write(port, 1, v);
  const inb = (port: number) => bus.read(port, 1);
  const irr = (base: number) => (out(base, 0x0a), inb(base));
  const isr = (base: number) => (out(base, 0x0b), inb(base));
  return { bus, pic, out, inb, irr, isr };
}

test('SeaBIOS programming: vector bases 0x08/0x70, masks 0xFB/0xFF', () => {
  const { pic, inb } = setup();
  assert.equal(inb(0x21), 0xfb);
  assert.equal(inb(0xa1), 0xff);
  assert.equal(pic.master.state.vectorBase, 0x08);
  assert.equal(pic.slave.state.vectorBase, 0x70);
  assert.equal(pic.master.state.initStep, 0);
  assert.equal(pic.slave.state.initStep, 0);
  // Masked inputs do not reach INTR.
  pic.setIrq(0, true);
  assert.equal(pic.intr.isRaised, false);
});

test('power-on state is quiet: everything masked until ICW1', () => {
  const { pic, inb } = setup(false);
  assert.equal(inb(0x21), 0xff);
  pic.setIrq(1, true);
  assert.equal(pic.intr.isRaised, false);
});

test('edge: rising edge latched, INTA sets ISR and clears IRR, EOI re-enables', () => {
  const { pic, out, irr, isr } = setup();
  out(0x21, 0x00);
  const levels: boolean[] = [];
  pic.intr.connect({ setIrq: (_p, l) => levels.push(l) }, 0);
  pic.setIrq(0, true);
  assert.deepEqual(levels, [true]);
  assert.equal(irr(0x20), 0x01);
  assert.equal(pic.acknowledge(), 0x08);
  assert.deepEqual(levels, [true, false]);
  assert.equal(irr(0x20), 0x00);
  assert.equal(isr(0x20), 0x01);
  // A new edge while in service is latched but held off by ISR0.
  pic.setIrq(0, false);
  pic.setIrq(0, true);
  assert.equal(irr(0x20), 0x01);
  assert.equal(pic.intr.isRaised, false);
  out(0x20, 0x20); // non-specific EOI
  assert.equal(isr(0x20), 0x00);
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x08);
});

test('edge: input held high gives one interrupt; a pulse stays latched', () => {
  const { pic, out } = setup();
  out(0x21, 0x00);
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x09);
  out(0x20, 0x20);
  assert.equal(pic.intr.isRaised, false, 'no new request without a new edge');
  pic.setIrq(1, false);
  pic.setIrq(3, true);
  pic.setIrq(3, false); // pulse
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x0b);
});

test('fixed priority: IR0 highest; fully nested preemption and EOI order', () => {
  const { pic, out, isr } = setup();
  out(0x21, 0x00);
  out(0xa1, 0x00);
  pic.setIrq(5, true);
  pic.setIrq(3, true);
  assert.equal(pic.acknowledge(), 0x0b); // IRQ3 before IRQ5
  assert.equal(pic.intr.isRaised, false, 'IRQ5 is held off by ISR3');
  pic.setIrq(1, true);
  assert.equal(pic.intr.isRaised, true, 'IRQ1 preempts IRQ3');
  assert.equal(pic.acknowledge(), 0x09);
  assert.equal(isr(0x20), 0x0a);
  out(0x20, 0x20); // clears the highest in service: IRQ1
  assert.equal(isr(0x20), 0x08);
  assert.equal(pic.intr.isRaised, false);
  out(0x20, 0x20);
  assert.equal(pic.acknowledge(), 0x0d);
  // Slave inputs sit at IR2's priority: above IRQ3, below IRQ1.
  out(0x20, 0x20);
  pic.setIrq(4, true);
  pic.setIrq(9, true);
  assert.equal(pic.acknowledge(), 0x71);
});

test('specific EOI clears only the named level', () => {
  const { pic, out, isr } = setup();
  out(0x21, 0x00);
  pic.setIrq(6, true);
  assert.equal(pic.acknowledge(), 0x0e);
  pic.setIrq(4, true);
  assert.equal(pic.acknowledge(), 0x0c);
  assert.equal(isr(0x20), 0x50);
  out(0x20, 0x60 | 6); // specific EOI IR6 (not the highest)
  assert.equal(isr(0x20), 0x10);
});

test('rotate on non-specific EOI: the serviced level becomes lowest', () => {
  const { pic, out, isr } = setup();
  out(0x21, 0x00);
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x09);
  out(0x20, 0xa0);
  assert.equal(isr(0x20), 0);
  assert.equal(pic.master.state.lowest, 1);
  // Priority is now 2,3,4,5,6,7,0,1.
  pic.setIrq(0, true);
  pic.setIrq(7, true);
  assert.equal(pic.acknowledge(), 0x0f, 'IR7 now beats IR0');
  out(0x20, 0xa0); // IR7 becomes lowest: 0 is highest again
  assert.equal(pic.acknowledge(), 0x08);
});

test('set priority and rotate on specific EOI', () => {
  const { pic, out, isr } = setup();
  out(0x21, 0x00);
  out(0x20, 0xc0 | 4); // IR4 lowest: IR5 highest
  pic.setIrq(3, true);
  pic.setIrq(6, true);
  assert.equal(pic.acknowledge(), 0x0e);
  assert.equal(pic.intr.isRaised, false, 'IR3 ranks below IR6 now');
  out(0x20, 0xe0 | 6); // rotate on specific EOI: clear IS6, IR6 lowest
  assert.equal(isr(0x20), 0);
  assert.equal(pic.master.state.lowest, 6);
  assert.equal(pic.acknowledge(), 0x0b);
});

test('auto-EOI: no ISR bit; rotate in auto-EOI mode rotates on each INTA', () => {
  const { pic, out, isr } = setup(false);
  out(0x20, 0x11);
  out(0x21, 0x20);
  out(0x21, 0x04);
  out(0x21, 0x03); // 8086, AEOI
  out(0x21, 0x00);
  pic.setIrq(3, true);
  assert.equal(pic.acknowledge(), 0x23);
  assert.equal(isr(0x20), 0);
  pic.setIrq(5, true);
  assert.equal(pic.intr.isRaised, true, 'no EOI needed');
  out(0x20, 0x80); // set rotate in AEOI
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x21);
  assert.equal(pic.master.state.lowest, 1);
  pic.setIrq(0, true);
  assert.equal(pic.acknowledge(), 0x25, 'IR5 beats IR0 after the rotation');
  assert.equal(pic.master.state.lowest, 5);
  out(0x20, 0x00); // clear rotate in AEOI
  assert.equal(pic.acknowledge(), 0x20);
  assert.equal(pic.master.state.lowest, 5);
});

test('ICW sequences: single mode skips ICW3; no IC4 leaves ICW4 functions zero', () => {
  const { pic, out, inb } = setup(false);
  out(0x20, 0x13); // single, IC4
  out(0x21, 0x40); // ICW2
  out(0x21, 0x03); // ICW4 (no ICW3 in single mode): AEOI
  assert.equal(pic.master.state.initStep, 0);
  assert.equal(pic.master.state.icw4, 0x03);
  out(0x21, 0xa5); // now OCW1
  assert.equal(inb(0x21), 0xa5);
  out(0xa0, 0x10); // cascade, no ICW4
  out(0xa1, 0x58);
  out(0xa1, 0x02); // ICW3
  assert.equal(pic.slave.state.initStep, 0);
  assert.equal(pic.slave.state.icw4, 0);
  out(0xa1, 0x3c);
  assert.equal(inb(0xa1), 0x3c);
  // ICW2's low three bits are not part of the vector.
  assert.equal(pic.slave.state.vectorBase, 0x58);
});

test('ICW1 clears IMR, resets edge sense and priority', () => {
  const { pic, out, inb, irr } = setup();
  out(0x21, 0x00);
  out(0x20, 0xc0 | 2);
  pic.setIrq(4, true); // latched, input stays high
  out(0x20, 0x11);
  assert.equal(inb(0x21), 0x00, 'IMR cleared by ICW1 (read during init returns IMR)');
  out(0x21, 0x08);
  out(0x21, 0x04);
  out(0x21, 0x01);
  assert.equal(irr(0x20), 0x00, 'edge request dropped');
  assert.equal(pic.master.state.lowest, 7);
  assert.equal(pic.intr.isRaised, false, 'a high input needs a new edge');
  pic.setIrq(4, false);
  pic.setIrq(4, true);
  assert.equal(pic.acknowledge(), 0x0c);
});

test('OCW3: read IRR/ISR select persists; IMR on the data port', () => {
  const { pic, out, inb } = setup();
  out(0x21, 0xf0);
  pic.setIrq(1, true);
  pic.setIrq(6, true); // masked but still in the IRR
  out(0x20, 0x0a);
  assert.equal(inb(0x20), 0x42);
  assert.equal(inb(0x20), 0x42);
  assert.equal(pic.acknowledge(), 0x09);
  out(0x20, 0x0b);
  assert.equal(inb(0x20), 0x02);
  out(0x20, 0x08); // OCW3 without RR: selection unchanged
  assert.equal(inb(0x20), 0x02);
  assert.equal(inb(0x21), 0xf0);
});

test('poll mode: read acknowledges and returns 0x80 | level; 0 with nothing pending', () => {
  const { pic, out, inb, isr } = setup();
  out(0x21, 0x00);
  out(0x20, 0x0c);
  assert.equal(inb(0x20), 0x00);
  pic.setIrq(5, true);
  out(0x20, 0x0c);
  assert.equal(inb(0x20), 0x85);
  assert.equal(isr(0x20), 0x20);
  assert.equal(pic.intr.isRaised, false);
});

test('special mask mode lets lower levels interrupt a masked in-service routine', () => {
  const { pic, out } = setup();
  out(0x21, 0x00);
  pic.setIrq(1, true);
  assert.equal(pic.acknowledge(), 0x09);
  pic.setIrq(4, true);
  assert.equal(pic.intr.isRaised, false);
  out(0x21, 0x02); // mask IR1 ...
  assert.equal(pic.intr.isRaised, false, '... not enough without special mask mode');
  out(0x20, 0x68); // set special mask mode
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x0c);
  // Non-specific EOI in special mask mode skips the masked IS1.
  out(0x20, 0x20);
  assert.equal(pic.master.state.isr, 0x02);
  out(0x20, 0x48); // reset special mask mode
  out(0x20, 0x61);
  assert.equal(pic.master.state.isr, 0);
});

test('spurious IRQ7: level request withdrawn before INTA; masked after INTR', () => {
  const { pic, out, isr, inb } = setup();
  out(0x21, 0x00);
  out(0x4d0, 0x20); // IRQ5 level-triggered
  assert.equal(inb(0x4d0), 0x20);
  pic.setIrq(5, true);
  assert.equal(pic.intr.isRaised, true);
  pic.setIrq(5, false);
  assert.equal(pic.intr.isRaised, false);
  assert.equal(pic.acknowledge(), 0x0f);
  assert.equal(isr(0x20), 0, 'no ISR bit for a spurious interrupt');
  // An edge request masked between INTR and INTA.
  pic.setIrq(3, true);
  out(0x21, 0x08);
  assert.equal(pic.acknowledge(), 0x0f);
  assert.equal(isr(0x20), 0);
});

test('spurious IRQ15: slave request masked after the master latched IR2', () => {
  const { pic, out, isr } = setup();
  out(0x21, 0x00);
  out(0xa1, 0x00);
  pic.setIrq(12, true);
  assert.equal(pic.master.state.irr & 0x04, 0x04);
  out(0xa1, 0x10); // slave masks IRQ12: its INT drops, master IR2 stays latched
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x77);
  assert.equal(isr(0x20), 0x04, 'master ISR2 set');
  assert.equal(isr(0xa0), 0x00, 'slave ISR untouched');
});

test('ELCR: masks (IRQ 0,1,2,8,13 edge-only) and level re-trigger after EOI', () => {
  const { pic, out, inb } = setup();
  out(0x4d0, 0xff);
  out(0x4d1, 0xff);
  assert.equal(inb(0x4d0), 0xf8);
  assert.equal(inb(0x4d1), 0xde);
  out(0x4d0, 0x00);
  out(0x4d1, 0x08); // IRQ11 level
  out(0x21, 0x00);
  out(0xa1, 0x00);
  pic.setIrq(11, true);
  assert.equal(pic.acknowledge(), 0x73);
  assert.equal(pic.intr.isRaised, false);
  out(0xa0, 0x20);
  out(0x20, 0x20);
  assert.equal(pic.intr.isRaised, true, 'still high: requests again');
  assert.equal(pic.acknowledge(), 0x73);
  pic.setIrq(11, false);
  out(0xa0, 0x20);
  out(0x20, 0x20);
  assert.equal(pic.intr.isRaised, false);
  // Edge inputs do not re-trigger while held high.
  pic.setIrq(10, true);
  assert.equal(pic.acknowledge(), 0x72);
  out(0xa0, 0x20);
  out(0x20, 0x20);
  assert.equal(pic.intr.isRaised, false);
});

test('cascade: slave interrupt sets ISR on both chips; EOI both', () => {
  const { pic, out, isr } = setup();
  out(0x21, 0x00);
  out(0xa1, 0x00);
  pic.setIrq(14, true);
  assert.equal(pic.acknowledge(), 0x76);
  assert.equal(isr(0x20), 0x04);
  assert.equal(isr(0xa0), 0x40);
  pic.setIrq(8, true); // higher priority on the slave, but master IS2 holds it off
  assert.equal(pic.intr.isRaised, false);
  out(0xa0, 0x20); // slave EOI clears IS6; the slave presents IRQ8
  assert.equal(pic.intr.isRaised, false, 'master still in service on IR2');
  out(0x20, 0x20);
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x70);
});

test('special fully nested mode: a higher slave level nests inside a slave routine', () => {
  const { pic, out } = setup(false);
  out(0x20, 0x11);
  out(0x21, 0x08);
  out(0x21, 0x04);
  out(0x21, 0x11); // SFNM
  out(0xa0, 0x11);
  out(0xa1, 0x70);
  out(0xa1, 0x02);
  out(0xa1, 0x01);
  pic.setIrq(12, true);
  assert.equal(pic.acknowledge(), 0x74);
  pic.setIrq(9, true);
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x71);
  pic.setIrq(13, true); // lower than IS12 on the slave: held off there
  assert.equal(pic.intr.isRaised, false);
});

test('auto-EOI slave with two requests presents both', () => {
  const { pic, out } = setup(false);
  out(0x20, 0x11);
  out(0x21, 0x08);
  out(0x21, 0x04);
  out(0x21, 0x03);
  out(0xa0, 0x11);
  out(0xa1, 0x70);
  out(0xa1, 0x02);
  out(0xa1, 0x03);
  pic.setIrq(9, true);
  pic.setIrq(10, true);
  assert.equal(pic.acknowledge(), 0x71);
  assert.equal(pic.intr.isRaised, true);
  assert.equal(pic.acknowledge(), 0x72);
  assert.equal(pic.intr.isRaised, false);
});

test('single mode master supplies the IR2 vector itself', () => {
  const { pic, out } = setup(false);
  out(0x20, 0x13);
  out(0x21, 0x08);
  out(0x21, 0x01);
  out(0x21, 0x00);
  out(0xa0, 0x13);
  out(0xa1, 0x70);
  out(0xa1, 0x01);
  out(0xa1, 0x00);
  pic.setIrq(9, true);
  assert.equal(pic.acknowledge(), 0x0a);
});

test('16-bit read of 0x20 returns IRR and IMR; impossible pins throw', () => {
  const { pic, bus, out } = setup();
  pic.setIrq(3, true);
  out(0x20, 0x0a);
  assert.equal(bus.read(0x20, 2), 0xfb08);
  assert.throws(() => pic.setIrq(2, true), /cascade/);
  assert.throws(() => pic.setIrq(16, true), /IRQ 16/);
});

test('saveState/loadState round-trips through JSON', () => {
  const { pic, out } = setup();
  out(0x21, 0x00);
  pic.setIrq(4, true);
  const saved = JSON.parse(JSON.stringify(pic.saveState()));
  const other = new DualPic();
  other.loadState(saved);
  assert.equal(other.intr.isRaised, true);
  assert.equal(other.acknowledge(), 0x0c);
  assert.deepEqual(pic.saveState(), saved, 'saving copied the state');
});
