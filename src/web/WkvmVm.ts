// The page side of one machine: implements WkvmMachine (api.ts) over comlink
// to a VMM worker of its own (vmmWorker.ts). Keeps the last status for the
// synchronous `status`, the console text for waitForOutput(), and the event
// listeners.
import { wrap, releaseProxy, type Endpoint, type Remote } from 'comlink';
import type { DiskSpec, VmConfig, VmEventMap, VmState, VmStatus, WkvmMachine } from './api.ts';
import { isVmmEventMessage, type VmmService } from './vmmService.ts';
import { ConsoleLog } from './ConsoleLog.ts';
import { spawnVmmWorker } from './spawnWorker.ts';

export interface CreateMachineOptions {
  /** The worker (any comlink endpoint) to talk to instead of starting one: tests, custom hosting. */
  endpoint?: Endpoint & { terminate?: () => void };
  /** Relative URLs in configurations are relative to this (default: the page's URL). */
  baseUrl?: string;
}

type Listener<K extends keyof VmEventMap> = (value: VmEventMap[K]) => void;

/** States a waitForOutput() gives up in: the guest will print nothing more. */
const ENDED: readonly VmState[] = ['stopped', 'poweroff', 'error'];

export class WkvmVm implements WkvmMachine {
  private readonly endpoint: Endpoint & { terminate?: () => void };
  private readonly remote: Remote<VmmService>;
  private current: VmStatus = { state: 'stopped', ips: 0, uptimeMs: 0, memoryBytes: 0, sharedMemory: false };
  private readonly listeners: { [K in keyof VmEventMap]: Set<Listener<K>> } = { output: new Set(), status: new Set(), progress: new Set() };
  private readonly log = new ConsoleLog();
  private readonly encoder = new TextEncoder();
  /** Rejects when the worker cannot run at all (its script failed to load): every call fails with it. */
  private readonly broken: Promise<never>;
  private disposed = false;
  private endedListeners = new Set<(status: VmStatus) => void>();

  constructor(endpoint: Endpoint & { terminate?: () => void }, baseUrl: string) {
    this.endpoint = endpoint;
    this.remote = wrap<VmmService>(endpoint);
    this.broken = new Promise<never>((_, reject) => {
      endpoint.addEventListener('error', (event) => {
        const why = (event as ErrorEvent).message || 'its script could not be loaded';
        const message = `the VMM worker failed: ${why}`;
        this.onStatus({ ...this.current, state: 'error', message });
        reject(new Error(message));
      });
    });
    this.broken.catch(() => undefined);
    // Events come as plain messages on the same port as comlink's answers (see vmmService.ts).
    endpoint.addEventListener('message', (event) => {
      const data = (event as MessageEvent).data;
      if (!isVmmEventMessage(data)) return;
      if (data.wkvm === 'output') this.onOutput(data.value);
      else if (data.wkvm === 'status') this.onStatus(data.value);
      else if (data.wkvm === 'progress') this.emit('progress', data.value);
    });
    void this.call(() => this.remote.connect(baseUrl)).catch(() => undefined);
  }

  get status(): VmStatus {
    return this.current;
  }

  start(config?: VmConfig): Promise<void> {
    return this.call(() => this.remote.start(config));
  }

  pause(): Promise<void> {
    return this.call(() => this.remote.pause());
  }

  resume(): Promise<void> {
    return this.call(() => this.remote.resume());
  }

  reset(): Promise<void> {
    return this.call(() => this.remote.reset());
  }

  stop(): Promise<void> {
    return this.call(() => this.remote.stop());
  }

  type(text: string | Uint8Array): void {
    const bytes = typeof text === 'string' ? this.encoder.encode(text) : text;
    if (bytes.length === 0 || this.disposed) return;
    void this.call(() => this.remote.type(bytes)).catch(() => undefined);
  }

  on<K extends keyof VmEventMap>(type: K, listener: (value: VmEventMap[K]) => void): () => void {
    const set = this.listeners[type] as Set<Listener<K>>;
    if (!set) throw new Error(`unknown event '${String(type)}' (output, status or progress)`);
    set.add(listener);
    return () => set.delete(listener);
  }

  waitForOutput(match: string | RegExp, opts: { timeoutMs?: number; fromBoot?: boolean } = {}): Promise<void> {
    if (typeof match !== 'string' && !(match instanceof RegExp)) return Promise.reject(new Error('waitForOutput: match must be a string or a RegExp'));
    return new Promise<void>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      let cancel = (): void => undefined;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        cancel();
        this.endedListeners.delete(onEnded);
        if (timer !== undefined) clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      const onEnded = (s: VmStatus) => finish(new Error(`the machine is ${s.state}${s.message ? ` (${s.message})` : ''}: no output matching ${String(match)}`));
      this.endedListeners.add(onEnded);
      // The match may already be there (fromBoot): then finish() runs inside wait().
      cancel = this.log.wait(match, opts.fromBoot ?? false, () => finish());
      if (settled) {
        cancel();
        return;
      }
      if (opts.timeoutMs !== undefined) {
        timer = setTimeout(() => finish(new Error(`no output matching ${String(match)} within ${opts.timeoutMs} ms`)), opts.timeoutMs);
      }
    });
  }

  /** The console text since the current boot (up to about 1 MiB of the latest). */
  get outputSinceBoot(): string {
    return this.log.sinceBoot();
  }

  attachDisk(spec: DiskSpec): Promise<{ live: boolean; name: string }> {
    return this.call(() => this.remote.attachDisk(spec));
  }

  detachDisk(name: string): Promise<void> {
    return this.call(() => this.remote.detachDisk(name));
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // A worker that does not answer within 5 s is terminated anyway.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const patience = new Promise((r) => (timer = setTimeout(r, 5000)));
    await Promise.race([this.remote.dispose(), this.broken, patience]).catch(() => undefined);
    clearTimeout(timer);
    this.remote[releaseProxy]();
    this.endpoint.terminate?.();
    this.onStatus({ ...this.current, state: 'stopped', ips: 0 });
  }

  // ---------------------------------------------------------------------------

  /** One call into the worker: errors become one-line Errors (no worker stack). */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new Error('the machine was disposed');
    try {
      return await Promise.race([fn(), this.broken]);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      throw new Error(message.split('\n')[0]);
    }
  }

  private onOutput(bytes: Uint8Array): void {
    this.log.append(bytes);
    this.emit('output', bytes);
  }

  private onStatus(status: VmStatus): void {
    const before = this.current.state;
    this.current = status;
    // Output after 'loading' belongs to a new boot.
    if (status.state === 'loading' && before !== 'loading') this.log.markBoot();
    this.emit('status', status);
    if (ENDED.includes(status.state) && status.state !== before) for (const f of [...this.endedListeners]) f(status);
  }

  private emit<K extends keyof VmEventMap>(type: K, value: VmEventMap[K]): void {
    for (const listener of [...this.listeners[type]] as Listener<K>[]) {
      try {
        listener(value);
      } catch (e) {
        // A faulty listener must not stop the others (or the machine's events).
        console.error(e);
      }
    }
  }
}

/** A machine with a VMM worker of its own, stopped: call start(config). dispose() ends the worker. */
export function createMachine(options: CreateMachineOptions = {}): WkvmVm {
  const endpoint = options.endpoint ?? spawnVmmWorker();
  return new WkvmVm(endpoint, options.baseUrl ?? document.baseURI);
}
