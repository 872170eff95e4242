// The VMM side of one machine in the page: owns a Machine, loads its images,
// opens its disks and runs it in slices that give the event loop a turn in
// between. vmmWorker.ts exposes one of these to the page through comlink; the
// tests drive it directly in Node.
//
// Operations that change the machine (start, reset, stop, pause, resume,
// attachDisk, detachDisk) run one at a time (a FIFO lock); the run loop is a
// separate task that stops as soon as `generation` changes. Disks are virtio
// devices added before boot, so attaching or detaching takes effect at the
// next boot (reset or start): attachDisk answers live: false.
import type { DiskSpec, LoadProgress, VmConfig, VmState, VmStatus } from './api.ts';
import { VmError, checkDiskSpec, resolveConfig, type ResolvedConfig } from './bootConfig.ts';
import { loadImage, abortError } from './loadImage.ts';
import { openDisk, uniqueDiskName, type OpenedDisk } from './openDisk.ts';
import { planBoot } from './planBoot.ts';
import { OutputBuffer } from './OutputBuffer.ts';
import { Alarm, yieldToEventLoop } from './scheduling.ts';
import { Machine, type StopReason } from '../vmm/Machine.ts';
import { RealTimeClock } from '../vmm/Clock.ts';
import { DiskStore } from '../storage/IndexedDbDisk.ts';
import { Mutex, errorText } from '../storage/util.ts';

/** What the host reports to the page. */
export interface VmEvents {
  output(bytes: Uint8Array): void;
  status(status: VmStatus): void;
  progress(progress: LoadProgress): void;
}

export interface VmmHostOptions {
  /** Where the bundled guest's images are (a directory URL ending in '/'). */
  bundledImages: URL;
  /** Guest RAM in shared memory (the page is cross-origin isolated). */
  sharedMemory: boolean;
  fetch?: typeof fetch;
  /** The IndexedDB disk store (default DiskStore.open()). */
  openDiskStore?: () => Promise<DiskStore>;
  /** Host time per runSlices call in ms (default 20). */
  sliceMs?: number;
}

interface PlannedDisk {
  name: string;
  spec: DiskSpec;
  /** From the configuration (replaced by start(config)) rather than attachDisk. */
  fromConfig: boolean;
}

const STATUS_INTERVAL_MS = 1000;
/** The longest idle sleep: input and I/O wake it earlier anyway. */
const MAX_IDLE_MS = 100;

export class VmmHost {
  private events: VmEvents | undefined;
  private pageUrl = 'about:blank';
  private state: VmState = 'stopped';
  private message: string | undefined;
  private config: ResolvedConfig | undefined;
  private kernel: Uint8Array | undefined;
  private initrd: Uint8Array | undefined;
  private machine: Machine | undefined;
  /** The disks the next boot gets, in order (the guest's vda, vdb…). */
  private plan: PlannedDisk[] = [];
  /** Open devices by disk name (kept across resets). */
  private readonly open = new Map<string, OpenedDisk>();
  /** Names of the disks the current machine has. */
  private inUse: string[] = [];
  /** Bumped whenever the running machine must stop running (pause, stop, reset). */
  private generation = 0;
  private readonly lock = new Mutex();
  private loading: AbortController | undefined;
  private readonly alarm = new Alarm();
  private readonly output = new OutputBuffer();
  private store: Promise<DiskStore> | undefined;
  private readonly sliceMs: number;
  // Status accounting.
  private runningSince: number | undefined;
  private uptimeBefore = 0;
  private lastStatusAt = 0;
  private lastIcount = 0n;
  private ips = 0;

  constructor(private readonly opts: VmmHostOptions) {
    this.sliceMs = opts.sliceMs ?? 20;
  }

  /** Where events go, and the page's URL (relative URLs in configurations are relative to it). */
  connect(events: VmEvents, pageUrl?: string): void {
    this.events = events;
    if (pageUrl) this.pageUrl = pageUrl;
    this.emitStatus();
  }

  getStatus(): VmStatus {
    const running = this.runningSince === undefined ? 0 : performance.now() - this.runningSince;
    return {
      state: this.state,
      ips: this.state === 'running' ? this.ips : 0,
      uptimeMs: Math.round(this.machine ? this.uptimeBefore + running : 0),
      memoryBytes: this.config?.memoryBytes ?? 0,
      sharedMemory: this.opts.sharedMemory,
      ...(this.message !== undefined ? { message: this.message } : {}),
    };
  }

  /** Loads the images and boots; resolves once the guest runs. Rejects (state 'error') with a VmError. */
  start(config?: VmConfig): Promise<void> {
    return this.lock.run(async () => {
      if (this.state === 'running' || this.state === 'paused') throw new VmError('the machine is already running: stop() it first, or reset()');
      const abort = new AbortController();
      this.loading = abort;
      try {
        if (config !== undefined || !this.config) await this.loadConfig(config, abort.signal);
        await this.boot(abort.signal);
      } catch (e) {
        await this.failLocked(e);
        throw new VmError(this.message ?? 'the machine failed to start');
      } finally {
        this.loading = undefined;
      }
    });
  }

  pause(): Promise<void> {
    return this.lock.run(async () => {
      if (this.state === 'paused') return;
      if (this.state !== 'running') throw new VmError(`cannot pause: the machine is ${this.state}`);
      this.haltLoop();
      this.setState('paused');
    });
  }

  resume(): Promise<void> {
    return this.lock.run(async () => {
      if (this.state === 'running') return;
      if (this.state !== 'paused' || !this.machine) throw new VmError(`cannot resume: the machine is ${this.state}`);
      this.runningSince = this.lastStatusAt = performance.now();
      this.lastIcount = this.machine.vcpu.icount;
      this.setState('running');
      void this.runLoop(++this.generation, this.machine);
    });
  }

  /** Hard reset: boots again with the configuration and the disks attached since (also from stopped). */
  reset(): Promise<void> {
    return this.lock.run(() => this.rebootLocked());
  }

  /** Powers off: waits for disk I/O, flushes and closes the disks; state 'stopped'. */
  stop(): Promise<void> {
    this.loading?.abort();
    return this.lock.run(async () => {
      const problems = await this.powerOffLocked();
      this.setState('stopped', problems);
    });
  }

  /** Console input (COM1). Ignored while no machine exists. */
  type(data: Uint8Array | string): void {
    if (!this.machine) return;
    this.machine.serialInput(data);
    this.alarm.wake();
  }

  attachDisk(spec: DiskSpec): Promise<{ live: boolean; name: string }> {
    return this.lock.run(async () => {
      const checked = checkDiskSpec(spec, this.pageUrl);
      const name = uniqueDiskName(checked, [...this.plan.map((d) => d.name), ...this.open.keys()]);
      // Opened now, so that a bad image is reported to the caller at once.
      const opened = await openDisk(checked, name, this.diskContext());
      this.open.set(name, opened);
      this.plan.push({ name, spec: checked, fromConfig: false });
      const when = this.machine ? 'the next reset' : 'the next start';
      this.setMessage([`disk '${name}' is attached at ${when}`, opened.note].filter(Boolean).join('; '));
      return { live: false, name };
    });
  }

  detachDisk(name: string): Promise<void> {
    return this.lock.run(async () => {
      const at = this.plan.findIndex((d) => d.name === name);
      if (at < 0) throw new VmError(`no disk named '${name}'`);
      this.plan.splice(at, 1);
      if (this.machine && this.inUse.includes(name)) {
        this.setMessage(`disk '${name}' is detached at the next reset`);
      } else {
        await this.closeDisk(name);
        this.setMessage(`disk '${name}' is detached`);
      }
    });
  }

  /** Stops the machine and releases everything (the worker is about to end). */
  async dispose(): Promise<void> {
    await this.stop();
    if (this.store) (await this.store.catch(() => undefined))?.close();
    this.store = undefined;
  }

  // ---------------------------------------------------------------------------

  private async loadConfig(config: VmConfig | undefined, signal: AbortSignal): Promise<void> {
    const resolved = resolveConfig(config, this.opts.bundledImages, this.pageUrl);
    this.setState('loading');
    const progress = (p: LoadProgress) => this.events?.progress(p);
    const kernel = await loadImage(resolved.kernel.source, { what: 'kernel', label: resolved.kernel.label, onProgress: progress, signal, fetch: this.opts.fetch });
    const initrd = resolved.initrd
      ? await loadImage(resolved.initrd.source, { what: 'initrd', label: resolved.initrd.label, onProgress: progress, signal, fetch: this.opts.fetch })
      : undefined;
    this.config = resolved;
    this.kernel = kernel;
    this.initrd = initrd;
    // The configuration's disks replace the previous configuration's; attached ones stay.
    const attached = this.plan.filter((d) => !d.fromConfig);
    const planned: PlannedDisk[] = [];
    const taken = attached.map((d) => d.name);
    for (const spec of resolved.disks) {
      const name = uniqueDiskName(spec, [...taken, ...planned.map((d) => d.name)]);
      planned.push({ name, spec, fromConfig: true });
    }
    this.plan = [...planned, ...attached];
  }

  /** Opens the planned disks, builds a fresh machine, boots it and starts the run loop. */
  private async boot(signal?: AbortSignal): Promise<void> {
    const config = this.config!;
    if (this.state !== 'loading') this.setState('loading');
    const notes: string[] = [];
    for (const d of this.plan) {
      if (signal?.aborted) throw abortError();
      if (!this.open.has(d.name)) this.open.set(d.name, await openDisk(d.spec, d.name, this.diskContext(signal)));
      const note = this.open.get(d.name)!.note;
      if (note) notes.push(note);
    }
    for (const name of [...this.open.keys()]) if (!this.plan.some((d) => d.name === name)) await this.closeDisk(name);

    let machine: Machine;
    try {
      machine = await Machine.create({
        ramSize: config.memoryBytes,
        clock: config.deterministic ? 'deterministic' : 'realtime',
        onSerialOutput: (b) => this.output.push(b),
        sharedMemory: this.opts.sharedMemory,
      });
    } catch (e) {
      throw new VmError(`cannot create a machine with ${config.memoryBytes >> 20} MiB: ${errorText(e)}`);
    }
    const bootPlan = planBoot(config, this.kernel!, this.initrd, machine.bootInfo);
    for (const d of this.plan) {
      const o = this.open.get(d.name)!;
      machine.addDisk(o.device, { readOnly: o.readOnly || o.device.readOnly, serial: d.name.slice(0, 20) });
    }
    machine.io.onComplete = () => this.alarm.wake();
    machine.boot(bootPlan);
    this.machine = machine;
    this.inUse = this.plan.map((d) => d.name);
    this.startedRunning(machine, notes.length ? notes.join('; ') : undefined);
  }

  /** A boot has begun: fresh uptime and speed figures, state 'running', the run loop. */
  private startedRunning(machine: Machine, message?: string): void {
    this.uptimeBefore = 0;
    this.runningSince = this.lastStatusAt = performance.now();
    this.lastIcount = machine.vcpu.icount;
    this.ips = 0;
    this.setState('running', message);
    void this.runLoop(++this.generation, machine);
  }

  private async rebootLocked(): Promise<void> {
    if (!this.config) throw new VmError('the machine was never started: start() it first');
    const machine = this.machine;
    if (machine && this.plan.length === this.inUse.length && this.plan.every((d, i) => d.name === this.inUse[i])) {
      // The same disks: reset this machine in place, as the wkvm command does
      // (no new guest RAM to allocate, which matters to a guest in a reboot loop).
      this.haltLoop();
      this.flushOutput();
      await machine.io.idle();
      this.setState('loading');
      machine.reset();
      this.startedRunning(machine);
      return;
    }
    const problems = await this.shutdownMachine();
    try {
      await this.boot();
    } catch (e) {
      await this.failLocked(e);
      throw new VmError(this.message ?? 'the machine failed to boot');
    }
    if (problems) this.setMessage(problems);
  }

  /** The run loop of one boot: ends when `generation` moves on. */
  private async runLoop(generation: number, machine: Machine): Promise<void> {
    // Let the operation that started the loop finish (and its caller hear of it) first.
    await yieldToEventLoop();
    while (generation === this.generation) {
      let stop: StopReason | undefined;
      let wait: Promise<void> | undefined;
      try {
        const r = machine.runSlices(this.sliceMs);
        stop = r.stop;
        if (r.waitIo) {
          wait = r.waitIo;
        } else if (r.idleUntilNs !== undefined) {
          // Halted until a guest deadline: sleep until it comes round on the host's clock.
          const clock = machine.clock;
          const now = clock instanceof RealTimeClock ? clock.wallNs() : clock.nowNs();
          wait = this.alarm.sleep(Math.min(MAX_IDLE_MS, Math.max(0, (r.idleUntilNs - now) / 1e6)));
        }
      } catch (e) {
        this.flushOutput();
        void this.lock.run(async () => {
          if (generation === this.generation) await this.failLocked(new VmError(`the machine stopped: ${errorText(e)}`));
        });
        return;
      }
      this.flushOutput();
      this.tickStatus(machine);
      if (stop) {
        void this.lock.run(() => this.guestStopped(generation, stop)).catch(() => undefined);
        return;
      }
      await (wait ?? yieldToEventLoop());
    }
  }

  /** The guest reset or powered off the machine (or left through isa-debug-exit). */
  private async guestStopped(generation: number, stop: StopReason): Promise<void> {
    if (generation !== this.generation) return; // stopped, paused or reset meanwhile
    if (stop.kind === 'reset') return this.rebootLocked();
    const problems = await this.powerOffLocked();
    const exit = stop.kind === 'debug-exit' ? `the guest exited with status ${stop.status}` : undefined;
    this.setState('poweroff', [exit, problems].filter(Boolean).join('; ') || undefined);
  }

  /** Stops the loop and drops the machine after its disk I/O; disks flushed, still open. Returns flush problems. */
  private async shutdownMachine(): Promise<string | undefined> {
    const machine = this.machine;
    this.haltLoop();
    this.flushOutput();
    if (!machine) return undefined;
    this.machine = undefined;
    this.inUse = [];
    await machine.io.idle();
    const problems: string[] = [];
    for (const [name, o] of this.open) {
      await o.device.flush().catch((e: unknown) => problems.push(`disk '${name}': ${errorText(e)}`));
    }
    return problems.length ? problems.join('; ') : undefined;
  }

  private async powerOffLocked(): Promise<string | undefined> {
    const problems = await this.shutdownMachine();
    for (const name of [...this.open.keys()]) await this.closeDisk(name);
    this.runningSince = undefined;
    return problems;
  }

  /** Whatever went wrong → state 'error' with one line; the machine and its disks are released. */
  private async failLocked(e: unknown): Promise<void> {
    const message = e instanceof VmError ? e.message : `internal error: ${errorText(e)}`;
    if (!(e instanceof VmError)) console.error(e);
    await this.powerOffLocked().catch(() => undefined);
    this.setState('error', message);
  }

  private haltLoop(): void {
    this.generation++;
    if (this.runningSince !== undefined) this.uptimeBefore += performance.now() - this.runningSince;
    this.runningSince = undefined;
    this.alarm.wake();
  }

  private async closeDisk(name: string): Promise<void> {
    const o = this.open.get(name);
    this.open.delete(name);
    await o?.device.close().catch(() => undefined);
  }

  private diskContext(signal?: AbortSignal) {
    return {
      diskStore: () => (this.store ??= (this.opts.openDiskStore ?? (() => DiskStore.open()))()),
      onProgress: (p: LoadProgress) => this.events?.progress(p),
      signal,
      fetch: this.opts.fetch,
    };
  }

  private flushOutput(): void {
    const bytes = this.output.take();
    if (bytes) this.events?.output(bytes);
  }

  private tickStatus(machine: Machine): void {
    const now = performance.now();
    if (now - this.lastStatusAt < STATUS_INTERVAL_MS) return;
    const icount = machine.vcpu.icount;
    this.ips = Math.round(Number(icount - this.lastIcount) / ((now - this.lastStatusAt) / 1000));
    this.lastIcount = icount;
    this.lastStatusAt = now;
    this.emitStatus();
  }

  private setState(state: VmState, message?: string): void {
    this.state = state;
    this.message = message;
    if (state !== 'running') this.ips = 0;
    this.emitStatus();
  }

  private setMessage(message: string): void {
    this.message = message;
    this.emitStatus();
  }

  private emitStatus(): void {
    this.events?.status(this.getStatus());
  }
}
