// The virtio PCI transport with a stand-in device: identity, BARs and
// capabilities, feature negotiation through the select registers, the
// device status state machine, queue registers, notifications, ISR and
// INTx, config generation, the PCI configuration access capability, the
// legacy I/O header, save/restore, and accesses of every width at every
// offset that must never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMMON_CFGGENERATION,
  COMMON_DF,
  COMMON_DFSELECT,
  COMMON_GF,
  COMMON_GFSELECT,
  COMMON_MSIX,
  COMMON_NUMQ,
  COMMON_Q_AVAILLO,
  COMMON_Q_DESCHI,
  COMMON_Q_DESCLO,
  COMMON_Q_ENABLE,
  COMMON_Q_MSIX,
  COMMON_Q_NOFF,
  COMMON_Q_SELECT,
  COMMON_Q_SIZE,
  COMMON_Q_USEDLO,
  COMMON_STATUS,
  featureBits,
  hasFeature,
  orFeatures,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_VERSION_1,
  VIRTIO_MSI_NO_VECTOR,
  VIRTIO_PCI_CAP_COMMON_CFG,
  VIRTIO_PCI_CAP_DEVICE_CFG,
  VIRTIO_PCI_CAP_ISR_CFG,
  VIRTIO_PCI_CAP_NOTIFY_CFG,
  VIRTIO_PCI_CAP_PCI_CFG,
  VIRTIO_PCI_GUEST_FEATURES,
  VIRTIO_PCI_HOST_FEATURES,
  VIRTIO_PCI_ISR,
  VIRTIO_PCI_ISR_CONFIG,
  VIRTIO_PCI_ISR_QUEUE,
  VIRTIO_PCI_QUEUE_NOTIFY,
  VIRTIO_PCI_QUEUE_NUM,
  VIRTIO_PCI_QUEUE_PFN,
  VIRTIO_PCI_QUEUE_SEL,
  VIRTIO_PCI_STATUS,
  VIRTIO_STATUS_ACKNOWLEDGE,
  VIRTIO_STATUS_DEVICE_NEEDS_RESET,
  VIRTIO_STATUS_DRIVER,
  VIRTIO_STATUS_DRIVER_OK,
  VIRTIO_STATUS_FAILED,
  VIRTIO_STATUS_FEATURES_OK,
  type VirtioDevice,
  type VirtioTransport,
} from '../../src/devices/virtio/VirtioPci.ts';
import { Driver, Env, IO_BASE, MMIO_BASE } from './driver.ts';

const ACK = VIRTIO_STATUS_ACKNOWLEDGE;
const DRV = VIRTIO_STATUS_DRIVER;
const FOK = VIRTIO_STATUS_FEATURES_OK;
const DOK = VIRTIO_STATUS_DRIVER_OK;

class FakeDevice implements VirtioDevice {
  readonly name = 'fake';
  readonly pciClass = 0x078000;
  readonly numQueues = 2;
  readonly features = featureBits(0, 3, 40);
  readonly cfg = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
  t!: VirtioTransport;
  notified: number[] = [];
  resets = 0;
  accept = true;
  accepted: number[] = [];
  stale = 0;
  throwOnNotify = false;

  constructor(
    readonly deviceType = 3,
    readonly configSize = 8,
  ) {}
  attach(t: VirtioTransport): void {
    this.t = t;
  }
  queueMaxSize(i: number): number {
    return i === 0 ? 16 : 64;
  }
  configRead(off: number, size: number): number {
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (this.cfg[off + i] ?? 0);
    return v >>> 0;
  }
  configWrite(off: number, size: number, value: number): void {
    for (let i = 0; i < size && off + i < 8; i++) this.cfg[off + i] = value >>> (8 * i);
  }
  acceptFeatures(f: number): boolean {
    this.accepted.push(f);
    return this.accept;
  }
  onNotify(i: number): void {
    if (this.throwOnNotify) throw new Error('device bug');
    this.notified.push(i);
  }
  reset(): void {
    this.resets++;
  }
  staleRequests(): number {
    return this.stale;
  }
  saveState(): unknown {
    return { cfg: [...this.cfg] };
  }
  loadState(s: unknown): void {
    this.cfg.set((s as { cfg: number[] }).cfg);
  }
}

function setup(dev = new FakeDevice()) {
  const env = new Env(dev);
  const drv = new Driver(env);
  return { env, drv, dev, pci: env.pci };
}

/** Sets up queue `i` at fixed addresses through the common configuration. */
function setupQueue(drv: Driver, i: number, size: number): void {
  drv.cw(COMMON_Q_SELECT, i, 2);
  drv.cw(COMMON_Q_SIZE, size, 2);
  drv.cw(COMMON_Q_DESCLO, 0x10000 * (i + 1));
  drv.cw(COMMON_Q_AVAILLO, 0x10000 * (i + 1) + 0x4000);
  drv.cw(COMMON_Q_USEDLO, 0x10000 * (i + 1) + 0x8000);
  drv.cw(COMMON_Q_ENABLE, 1, 2);
}

test('identity: transitional IDs, or modern-only IDs for a type without one', () => {
  const { env, pci } = setup();
  assert.equal(env.cfgRead(0), 0x10031af4, 'console: 1AF4:1003');
  assert.equal(env.cfgRead(0x08), 0x07800000, 'class from the device, revision 0');
  assert.equal(env.cfgRead(0x2c), 0x00031af4, 'subsystem ID = device type');
  assert.equal(pci.transitional, true);

  const m = setup(new FakeDevice(26));
  assert.equal(m.env.cfgRead(0), 0x105a1af4, '0x1040 + 26');
  assert.equal(m.env.cfgRead(0x08) & 0xff, 1, 'revision 1');
  assert.equal(m.pci.transitional, false);
  m.env.cfgWrite(0x10, 0xffffffff);
  assert.equal(m.env.cfgRead(0x10), 0, 'no legacy BAR');
});

test('BARs: legacy I/O header sized to hold the device configuration; 16 KiB memory BAR', () => {
  const { env } = setup();
  env.cfgWrite(0x04, 0, 2);
  env.cfgWrite(0x10, 0xffffffff);
  assert.equal(env.cfgRead(0x10), 0xffffffe1, '32 bytes of I/O (20 + 8 rounded up)');
  env.cfgWrite(0x20, 0xffffffff);
  assert.equal(env.cfgRead(0x20), 0xffffc000, '16 KiB, 32-bit, non-prefetchable');
  for (const off of [0x14, 0x18, 0x1c, 0x24]) {
    env.cfgWrite(off, 0xffffffff);
    assert.equal(env.cfgRead(off), 0, `BAR at 0x${off.toString(16)} absent`);
  }
  const big = setup(new FakeDevice(2, 60));
  big.env.cfgWrite(0x10, 0xffffffff);
  assert.equal(big.env.cfgRead(0x10), 0xffffff81, '128 bytes for a 60-byte configuration');
});

test('capabilities: common, notify, ISR, device, PCI configuration access', () => {
  const { env } = setup();
  assert.ok(env.cfgRead(0x06, 2) & 0x10, 'capability list bit');
  const caps = env.caps();
  assert.deepEqual(caps.map((c) => c.type), [VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_CAP_ISR_CFG,
    VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_CAP_PCI_CFG]);
  const by = (t: number) => caps.find((c) => c.type === t)!;
  assert.deepEqual([by(1).bar, by(1).barOffset, by(1).length], [4, 0, 0x38]);
  assert.deepEqual([by(2).bar, by(2).barOffset, by(2).length, by(2).extra], [4, 0x3000, 8, 4], 'notify_off_multiplier 4');
  assert.deepEqual([by(3).bar, by(3).barOffset, by(3).length], [4, 0x1000, 1]);
  assert.deepEqual([by(4).bar, by(4).barOffset, by(4).length], [4, 0x2000, 8]);
  assert.deepEqual(caps.map((c) => env.cfgRead(c.offset + 2, 1)), [16, 20, 16, 16, 20], 'cap_len');
  for (const c of caps) {
    if (c.type === VIRTIO_PCI_CAP_PCI_CFG) continue;
    env.cfgWrite(c.offset + 8, 0x1234);
    assert.equal(env.cfgRead(c.offset + 8), c.barOffset, 'read-only for the driver');
  }
  const none = setup(new FakeDevice(3, 0));
  assert.ok(!none.env.caps().some((c) => c.type === VIRTIO_PCI_CAP_DEVICE_CFG), 'no device configuration, no capability');
});

test('feature negotiation through the select registers; only offered bits stick; FEATURES_OK checked by the device', () => {
  const { drv, dev } = setup();
  const offered = drv.offeredFeatures();
  assert.equal(offered, orFeatures(dev.features, featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX)));
  drv.cw(COMMON_DFSELECT, 2);
  assert.equal(drv.cr(COMMON_DF), 0, 'bits 64.. are zero');
  drv.status = ACK | DRV;
  drv.writeFeatures(2 ** 50 + 2 ** 40 + 2 ** 32 + 2 ** 29 + 2 ** 5 + 2 ** 3 + 1);
  const want = 2 ** 40 + 2 ** 32 + 2 ** 29 + 2 ** 3 + 1;
  assert.equal(drv.acceptedFeatures(), want, 'bits never offered (5, 50) are dropped');
  drv.cw(COMMON_GFSELECT, 7);
  drv.cw(COMMON_GF, 0xffffffff);
  assert.equal(drv.acceptedFeatures(), want, 'driver_feature_select beyond 1 selects nothing');
  drv.status = ACK | DRV | FOK;
  assert.equal(drv.status, ACK | DRV | FOK);
  assert.deepEqual(dev.accepted, [want]);
  drv.writeFeatures(offered);
  assert.equal(drv.acceptedFeatures(), want, 'frozen after FEATURES_OK');

  const r = setup();
  r.dev.accept = false;
  r.drv.status = ACK | DRV;
  r.drv.writeFeatures(1);
  r.drv.status = ACK | DRV | FOK;
  assert.equal(r.drv.status, ACK | DRV, 'FEATURES_OK refused');
  r.drv.status = ACK | DRV | VIRTIO_STATUS_FAILED;
  assert.equal(r.drv.status, ACK | DRV | VIRTIO_STATUS_FAILED);
});

test('device status: DEVICE_NEEDS_RESET belongs to the device; writing 0 resets everything', () => {
  const { drv, dev, env, pci } = setup();
  drv.init();
  drv.status = ACK | DRV | FOK | DOK | VIRTIO_STATUS_DEVICE_NEEDS_RESET;
  assert.equal(drv.status, ACK | DRV | FOK | DOK, 'the driver cannot set NEEDS_RESET');
  pci.needsReset('test');
  assert.equal(drv.status, ACK | DRV | FOK | DOK | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.equal(drv.readIsr(), VIRTIO_PCI_ISR_CONFIG, 'configuration change interrupt after DRIVER_OK');
  drv.status = ACK | DRV | FOK | DOK;
  assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 'nor clear it');
  assert.deepEqual(env.errors, ['virtio-fake: test']);
  pci.configChanged();
  assert.equal(env.intx, true);
  const resets = dev.resets;
  drv.status = 0;
  assert.equal(drv.status, 0);
  assert.equal(dev.resets, resets + 1);
  assert.equal(env.intx, false, 'INTx released');
  assert.equal(drv.readIsr(), 0);
  assert.equal(drv.acceptedFeatures(), 0);
  drv.cw(COMMON_Q_SELECT, 1, 2);
  assert.equal(drv.cr(COMMON_Q_ENABLE, 2), 0);
  assert.equal(drv.cr(COMMON_Q_SIZE, 2), 64, 'queue size back to the maximum');
  assert.equal(drv.cr(COMMON_Q_DESCLO), 0);
  // Before DRIVER_OK, NEEDS_RESET raises no interrupt.
  drv.status = ACK;
  pci.needsReset('early');
  assert.equal(drv.status, ACK | VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.equal(env.intx, false);
});

test('reset while the device still has DMA in flight: device_status stays non-zero until it drains', () => {
  const { drv, dev } = setup();
  drv.init();
  dev.stale = 2;
  drv.status = 0;
  assert.equal(drv.status, ACK | DRV | FOK | DOK, 'the old status until the device is quiet');
  drv.status = 0;
  assert.equal(drv.status, ACK | DRV | FOK | DOK, 'writing 0 again changes nothing');
  dev.stale = 0;
  assert.equal(drv.status, 0);
  assert.equal(drv.status, 0);
  // A (legacy-style) driver that does not wait: its next write takes over.
  drv.init();
  dev.stale = 1;
  drv.status = 0;
  drv.status = ACK;
  assert.equal(drv.status, ACK);
});

test('queue registers: sizes, enable validation, fixed after enable, MSI-X vectors absent', () => {
  const { drv, env } = setup();
  assert.equal(drv.cr(COMMON_NUMQ, 2), 2);
  drv.cw(COMMON_Q_SELECT, 0, 2);
  assert.equal(drv.cr(COMMON_Q_SIZE, 2), 16);
  assert.equal(drv.cr(COMMON_Q_NOFF, 2), 0);
  drv.cw(COMMON_Q_SELECT, 1, 2);
  assert.equal(drv.cr(COMMON_Q_SIZE, 2), 64);
  assert.equal(drv.cr(COMMON_Q_NOFF, 2), 1);
  drv.cw(COMMON_Q_SELECT, 9, 2);
  assert.equal(drv.cr(COMMON_Q_SELECT, 2), 9);
  assert.equal(drv.cr(COMMON_Q_SIZE, 2), 0, 'no such queue');
  drv.cw(COMMON_Q_SIZE, 8, 2);
  drv.cw(COMMON_Q_ENABLE, 1, 2);
  assert.equal(drv.cr(COMMON_Q_ENABLE, 2), 0);

  assert.equal(drv.cr(COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR);
  drv.cw(COMMON_MSIX, 0, 2);
  assert.equal(drv.cr(COMMON_MSIX, 2), VIRTIO_MSI_NO_VECTOR, 'mapping a vector fails: no MSI-X');
  drv.cw(COMMON_Q_SELECT, 0, 2);
  drv.cw(COMMON_Q_MSIX, 1, 2);
  assert.equal(drv.cr(COMMON_Q_MSIX, 2), VIRTIO_MSI_NO_VECTOR);

  // 64-bit address halves, and an 8-byte access.
  drv.cw(COMMON_Q_DESCHI, 0x12);
  drv.cw(COMMON_Q_DESCLO, 0x3400);
  assert.equal(drv.cr(COMMON_Q_DESCHI), 0x12);
  assert.equal(drv.cr(COMMON_Q_DESCLO), 0x3400);
  drv.w(drv.common + COMMON_Q_DESCLO, 0x5000, 8);
  assert.equal(drv.r(drv.common + COMMON_Q_DESCLO, 8), 0x5000);
  assert.equal(drv.cr(COMMON_Q_DESCHI), 0);

  drv.status = ACK | DRV | FOK;
  setupQueue(drv, 0, 8);
  assert.equal(drv.cr(COMMON_Q_ENABLE, 2), 1);
  assert.equal(env.pci.queues[0].ready, true);
  drv.cw(COMMON_Q_SIZE, 4, 2);
  drv.cw(COMMON_Q_DESCLO, 0x99000);
  drv.cw(COMMON_Q_ENABLE, 0, 2);
  assert.equal(drv.cr(COMMON_Q_SIZE, 2), 8, 'fixed while enabled');
  assert.equal(drv.cr(COMMON_Q_DESCLO), 0x10000);
  assert.equal(drv.cr(COMMON_Q_ENABLE, 2), 1, 'writing 0 to queue_enable is ignored');
  assert.equal(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);

  // A size that is not a power of two: the queue never runs and the device needs a reset.
  setupQueue(drv, 1, 48);
  assert.equal(env.pci.queues[1].ready, false);
  assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.match(env.errors[0], /queue 1: size 48/);
});

test('queue rings outside RAM are refused at enable', () => {
  const { drv, env } = setup();
  drv.status = ACK | DRV | FOK;
  drv.cw(COMMON_Q_SELECT, 0, 2);
  drv.cw(COMMON_Q_DESCLO, 0x1000);
  drv.cw(COMMON_Q_AVAILLO, 0x2000);
  drv.cw(COMMON_Q_USEDLO, 0x3000);
  drv.cw(COMMON_Q_DESCHI, 1); // 4 GiB up
  drv.cw(COMMON_Q_ENABLE, 1, 2);
  assert.equal(env.pci.queues[0].ready, false);
  assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
});

test('notifications: delivered after DRIVER_OK (earlier kicks replayed), per queue, bad indices ignored', () => {
  const { drv, dev, env } = setup();
  drv.status = ACK | DRV;
  drv.writeFeatures(drv.offeredFeatures());
  drv.status = ACK | DRV | FOK;
  setupQueue(drv, 0, 16);
  setupQueue(drv, 1, 64);
  drv.notify(1);
  assert.deepEqual(dev.notified, [], 'not before DRIVER_OK');
  drv.status = ACK | DRV | FOK | DOK;
  assert.deepEqual(dev.notified, [0, 1], 'every enabled queue looked at on DRIVER_OK');
  dev.notified = [];
  drv.w(MMIO_BASE + 0x3000 + 4, 1, 2);
  drv.w(MMIO_BASE + 0x3000, 0, 4);
  drv.w(MMIO_BASE + 0x3000 + 8, 2, 2);
  drv.w(MMIO_BASE + 0x3fff, 0, 1);
  drv.r(MMIO_BASE + 0x3000, 4);
  assert.deepEqual(dev.notified, [1, 0], 'queue from the address; queues that do not exist ignored');
  // Through the legacy notify register too.
  drv.pw(VIRTIO_PCI_QUEUE_NOTIFY, 1, 2);
  drv.pw(VIRTIO_PCI_QUEUE_NOTIFY, 7, 2);
  assert.deepEqual(dev.notified, [1, 0, 1]);
  // A device that throws is put in NEEDS_RESET; the exit path never sees the exception.
  dev.throwOnNotify = true;
  drv.notify(0);
  assert.ok(drv.status & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.match(env.errors.at(-1)!, /device bug/);
});

test('ISR and INTx: bits accumulate, a read returns and clears them; Interrupt Disable masks the pin', () => {
  const { drv, env, pci } = setup();
  drv.init();
  pci.configChanged();
  assert.equal(env.intx, true);
  assert.equal(env.cfgRead(0x06, 2) & 0x08, 0x08, 'PCI Interrupt Status');
  pci.queues[0].push(0, 0);
  pci.notifyUsed(0);
  assert.equal(drv.r(drv.isr, 1), VIRTIO_PCI_ISR_QUEUE | VIRTIO_PCI_ISR_CONFIG);
  assert.equal(env.intx, false);
  assert.equal(env.cfgRead(0x06, 2) & 0x08, 0);
  assert.equal(drv.r(drv.isr, 4), 0, 'cleared');
  assert.equal(drv.r(drv.isr + 1, 1), 0, 'only one ISR byte');
  env.cfgWrite(0x04, 0x0407, 2); // Interrupt Disable
  pci.configChanged();
  assert.equal(env.intx, false, 'masked');
  assert.equal(pci.isrStatus, VIRTIO_PCI_ISR_CONFIG);
  env.cfgWrite(0x04, 0x0007, 2);
  assert.equal(env.intx, true, 'unmasked: the pending request shows');
  assert.equal(drv.pr(VIRTIO_PCI_ISR, 1), VIRTIO_PCI_ISR_CONFIG, 'through the legacy register too');
  assert.equal(env.intx, false);
});

test('device configuration: both interfaces, any width; config_generation moves after a change', () => {
  const { drv, dev, pci } = setup();
  assert.equal(drv.r(drv.devcfg, 4), 0x04030201);
  assert.equal(drv.r(drv.devcfg + 5, 1), 6);
  assert.equal(drv.r(drv.devcfg + 6, 4), 0x0807, 'past the end reads 0');
  assert.equal(drv.pr(20, 4), 0x04030201, 'legacy: right after the header');
  assert.equal(drv.pr(24, 2), 0x0605);
  drv.w(drv.devcfg + 2, 0xaabb, 2);
  assert.deepEqual([...dev.cfg.slice(0, 4)], [1, 2, 0xbb, 0xaa]);
  drv.w(drv.devcfg + 0x100, 1, 4);
  const gen = drv.cr(COMMON_CFGGENERATION, 1);
  pci.configChanged();
  drv.r(drv.devcfg, 4);
  const gen2 = drv.cr(COMMON_CFGGENERATION, 1);
  assert.notEqual(gen2, gen);
  drv.r(drv.devcfg, 4);
  assert.equal(drv.cr(COMMON_CFGGENERATION, 1), gen2, 'unchanged without a change');
});

test('registers of any width: byte reads of 32-bit fields, a dword write to status + generation', () => {
  const { drv } = setup();
  drv.cw(COMMON_DFSELECT, 1);
  const hi = drv.cr(COMMON_DF);
  assert.equal(drv.cr(COMMON_DF, 1) | (drv.cr(COMMON_DF + 1, 1) << 8), hi & 0xffff);
  assert.equal(drv.cr(COMMON_DFSELECT + 2, 4), (hi << 16) >>> 0, 'straddling two fields');
  const gen = drv.cr(COMMON_CFGGENERATION, 1);
  drv.cw(COMMON_STATUS, 0x12349900 | ACK, 4); // status, read-only generation, queue_select
  assert.equal(drv.status, ACK);
  assert.equal(drv.cr(COMMON_CFGGENERATION, 1), gen);
  assert.equal(drv.cr(COMMON_Q_SELECT, 2), 0x1234);
  drv.cw(COMMON_Q_SELECT + 1, 0xff, 1);
  assert.equal(drv.cr(COMMON_Q_SELECT, 2), 0xff34, 'a byte write merges into its field');
  assert.equal(drv.cr(COMMON_Q_SELECT + 1, 1), 0xff);
});

test('VIRTIO_PCI_CAP_PCI_CFG: a window into the BARs through configuration space', () => {
  const { env, drv } = setup();
  const cap = env.caps().find((c) => c.type === VIRTIO_PCI_CAP_PCI_CFG)!.offset;
  const access = (bar: number, off: number, len: number) => {
    env.cfgWrite(cap + 4, bar, 1);
    env.cfgWrite(cap + 8, off);
    env.cfgWrite(cap + 12, len);
  };
  access(4, COMMON_NUMQ, 2);
  assert.equal(env.cfgRead(cap + 16, 2), 2, 'num_queues through the window');
  access(4, COMMON_STATUS, 1);
  env.cfgWrite(cap + 16, ACK, 1);
  assert.equal(drv.status, ACK);
  access(0, VIRTIO_PCI_QUEUE_NUM, 2);
  assert.equal(env.cfgRead(cap + 16, 2), 16, 'the legacy BAR too');
  access(4, 0x2000, 4);
  assert.equal(env.cfgRead(cap + 16), 0x04030201);
  // Bad lengths, unaligned offsets, other BARs and out-of-range offsets do nothing.
  env.cfgWrite(cap + 16, 0xdeadbeef);
  access(4, COMMON_STATUS, 3);
  env.cfgWrite(cap + 16, 0);
  access(4, COMMON_STATUS + 1, 2);
  env.cfgWrite(cap + 16, 0);
  access(2, 0, 4);
  env.cfgWrite(cap + 16, 0);
  access(4, 0x4000, 4);
  env.cfgWrite(cap + 16, 0);
  assert.equal(drv.status, ACK);
  assert.equal(env.cfgRead(cap + 16), 0, 'the data bytes are plain storage then');
});

test('legacy header: 32-bit features, fixed queue size, PFN, status and ISR at their offsets', () => {
  const { drv, dev, pci } = setup();
  assert.equal(drv.pr(VIRTIO_PCI_HOST_FEATURES, 4), (2 ** 29 + 2 ** 28 + 2 ** 3 + 1) >>> 0, 'bits 0..31 only');
  drv.pw(VIRTIO_PCI_STATUS, ACK | DRV, 1);
  drv.pw(VIRTIO_PCI_GUEST_FEATURES, 0xffffffff, 4);
  assert.equal(drv.pr(VIRTIO_PCI_GUEST_FEATURES, 4), (2 ** 29 + 2 ** 28 + 2 ** 3 + 1) >>> 0);
  assert.ok(!pci.hasFeature(VIRTIO_F_VERSION_1));
  assert.ok(hasFeature(pci.features, VIRTIO_F_EVENT_IDX));
  drv.pw(VIRTIO_PCI_QUEUE_SEL, 1, 2);
  assert.equal(drv.pr(VIRTIO_PCI_QUEUE_SEL, 2), 1);
  assert.equal(drv.pr(VIRTIO_PCI_QUEUE_NUM, 2), 64);
  drv.pw(VIRTIO_PCI_QUEUE_PFN, 0x40, 4);
  assert.equal(drv.pr(VIRTIO_PCI_QUEUE_PFN, 4), 0x40);
  const q = pci.queues[1];
  assert.deepEqual([q.ready, q.size, q.desc, q.avail, q.used, q.eventIdx], [true, 64, 0x40000, 0x40400, 0x41000, true]);
  drv.pw(VIRTIO_PCI_QUEUE_SEL, 5, 2);
  assert.equal(drv.pr(VIRTIO_PCI_QUEUE_NUM, 2), 0);
  drv.pw(VIRTIO_PCI_STATUS, ACK | DRV | DOK, 1);
  assert.deepEqual(dev.notified, [1]);
  assert.equal(drv.pr(VIRTIO_PCI_STATUS, 1), ACK | DRV | DOK);
  drv.pw(VIRTIO_PCI_GUEST_FEATURES, 0, 4);
  assert.ok(pci.hasFeature(0), 'features fixed after DRIVER_OK');
  drv.pw(VIRTIO_PCI_QUEUE_SEL, 1, 2);
  drv.pw(VIRTIO_PCI_QUEUE_PFN, 0, 4);
  assert.equal(q.ready, false, 'PFN 0 disables the queue');
  assert.equal(drv.pr(0, 4), drv.pr(VIRTIO_PCI_HOST_FEATURES, 4));
  assert.equal(drv.pr(VIRTIO_PCI_QUEUE_SEL, 1) | (drv.pr(VIRTIO_PCI_QUEUE_SEL + 1, 1) << 8), 1);
  assert.equal(drv.pr(16, 2), 0, 'queue notify reads 0');
  assert.equal(IO_BASE, 0xc000);
});

test('save and restore the transport', () => {
  const a = setup();
  a.drv.init();
  a.drv.cw(COMMON_Q_SELECT, 1, 2);
  a.pci.configChanged();
  a.dev.cfg[7] = 0x77;
  const s = JSON.parse(JSON.stringify(a.pci.saveState()));
  const b = setup();
  b.pci.loadState(s);
  assert.deepEqual(b.pci.saveState(), a.pci.saveState());
  assert.equal(b.drv.status, ACK | DRV | FOK | DOK);
  assert.equal(b.drv.cr(COMMON_Q_SELECT, 2), 1);
  assert.equal(b.drv.cr(COMMON_Q_DESCLO), a.drv.cr(COMMON_Q_DESCLO));
  assert.equal(b.env.intx, true, 'the pending interrupt survives');
  assert.equal(b.dev.cfg[7], 0x77, 'device state restored');
  assert.equal(b.drv.acceptedFeatures(), a.drv.acceptedFeatures());
  assert.ok(b.pci.queues[0].ready);
  assert.throws(() => b.pci.loadState({ ...s, virtio: { ...s.virtio, queues: [] } }));
});

test('fuzz: accesses of every width anywhere in the BARs and configuration space never throw', () => {
  const { env, drv } = setup();
  drv.init();
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const sizes = [1, 2, 4, 8] as const;
  for (let i = 0; i < 20000; i++) {
    const size = sizes[Math.floor(rnd() * 4)];
    const value = Math.floor(rnd() * 2 ** 32);
    const kind = rnd();
    if (kind < 0.5) {
      const addr = MMIO_BASE + Math.floor(rnd() * 0x4000);
      if (rnd() < 0.5) env.mmio.read(addr, size);
      else env.mmio.write(addr, size, BigInt(value) * (size === 8 ? 0x100000001n : 1n));
    } else if (kind < 0.8) {
      const s = size === 8 ? 4 : size;
      const port = IO_BASE + Math.floor(rnd() * 32);
      if (rnd() < 0.5) env.ports.read(port, s);
      else env.ports.write(port, s, value);
    } else {
      const s = size === 8 ? 4 : size;
      const off = Math.floor(rnd() * 256);
      if (off === 0x04 || off === 0x10 || off === 0x20) continue; // keep the BARs where they are
      if (rnd() < 0.5) env.pci.configRead(off, s);
      else env.pci.configWrite(off, s, value);
    }
  }
  // Still a working device afterwards (once the BARs are where the driver expects them).
  env.cfgWrite(0x10, IO_BASE);
  env.cfgWrite(0x20, MMIO_BASE);
  env.cfgWrite(0x04, 0x0007, 2);
  drv.init();
  assert.equal(drv.status, ACK | DRV | FOK | DOK);
});
