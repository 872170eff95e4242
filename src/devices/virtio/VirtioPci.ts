// Virtio over PCI (VIRTIO 1.2 §4.1), transitional: one PciDevice that a
// legacy driver drives through the I/O BAR and a modern driver through the
// vendor capabilities and a memory BAR. The device-specific half (virtio-blk
// today; console, net, 9p later) is a VirtioDevice plugged into it.
//
// Identity: vendor 1AF4; a transitional device has device ID 0x1000 + its
// legacy index (block 0x1001, net 0x1000, console 0x1003, 9p 0x1009 …),
// revision 0 and subsystem ID = virtio device type (§4.1.2.3); a device type
// without a transitional ID gets 0x1040 + type, revision 1, and no legacy
// BAR. Interrupt pin INTA#.
//
// BAR0 (I/O, transitional only): the legacy header (§4.1.4.10), MSI-X absent
// so the device configuration follows at 20:
//     0 host features (bits 0..31, RO)   4 guest features (RW)
//     8 queue PFN (RW, address / 4096)  12 queue size (RO, the maximum)
//    14 queue select (RW)               16 queue notify (W)
//    18 device status (RW)              19 ISR status (RO, read clears)
//    20 device configuration …
// BAR4 (32-bit memory, 16 KiB), found through vendor capabilities (cfg_type,
// bar, offset, length; §4.1.4):
//    0x0000 common configuration (struct virtio_pci_common_cfg, 0x38 bytes)
//    0x1000 ISR status (1 byte, read clears)
//    0x2000 device configuration (the device's configSize bytes)
//    0x3000 notifications: queue q at 0x3000 + 4 × q (queue_notify_off = q,
//           notify_off_multiplier 4); any write there notifies.
// plus a VIRTIO_PCI_CAP_PCI_CFG capability: bar/offset/length/pci_cfg_data
// are writable and an access to pci_cfg_data becomes an access of `length`
// (1, 2, 4) bytes at `offset` of BAR `bar` (0 or 4); anything else is ignored.
//
// Registers of either interface may be accessed with any width: a read
// composes the bytes of the fields it covers, a write merges its bytes into
// each writable field it covers (so 8-byte MMIO accesses to the 64-bit queue
// addresses work too). Read-only fields ignore writes.
//
// Features are 64 bits (numbers here, bits 0..52): the device's own plus
// VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC and VIRTIO_F_EVENT_IDX, which
// VirtQueue implements for every device. driver_feature keeps only offered
// bits; the legacy register sees bits 0..31 and a legacy driver acknowledges
// nothing above. Feature writes are ignored once FEATURES_OK or DRIVER_OK is
// set.
//
// Device status (§2.1): the driver's bits are kept as written, except that
// DEVICE_NEEDS_RESET is the device's (a driver cannot set or clear it) and
// FEATURES_OK only sticks if the device accepts the features
// (VirtioDevice.acceptFeatures). Writing 0 resets the device: queues,
// features, ISR and INTx cleared, the VirtioDevice reset (its in-flight
// requests are dropped when they complete). While requests from before the
// reset are still doing DMA into guest RAM, device_status keeps reading the
// old value: VIRTIO 1.2 §4.1.4.3.2 makes a driver wait for 0 before
// reinitialising (Linux's modern driver does), so it never reuses memory a
// late read could still fill. The device consumes buffers only after
// DRIVER_OK; queues kicked before it (legacy drivers) are processed when
// DRIVER_OK is set.
//
// Queues: a modern driver writes queue_size (≤ the maximum; validated as a
// power of two at enable), the three addresses, then queue_enable = 1;
// writes to a queue's registers after it is enabled, and writing 0 to
// queue_enable, are ignored. A legacy driver writes the PFN (0 disables).
// No MSI-X: there is no MSI-X capability and config_msix_vector /
// queue_msix_vector read VIRTIO_MSI_NO_VECTOR (0xFFFF), writes ignored.
//
// Interrupts (INTx only): ISR bit 0 = used buffers, bit 1 = configuration
// change. INTx is asserted while ISR ≠ 0 (§4.1.4.5: PCI Interrupt Status =
// OR of ISR bits); reading ISR returns and clears it and deasserts INTx.
//
// Guest errors that leave a queue unusable (VirtQueue: head out of range,
// available index running away, rings outside RAM) set DEVICE_NEEDS_RESET
// and, after DRIVER_OK, raise a configuration change interrupt (§2.1.2);
// other queues keep working. Per-request errors are the device's to report.
//
// config_generation changes when a device configuration read follows a
// change (configChanged()), as §4.1.4.3.1 suggests, so a reader always sees
// it move.
import type { GuestMemory } from '../../vmm/GuestMemory.ts';
import type { MmioDevice, MmioSize } from '../../vmm/MmioBus.ts';
import type { AccessSize, PortDevice } from '../../vmm/PortBus.ts';
import { PCI_CAP_ID_VNDR } from '../pci/PciConfigSpace.ts';
import { PciDevice, type PciDeviceState } from '../pci/PciDevice.ts';
import { VirtQueue, type VirtQueueState } from './VirtQueue.ts';

// --- device status (§2.1) -------------------------------------------------------
export const VIRTIO_STATUS_ACKNOWLEDGE = 0x01;
export const VIRTIO_STATUS_DRIVER = 0x02;
export const VIRTIO_STATUS_DRIVER_OK = 0x04;
export const VIRTIO_STATUS_FEATURES_OK = 0x08;
export const VIRTIO_STATUS_DEVICE_NEEDS_RESET = 0x40;
export const VIRTIO_STATUS_FAILED = 0x80;

// --- transport feature bits (§6) ----------------------------------------------
export const VIRTIO_F_NOTIFY_ON_EMPTY = 24;
export const VIRTIO_F_ANY_LAYOUT = 27;
export const VIRTIO_F_INDIRECT_DESC = 28;
export const VIRTIO_F_EVENT_IDX = 29;
export const VIRTIO_F_VERSION_1 = 32;

// --- ISR status, MSI-X -----------------------------------------------------------
export const VIRTIO_PCI_ISR_QUEUE = 0x1;
export const VIRTIO_PCI_ISR_CONFIG = 0x2;
export const VIRTIO_MSI_NO_VECTOR = 0xffff;

// --- capabilities (§4.1.4) -------------------------------------------------------
export const VIRTIO_PCI_CAP_COMMON_CFG = 1;
export const VIRTIO_PCI_CAP_NOTIFY_CFG = 2;
export const VIRTIO_PCI_CAP_ISR_CFG = 3;
export const VIRTIO_PCI_CAP_DEVICE_CFG = 4;
export const VIRTIO_PCI_CAP_PCI_CFG = 5;

// --- legacy header in BAR0 (§4.1.4.10) ------------------------------------------
export const VIRTIO_PCI_HOST_FEATURES = 0;
export const VIRTIO_PCI_GUEST_FEATURES = 4;
export const VIRTIO_PCI_QUEUE_PFN = 8;
export const VIRTIO_PCI_QUEUE_NUM = 12;
export const VIRTIO_PCI_QUEUE_SEL = 14;
export const VIRTIO_PCI_QUEUE_NOTIFY = 16;
export const VIRTIO_PCI_STATUS = 18;
export const VIRTIO_PCI_ISR = 19;
export const VIRTIO_PCI_CONFIG = 20;

// --- struct virtio_pci_common_cfg (§4.1.4.3) ----------------------------------------
export const COMMON_DFSELECT = 0x00;
export const COMMON_DF = 0x04;
export const COMMON_GFSELECT = 0x08;
export const COMMON_GF = 0x0c;
export const COMMON_MSIX = 0x10;
export const COMMON_NUMQ = 0x12;
export const COMMON_STATUS = 0x14;
export const COMMON_CFGGENERATION = 0x15;
export const COMMON_Q_SELECT = 0x16;
export const COMMON_Q_SIZE = 0x18;
export const COMMON_Q_MSIX = 0x1a;
export const COMMON_Q_ENABLE = 0x1c;
export const COMMON_Q_NOFF = 0x1e;
export const COMMON_Q_DESCLO = 0x20;
export const COMMON_Q_DESCHI = 0x24;
export const COMMON_Q_AVAILLO = 0x28;
export const COMMON_Q_AVAILHI = 0x2c;
export const COMMON_Q_USEDLO = 0x30;
export const COMMON_Q_USEDHI = 0x34;
export const COMMON_CFG_SIZE = 0x38;

// --- BAR layout of this implementation -------------------------------------------
export const VIRTIO_LEGACY_BAR = 0;
export const VIRTIO_MODERN_BAR = 4;
export const VIRTIO_MODERN_BAR_SIZE = 0x4000;
export const VIRTIO_COMMON_OFFSET = 0x0000;
export const VIRTIO_ISR_OFFSET = 0x1000;
export const VIRTIO_DEVICE_OFFSET = 0x2000;
export const VIRTIO_NOTIFY_OFFSET = 0x3000;
export const VIRTIO_NOTIFY_MULTIPLIER = 4;

/** Transitional PCI device IDs by virtio device type (§4.1.2.1). */
const TRANSITIONAL_IDS: Readonly<Record<number, number>> = { 1: 0x1000, 2: 0x1001, 5: 0x1002, 3: 0x1003, 8: 0x1004, 4: 0x1005, 9: 0x1009 };

// --- 64-bit feature sets held in numbers (bits 0..52) --------------------------------
const TWO32 = 2 ** 32;

/** The feature set with exactly these bits. */
export function featureBits(...bits: number[]): number {
  let f = 0;
  for (const b of bits) if (!hasFeature(f, b)) f += 2 ** b;
  return f;
}

export function hasFeature(features: number, bit: number): boolean {
  return Math.floor(features / 2 ** bit) % 2 === 1;
}

/** Feature bits 32 × sel .. 32 × sel + 31. */
export function featureWord(features: number, sel: number): number {
  if (sel === 0) return features % TWO32;
  if (sel === 1) return Math.floor(features / TWO32) % TWO32;
  return 0;
}

/** Union of two feature sets. */
export function orFeatures(a: number, b: number): number {
  return ((featureWord(a, 0) | featureWord(b, 0)) >>> 0) + ((featureWord(a, 1) | featureWord(b, 1)) >>> 0) * TWO32;
}

/** `features` with word `sel` replaced by `word`, keeping only bits in `allowed`. */
function setFeatureWord(features: number, sel: number, word: number, allowed: number): number {
  const lo = sel === 0 ? word : featureWord(features, 0);
  const hi = sel === 1 ? word : featureWord(features, 1);
  return ((lo & featureWord(allowed, 0)) >>> 0) + ((hi & featureWord(allowed, 1)) >>> 0) * TWO32;
}

// --- the device-specific half ------------------------------------------------------

/** What a virtio device model sees of its transport. */
export interface VirtioTransport {
  readonly mem: GuestMemory;
  readonly queues: readonly VirtQueue[];
  /** The features the driver accepted (a subset of the offered ones). */
  readonly features: number;
  hasFeature(bit: number): boolean;
  /** DRIVER_OK is set: the device may use its queues. */
  readonly driverOk: boolean;
  /** Call after push()ing to queue `index`: interrupts the driver if it wants to hear about it. */
  notifyUsed(index: number): void;
  /** The device configuration changed (configuration change interrupt). */
  configChanged(): void;
  /** The device is in an error state only a reset clears (DEVICE_NEEDS_RESET, §2.1.2). */
  needsReset(message: string): void;
  /** A guest error confined to one request (diagnostics only). */
  reportError(message: string): void;
}

/** The device-type-specific half of a virtio device (block, console, net, 9p …). */
export interface VirtioDevice {
  readonly name: string;
  /** Virtio device ID (§5): 1 net, 2 block, 3 console, 4 entropy, 9 9P … */
  readonly deviceType: number;
  /** PCI class code: base << 16 | sub-class << 8 | programming interface. */
  readonly pciClass: number;
  /** Device-specific feature bits offered; the transport adds VERSION_1, INDIRECT_DESC and EVENT_IDX. */
  readonly features: number;
  readonly numQueues: number;
  /** Maximum size of queue `index`: a power of two ≤ 32768. */
  queueMaxSize(index: number): number;
  /** Bytes of device configuration space. */
  readonly configSize: number;
  /** Little-endian read of `size` bytes at `offset` (reads past configSize give 0). Must not throw. */
  configRead(offset: number, size: number): number;
  configWrite(offset: number, size: number, value: number): void;
  /** Called once, from the transport's constructor. */
  attach(transport: VirtioTransport): void;
  /** FEATURES_OK with this feature set: return false to refuse it. */
  acceptFeatures?(features: number): boolean;
  /** The driver made buffers available on queue `index` (only after DRIVER_OK). May throw: the transport then sets NEEDS_RESET. */
  onNotify(index: number): void;
  /** Device reset: forget queued work; completions of requests already started must not touch the queues. */
  reset(): void;
  /** Requests from before the last reset that may still write guest RAM. */
  staleRequests?(): number;
  saveState(): unknown;
  /** Called after the transport restored its queues (and after guest RAM was restored). */
  loadState(state: unknown): void;
}

// --- register files ----------------------------------------------------------------

type Field = readonly [offset: number, width: number, writable: boolean];

/** A block of registers of mixed widths, accessible with any width (see the header). */
class Registers {
  private readonly start: Int16Array;

  constructor(
    readonly size: number,
    private readonly fields: readonly Field[],
  ) {
    this.start = new Int16Array(size).fill(-1);
    for (const [off, w] of fields) for (let i = 0; i < w; i++) this.start[off + i] = off;
  }

  private field(start: number): Field | undefined {
    return this.fields.find((f) => f[0] === start);
  }

  read(off: number, size: number, get: (start: number) => number): number {
    let v = 0;
    let last = -1;
    let lastVal = 0;
    for (let i = 0; i < size; i++) {
      const o = off + i;
      const s = o >= 0 && o < this.size ? this.start[o] : -1;
      if (s < 0) continue;
      if (s !== last) {
        last = s;
        lastVal = get(s);
      }
      v |= ((lastVal >>> (8 * (o - s))) & 0xff) << (8 * i);
    }
    return v >>> 0;
  }

  write(off: number, size: number, value: number, get: (start: number) => number, set: (start: number, v: number) => void): void {
    let i = 0;
    while (i < size) {
      const o = off + i;
      const s = o >= 0 && o < this.size ? this.start[o] : -1;
      if (s < 0) {
        i++;
        continue;
      }
      const f = this.field(s)!;
      const w = f[1];
      // Bytes of this access inside field s: o .. min(off + size, s + w).
      const end = Math.min(off + size, s + w);
      if (f[2]) {
        let merged = o === s && end === s + w ? 0 : get(s);
        for (let p = o; p < end; p++) {
          const byte = (value >>> (8 * (p - off))) & 0xff;
          const shift = 8 * (p - s);
          merged = (merged & ~(0xff << shift)) | (byte << shift);
        }
        set(s, merged >>> 0);
      }
      i += end - o;
    }
  }
}

const LEGACY_REGS = new Registers(VIRTIO_PCI_CONFIG, [
  [VIRTIO_PCI_HOST_FEATURES, 4, false],
  [VIRTIO_PCI_GUEST_FEATURES, 4, true],
  [VIRTIO_PCI_QUEUE_PFN, 4, true],
  [VIRTIO_PCI_QUEUE_NUM, 2, false],
  [VIRTIO_PCI_QUEUE_SEL, 2, true],
  [VIRTIO_PCI_QUEUE_NOTIFY, 2, true],
  [VIRTIO_PCI_STATUS, 1, true],
  [VIRTIO_PCI_ISR, 1, false],
]);

const COMMON_REGS = new Registers(COMMON_CFG_SIZE, [
  [COMMON_DFSELECT, 4, true],
  [COMMON_DF, 4, false],
  [COMMON_GFSELECT, 4, true],
  [COMMON_GF, 4, true],
  [COMMON_MSIX, 2, true],
  [COMMON_NUMQ, 2, false],
  [COMMON_STATUS, 1, true],
  [COMMON_CFGGENERATION, 1, false],
  [COMMON_Q_SELECT, 2, true],
  [COMMON_Q_SIZE, 2, true],
  [COMMON_Q_MSIX, 2, true],
  [COMMON_Q_ENABLE, 2, true],
  [COMMON_Q_NOFF, 2, false],
  [COMMON_Q_DESCLO, 4, true],
  [COMMON_Q_DESCHI, 4, true],
  [COMMON_Q_AVAILLO, 4, true],
  [COMMON_Q_AVAILHI, 4, true],
  [COMMON_Q_USEDLO, 4, true],
  [COMMON_Q_USEDHI, 4, true],
]);

// --- the transport ---------------------------------------------------------------

export interface VirtioPciOptions {
  device: VirtioDevice;
  /** Guest RAM, for the queues and the device's DMA. */
  mem: GuestMemory;
  /** Default `virtio-<device name>`. */
  name?: string;
  /** Guest protocol errors, for diagnostics (never needed for correct operation). */
  onError?: (message: string) => void;
}

export interface VirtioPciState extends PciDeviceState {
  virtio: {
    status: number;
    isr: number;
    deviceFeatureSelect: number;
    driverFeatureSelect: number;
    driverFeatures: number;
    queueSelect: number;
    configGeneration: number;
    configDirty: boolean;
    queues: VirtQueueState[];
    device: unknown;
  };
}

export class VirtioPci extends PciDevice implements VirtioTransport {
  readonly device: VirtioDevice;
  readonly mem: GuestMemory;
  readonly queues: VirtQueue[];
  /** Everything offered to the driver. */
  readonly offeredFeatures: number;
  /** Has the legacy I/O BAR (a transitional device ID exists for the type). */
  readonly transitional: boolean;
  readonly legacyBarSize: number;
  /** Offset of the VIRTIO_PCI_CAP_PCI_CFG capability in configuration space. */
  readonly pciCfgCap: number;

  private vstatus = 0;
  /** What device_status reads while a reset waits for stale DMA (0 = none). */
  private resetShadow = 0;
  private isr = 0;
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0;
  private queueSelect = 0;
  private configGeneration = 0;
  private configDirty = false;
  private readonly onErrorCb: ((message: string) => void) | undefined;

  constructor(opts: VirtioPciOptions) {
    const dev = opts.device;
    const legacyId = TRANSITIONAL_IDS[dev.deviceType];
    const transitional = legacyId !== undefined;
    super({
      name: opts.name ?? `virtio-${dev.name}`,
      vendorId: 0x1af4,
      deviceId: transitional ? legacyId : 0x1040 + dev.deviceType,
      classCode: dev.pciClass,
      revision: transitional ? 0 : 1,
      subsystemId: transitional ? dev.deviceType : 0x1100,
      interruptPin: 1,
    });
    this.device = dev;
    this.mem = opts.mem;
    this.onErrorCb = opts.onError;
    this.transitional = transitional;
    this.offeredFeatures = orFeatures(dev.features, featureBits(VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_EVENT_IDX));
    this.queues = [];
    for (let i = 0; i < dev.numQueues; i++) {
      const q = new VirtQueue(opts.mem, dev.queueMaxSize(i), i);
      q.onError = (m) => this.needsReset(m);
      this.queues.push(q);
    }

    let legacySize = 32;
    while (legacySize < VIRTIO_PCI_CONFIG + dev.configSize) legacySize *= 2;
    this.legacyBarSize = transitional ? legacySize : 0;
    if (transitional) {
      const io: PortDevice = {
        portRead: (off: number, size: AccessSize) => this.legacyRead(off, size),
        portWrite: (off: number, size: AccessSize, v: number) => this.legacyWrite(off, size, v),
      };
      this.defineBar(VIRTIO_LEGACY_BAR, { kind: 'io', size: legacySize, handler: io });
    }
    const mmio: MmioDevice = {
      mmioRead: (off: number, size: MmioSize) => this.mmioRead(off, size),
      mmioWrite: (off: number, size: MmioSize, v: number | bigint) => this.mmioWrite(off, size, v),
    };
    this.defineBar(VIRTIO_MODERN_BAR, { kind: 'mem', size: VIRTIO_MODERN_BAR_SIZE, handler: mmio });

    const cap = (type: number, offset: number, length: number, extra: number[] = []): number =>
      this.addCapability(PCI_CAP_ID_VNDR, [
        16 + extra.length, type, VIRTIO_MODERN_BAR, 0, 0, 0,
        ...le32(offset), ...le32(length), ...extra,
      ]);
    cap(VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_COMMON_OFFSET, COMMON_CFG_SIZE);
    cap(VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_NOTIFY_OFFSET, Math.max(2, VIRTIO_NOTIFY_MULTIPLIER * dev.numQueues), le32(VIRTIO_NOTIFY_MULTIPLIER));
    cap(VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_ISR_OFFSET, 1);
    if (dev.configSize > 0) cap(VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_DEVICE_OFFSET, dev.configSize);
    this.pciCfgCap = cap(VIRTIO_PCI_CAP_PCI_CFG, 0, 0, [0, 0, 0, 0]);
    // cap.bar, cap.offset, cap.length and pci_cfg_data are the driver's.
    this.config.setWritable(this.pciCfgCap + 4, 1);
    this.config.setWritable(this.pciCfgCap + 8, 12);

    dev.attach(this);
  }

  // --- VirtioTransport ------------------------------------------------------------

  get features(): number {
    return this.driverFeatures;
  }

  hasFeature(bit: number): boolean {
    return hasFeature(this.driverFeatures, bit);
  }

  get driverOk(): boolean {
    return (this.vstatus & VIRTIO_STATUS_DRIVER_OK) !== 0;
  }

  /** The device status as the device holds it (reads may show a reset still in progress). */
  get deviceStatus(): number {
    return this.vstatus;
  }

  get isrStatus(): number {
    return this.isr;
  }

  notifyUsed(index: number): void {
    const q = this.queues[index];
    if (!q || !this.driverOk) return;
    if (q.needsNotification()) this.raiseIsr(VIRTIO_PCI_ISR_QUEUE);
  }

  configChanged(): void {
    this.configDirty = true;
    if (this.driverOk) this.raiseIsr(VIRTIO_PCI_ISR_CONFIG);
  }

  needsReset(message: string): void {
    this.reportError(message);
    if (this.vstatus === 0 || this.vstatus & VIRTIO_STATUS_DEVICE_NEEDS_RESET) return;
    this.vstatus |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (this.driverOk) this.raiseIsr(VIRTIO_PCI_ISR_CONFIG);
  }

  reportError(message: string): void {
    this.onErrorCb?.(`${this.name}: ${message}`);
  }

  // --- interrupts -------------------------------------------------------------------

  private raiseIsr(bits: number): void {
    this.isr |= bits;
    this.setIntx(true);
  }

  private readIsr(): number {
    const v = this.isr;
    this.isr = 0;
    this.setIntx(false);
    return v;
  }

  // --- status, features, reset -----------------------------------------------------------

  private readStatus(): number {
    if (this.resetShadow !== 0) {
      if ((this.device.staleRequests?.() ?? 0) > 0) return this.resetShadow;
      this.resetShadow = 0;
    }
    return this.vstatus;
  }

  private writeStatus(v: number): void {
    v &= 0xff;
    if (v === 0) {
      this.resetVirtio();
      return;
    }
    this.resetShadow = 0;
    const old = this.vstatus;
    let next = (v & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) | (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if (next & VIRTIO_STATUS_FEATURES_OK && !(old & VIRTIO_STATUS_FEATURES_OK)) {
      if (this.device.acceptFeatures && !this.device.acceptFeatures(this.driverFeatures)) next &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    this.vstatus = next;
    if (next & VIRTIO_STATUS_DRIVER_OK && !(old & VIRTIO_STATUS_DRIVER_OK)) {
      // Buffers made available before DRIVER_OK (legacy drivers kick early).
      for (let i = 0; i < this.queues.length; i++) this.notify(i);
    }
  }

  /** Virtio reset (device_status = 0). */
  private resetVirtio(): void {
    const old = this.resetShadow || this.vstatus;
    this.device.reset();
    this.clearTransport();
    this.resetShadow = (this.device.staleRequests?.() ?? 0) > 0 ? old : 0;
  }

  private clearTransport(): void {
    this.vstatus = 0;
    this.isr = 0;
    this.deviceFeatureSelect = this.driverFeatureSelect = 0;
    this.driverFeatures = 0;
    this.queueSelect = 0;
    this.configDirty = false;
    for (const q of this.queues) q.reset();
    this.setIntx(false);
  }

  private featuresLocked(): boolean {
    return (this.vstatus & (VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)) !== 0;
  }

  private setDriverFeatures(f: number): void {
    this.driverFeatures = f;
    const eventIdx = hasFeature(f, VIRTIO_F_EVENT_IDX);
    const indirect = hasFeature(f, VIRTIO_F_INDIRECT_DESC);
    for (const q of this.queues) {
      q.eventIdx = eventIdx;
      q.indirect = indirect;
    }
  }

  private notify(index: number): void {
    const q = this.queues[index];
    if (!q || !q.ready || !this.driverOk) return;
    try {
      this.device.onNotify(index);
    } catch (e) {
      this.needsReset(`queue ${index}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private get selectedQueue(): VirtQueue | undefined {
    return this.queues[this.queueSelect];
  }

  // --- device configuration ------------------------------------------------------------

  private deviceConfigRead(off: number, size: number): number {
    if (this.configDirty) {
      this.configGeneration = (this.configGeneration + 1) & 0xff;
      this.configDirty = false;
    }
    if (off >= this.device.configSize) return 0;
    try {
      return this.device.configRead(off, size) >>> 0;
    } catch {
      return 0;
    }
  }

  private deviceConfigWrite(off: number, size: number, v: number): void {
    if (off >= this.device.configSize) return;
    try {
      this.device.configWrite(off, size, v >>> 0);
    } catch (e) {
      this.reportError(`device configuration write: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  // --- legacy interface (BAR0) ---------------------------------------------------------

  private legacyRead(off: number, size: number): number {
    if (off >= VIRTIO_PCI_CONFIG) return this.deviceConfigRead(off - VIRTIO_PCI_CONFIG, size);
    return LEGACY_REGS.read(off, size, this.legacyGet);
  }

  private legacyWrite(off: number, size: number, v: number): void {
    if (off >= VIRTIO_PCI_CONFIG) return this.deviceConfigWrite(off - VIRTIO_PCI_CONFIG, size, v);
    LEGACY_REGS.write(off, size, v, this.legacyGet, this.legacySet);
  }

  private readonly legacyGet = (reg: number): number => {
    const q = this.selectedQueue;
    switch (reg) {
      case VIRTIO_PCI_HOST_FEATURES: return featureWord(this.offeredFeatures, 0);
      case VIRTIO_PCI_GUEST_FEATURES: return featureWord(this.driverFeatures, 0);
      case VIRTIO_PCI_QUEUE_PFN: return q ? q.legacyPfn >>> 0 : 0;
      case VIRTIO_PCI_QUEUE_NUM: return q ? q.maxSize : 0;
      case VIRTIO_PCI_QUEUE_SEL: return this.queueSelect;
      case VIRTIO_PCI_STATUS: return this.readStatus();
      case VIRTIO_PCI_ISR: return this.readIsr();
      default: return 0;
    }
  };

  private readonly legacySet = (reg: number, v: number): void => {
    switch (reg) {
      case VIRTIO_PCI_GUEST_FEATURES:
        // Bits 32..63 are not acknowledged through the legacy interface.
        if (!this.featuresLocked()) this.setDriverFeatures(setFeatureWord(0, 0, v, this.offeredFeatures));
        break;
      case VIRTIO_PCI_QUEUE_PFN:
        this.selectedQueue?.setLegacyPfn(v >>> 0);
        break;
      case VIRTIO_PCI_QUEUE_SEL:
        this.queueSelect = v & 0xffff;
        break;
      case VIRTIO_PCI_QUEUE_NOTIFY:
        this.notify(v & 0xffff);
        break;
      case VIRTIO_PCI_STATUS:
        this.writeStatus(v);
        break;
    }
  };

  // --- modern interface (BAR4) ---------------------------------------------------------

  private mmioRead(off: number, size: MmioSize): number | bigint {
    if (size === 8) return BigInt(this.modernRead(off, 4)) | (BigInt(this.modernRead(off + 4, 4)) << 32n);
    return this.modernRead(off, size);
  }

  private mmioWrite(off: number, size: MmioSize, v: number | bigint): void {
    if (size === 8) {
      const b = BigInt.asUintN(64, BigInt(v));
      this.modernWrite(off, 4, Number(b & 0xffffffffn));
      this.modernWrite(off + 4, 4, Number(b >> 32n));
      return;
    }
    this.modernWrite(off, size, Number(v) >>> 0);
  }

  /** A read of the 16 KiB modern BAR. */
  modernRead(off: number, size: number): number {
    if (off < VIRTIO_ISR_OFFSET) return COMMON_REGS.read(off, size, this.commonGet);
    if (off < VIRTIO_DEVICE_OFFSET) return off === VIRTIO_ISR_OFFSET ? this.readIsr() : 0;
    if (off < VIRTIO_NOTIFY_OFFSET) return this.deviceConfigRead(off - VIRTIO_DEVICE_OFFSET, size);
    return 0;
  }

  /** A write to the 16 KiB modern BAR. */
  modernWrite(off: number, size: number, v: number): void {
    if (off < VIRTIO_ISR_OFFSET) return COMMON_REGS.write(off, size, v, this.commonGet, this.commonSet);
    if (off < VIRTIO_DEVICE_OFFSET) return;
    if (off < VIRTIO_NOTIFY_OFFSET) return this.deviceConfigWrite(off - VIRTIO_DEVICE_OFFSET, size, v);
    const q = Math.floor((off - VIRTIO_NOTIFY_OFFSET) / VIRTIO_NOTIFY_MULTIPLIER);
    this.notify(q);
  }

  private readonly commonGet = (reg: number): number => {
    const q = this.selectedQueue;
    switch (reg) {
      case COMMON_DFSELECT: return this.deviceFeatureSelect;
      case COMMON_DF: return featureWord(this.offeredFeatures, this.deviceFeatureSelect);
      case COMMON_GFSELECT: return this.driverFeatureSelect;
      case COMMON_GF: return featureWord(this.driverFeatures, this.driverFeatureSelect);
      case COMMON_MSIX: return VIRTIO_MSI_NO_VECTOR;
      case COMMON_NUMQ: return this.queues.length;
      case COMMON_STATUS: return this.readStatus();
      case COMMON_CFGGENERATION: return this.configGeneration;
      case COMMON_Q_SELECT: return this.queueSelect;
      case COMMON_Q_SIZE: return q ? q.size : 0;
      case COMMON_Q_MSIX: return VIRTIO_MSI_NO_VECTOR;
      case COMMON_Q_ENABLE: return q?.enabled ? 1 : 0;
      case COMMON_Q_NOFF: return q ? this.queueSelect : 0;
      case COMMON_Q_DESCLO: return q ? q.desc % TWO32 : 0;
      case COMMON_Q_DESCHI: return q ? Math.floor(q.desc / TWO32) % TWO32 : 0;
      case COMMON_Q_AVAILLO: return q ? q.avail % TWO32 : 0;
      case COMMON_Q_AVAILHI: return q ? Math.floor(q.avail / TWO32) % TWO32 : 0;
      case COMMON_Q_USEDLO: return q ? q.used % TWO32 : 0;
      case COMMON_Q_USEDHI: return q ? Math.floor(q.used / TWO32) % TWO32 : 0;
      default: return 0;
    }
  };

  private readonly commonSet = (reg: number, v: number): void => {
    switch (reg) {
      case COMMON_DFSELECT:
        this.deviceFeatureSelect = v;
        return;
      case COMMON_GFSELECT:
        this.driverFeatureSelect = v;
        return;
      case COMMON_GF:
        if (!this.featuresLocked()) {
          this.setDriverFeatures(setFeatureWord(this.driverFeatures, this.driverFeatureSelect, v, this.offeredFeatures));
        }
        return;
      case COMMON_STATUS:
        this.writeStatus(v);
        return;
      case COMMON_Q_SELECT:
        this.queueSelect = v & 0xffff;
        return;
    }
    const q = this.selectedQueue;
    if (!q || q.enabled) return; // a live queue's registers are fixed until reset
    switch (reg) {
      case COMMON_Q_SIZE:
        q.size = v & 0xffff;
        return;
      case COMMON_Q_ENABLE:
        if (v & 1) q.enable();
        return;
      case COMMON_Q_DESCLO: q.desc = setLow(q.desc, v); return;
      case COMMON_Q_DESCHI: q.desc = setHigh(q.desc, v); return;
      case COMMON_Q_AVAILLO: q.avail = setLow(q.avail, v); return;
      case COMMON_Q_AVAILHI: q.avail = setHigh(q.avail, v); return;
      case COMMON_Q_USEDLO: q.used = setLow(q.used, v); return;
      case COMMON_Q_USEDHI: q.used = setHigh(q.used, v); return;
    }
  };

  // --- VIRTIO_PCI_CAP_PCI_CFG ----------------------------------------------------------

  override configRead(offset: number, size: number): number {
    const data = this.pciCfgCap + 16;
    if (offset < data + 4 && offset + size > data) this.pciCfgAccess(false);
    return super.configRead(offset, size);
  }

  override configWrite(offset: number, size: number, value: number): void {
    super.configWrite(offset, size, value);
    const data = this.pciCfgCap + 16;
    if (offset < data + 4 && offset + size > data) this.pciCfgAccess(true);
  }

  private pciCfgAccess(write: boolean): void {
    const c = this.config;
    const cap = this.pciCfgCap;
    const bar = c.u8(cap + 4);
    const off = c.u32(cap + 8);
    const len = c.u32(cap + 12);
    if ((len !== 1 && len !== 2 && len !== 4) || off % len !== 0) return;
    let barSize = 0;
    if (bar === VIRTIO_MODERN_BAR) barSize = VIRTIO_MODERN_BAR_SIZE;
    else if (bar === VIRTIO_LEGACY_BAR && this.transitional) barSize = this.legacyBarSize;
    if (off + len > barSize) return;
    if (write) {
      const v = c.read(cap + 16, len);
      if (bar === VIRTIO_MODERN_BAR) this.modernWrite(off, len, v);
      else this.legacyWrite(off, len, v);
    } else {
      const v = bar === VIRTIO_MODERN_BAR ? this.modernRead(off, len) : this.legacyRead(off, len);
      for (let i = 0; i < len; i++) c.setU8(cap + 16 + i, (v >>> (8 * i)) & 0xff);
    }
  }

  // --- Device ---------------------------------------------------------------------------

  /** Power-on reset: configuration space, transport and device. */
  override reset(): void {
    super.reset();
    this.device.reset();
    this.clearTransport();
    this.resetShadow = 0;
    this.configGeneration = 0;
  }

  override saveState(): VirtioPciState {
    return {
      ...super.saveState(),
      virtio: {
        status: this.vstatus,
        isr: this.isr,
        deviceFeatureSelect: this.deviceFeatureSelect,
        driverFeatureSelect: this.driverFeatureSelect,
        driverFeatures: this.driverFeatures,
        queueSelect: this.queueSelect,
        configGeneration: this.configGeneration,
        configDirty: this.configDirty,
        queues: this.queues.map((q) => q.saveState()),
        device: this.device.saveState(),
      },
    };
  }

  override loadState(state: VirtioPciState): void {
    const v = state?.virtio;
    const u32 = (x: unknown): number => {
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new Error(`${this.name}: bad saved state`);
      return x;
    };
    if (!v || !Array.isArray(v.queues) || v.queues.length !== this.queues.length) throw new Error(`${this.name}: bad saved state`);
    super.loadState(state);
    this.vstatus = u32(v.status) & 0xff;
    this.resetShadow = 0;
    this.isr = u32(v.isr) & 0xff;
    this.deviceFeatureSelect = u32(v.deviceFeatureSelect);
    this.driverFeatureSelect = u32(v.driverFeatureSelect);
    const f = typeof v.driverFeatures === 'number' && Number.isSafeInteger(v.driverFeatures) && v.driverFeatures >= 0 ? v.driverFeatures : 0;
    this.queueSelect = u32(v.queueSelect) & 0xffff;
    this.configGeneration = u32(v.configGeneration) & 0xff;
    this.configDirty = !!v.configDirty;
    this.queues.forEach((q, i) => q.loadState(v.queues[i]));
    this.driverFeatures = setFeatureWord(setFeatureWord(0, 0, featureWord(f, 0), this.offeredFeatures), 1, featureWord(f, 1), this.offeredFeatures);
    this.setIntx(this.isr !== 0);
    this.device.loadState(v.device);
  }
}

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

function setLow(addr: number, lo: number): number {
  return Math.floor(addr / TWO32) * TWO32 + (lo >>> 0);
}

function setHigh(addr: number, hi: number): number {
  return (addr % TWO32) + (hi >>> 0) * TWO32;
}
