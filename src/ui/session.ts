// The machine as the page drives it: the configuration the next boot uses
// (memory, kernel, initrd, command line) and the disks attached to it, kept
// here so that booting a dropped kernel (stop, then start again) keeps the
// disks, and so that the disk panel knows what is attached.
import type { DiskSpec, VmConfig, WkvmMachine } from '../web/api.ts';

export interface AttachedDisk {
  /** Identifies the disk in the page: "stored:NAME", "url:URL" or "file:N". */
  key: string;
  /** What the user sees (a file name, a stored disk's name). */
  label: string;
  spec: DiskSpec;
  /** The name the machine gave it (for detachDisk). */
  machineName: string;
}

export class VmSession {
  private config: VmConfig;
  private readonly attached: AttachedDisk[] = [];
  private nextFile = 1;

  constructor(readonly machine: WkvmMachine, initial: VmConfig) {
    const { disks, ...rest } = initial;
    this.config = rest;
    for (const spec of disks ?? []) this.attached.push(this.describe(spec));
  }

  /** A machine is booted (running or paused): disks attached now wait for the next reset. */
  get active(): boolean {
    const s = this.machine.status.state;
    return s === 'running' || s === 'paused' || s === 'loading';
  }

  get disks(): readonly AttachedDisk[] {
    return this.attached;
  }

  get bootConfig(): VmConfig {
    return { ...this.config, disks: this.attached.map((d) => d.spec) };
  }

  async start(): Promise<void> {
    await this.machine.start(this.bootConfig);
  }

  /** Boots again with some settings changed (a dropped kernel or initrd); the disks stay. */
  async restartWith(changes: Partial<VmConfig>): Promise<void> {
    if (this.active) await this.machine.stop();
    this.config = { ...this.config, ...changes };
    await this.start();
  }

  /** Adds a disk; live = false: the guest sees it after the next boot. */
  async attach(spec: DiskSpec): Promise<{ disk: AttachedDisk; live: boolean }> {
    const disk = this.describe(spec);
    if (this.attached.some((d) => d.key === disk.key)) throw new Error(`${disk.label} is already attached`);
    let live = false;
    if (this.active) {
      const r = await this.machine.attachDisk(spec);
      disk.machineName = r.name;
      live = r.live;
    }
    this.attached.push(disk);
    return { disk, live };
  }

  /** Removes a disk; the guest loses it at the next boot. */
  async detach(key: string): Promise<void> {
    const i = this.attached.findIndex((d) => d.key === key);
    if (i < 0) return;
    if (this.active) await this.machine.detachDisk(this.attached[i].machineName);
    this.attached.splice(i, 1);
  }

  isAttached(key: string): boolean {
    return this.attached.some((d) => d.key === key);
  }

  private describe(spec: DiskSpec): AttachedDisk {
    const s = spec.source;
    if ('stored' in s) return { key: storedKey(s.stored), label: s.stored, spec, machineName: s.stored };
    if ('url' in s) {
      const label = s.name ?? (decodeURIComponent(new URL(s.url).pathname.split('/').pop() ?? '') || s.url);
      return { key: `url:${s.url}`, label, spec, machineName: label };
    }
    return { key: `file:${this.nextFile++}`, label: s.name, spec, machineName: s.name };
  }
}

export function storedKey(name: string): string {
  return `stored:${name}`;
}
