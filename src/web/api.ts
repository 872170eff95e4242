// The JavaScript API of a wkvm machine in a web page: what the page, the
// <wkvm-vm> element, documentation pages and the Chromium tests program
// against. The machine itself runs in a VMM worker (src/web/vmmWorker.ts),
// reached through comlink; this file holds only types shared by both sides.

/** Where a kernel, initrd or disk image comes from. */
export type ImageSource =
  | { url: string; name?: string }
  | { blob: Blob; name: string } // a File from drag and drop / <input type=file>, read lazily
  | { stored: string }; // a disk stored in IndexedDB, by name (disks only)

export interface DiskSpec {
  source: ImageSource;
  /** 'raw' | 'qcow2'; detected from the image when omitted (.iso is raw, read-only). */
  format?: 'raw' | 'qcow2';
  readOnly?: boolean;
  /** Writes go to a throwaway overlay (QEMU's -snapshot). */
  snapshot?: boolean;
}

/** A machine's configuration: QEMU's -m, -kernel, -initrd, -append, -drive. */
export interface VmConfig {
  /** Guest RAM in MiB (default 64). */
  memory?: number;
  /** Default: the bundled Linux kernel (and, when kernel is omitted, the bundled initramfs). */
  kernel?: ImageSource;
  initrd?: ImageSource;
  /** Kernel command line (default "console=ttyS0" for the bundled guest). */
  append?: string;
  disks?: DiskSpec[];
  /** Guest time from instruction counts (reproducible runs for tests) instead of real time. */
  deterministic?: boolean;
}

export type VmState = 'stopped' | 'loading' | 'running' | 'paused' | 'poweroff' | 'error';

export interface VmStatus {
  state: VmState;
  /** Guest instructions per second over the last second. */
  ips: number;
  /** Guest uptime in ms since the last boot (running time only). */
  uptimeMs: number;
  /** Guest RAM in bytes. */
  memoryBytes: number;
  /** Whether guest RAM is shared memory (the page is cross-origin isolated). */
  sharedMemory: boolean;
  /** A one-line message for 'error' (and notes such as "disk attached at next boot"). */
  message?: string;
}

export interface LoadProgress {
  /** What is loading: "kernel", "initrd" or a disk name. */
  what: string;
  loaded: number;
  /** Total bytes, when known. */
  total?: number;
}

/** Events a VM emits (also dispatched as DOM CustomEvents by <wkvm-vm>: "output", "status", "progress"). */
export interface VmEventMap {
  output: Uint8Array; // bytes the guest wrote to COM1
  status: VmStatus;
  progress: LoadProgress;
}

/**
 * One machine, driven from the page (implemented by src/web/WkvmVm.ts, which
 * talks to the VMM worker). <wkvm-vm> elements expose the same methods.
 */
export interface WkvmMachine {
  readonly status: VmStatus;
  /** Loads the images (progress events) and boots. Rejects with a one-line Error on bad input. */
  start(config?: VmConfig): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Hard reset: boots again with the same configuration plus the disks attached since. */
  reset(): Promise<void>;
  /** Powers the machine off (state 'stopped'); disks are flushed first. */
  stop(): Promise<void>;
  /** Types into the serial console (COM1). */
  type(text: string | Uint8Array): void;
  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof VmEventMap>(type: K, listener: (value: VmEventMap[K]) => void): () => void;
  /** Resolves when the console output since this call (or since boot, with fromBoot) matches. */
  waitForOutput(match: string | RegExp, opts?: { timeoutMs?: number; fromBoot?: boolean }): Promise<void>;
  /** Attaches a virtio disk: live = false means the guest sees it after the next reset. */
  attachDisk(spec: DiskSpec): Promise<{ live: boolean; name: string }>;
  /** Detaches a disk at the next reset (by the name attachDisk returned). */
  detachDisk(name: string): Promise<void>;
  /** Stops the machine and terminates its worker. */
  dispose(): Promise<void>;
}
