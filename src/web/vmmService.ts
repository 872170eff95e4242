// What the VMM worker exposes to the page through comlink: a VmmHost's
// operations. Its events (console output, status, load progress) are posted
// as plain messages on the same port, so they arrive in order with the
// calls' answers: a start() that fails is answered after the 'error' status,
// a reset() after the status of the new boot. Output buffers are transferred.
import type { DiskSpec, LoadProgress, VmConfig, VmStatus } from './api.ts';
import type { VmmHost } from './VmmHost.ts';

/** An event from the worker; comlink ignores these (they carry no call id). */
export type VmmEventMessage =
  | { wkvm: 'output'; value: Uint8Array }
  | { wkvm: 'status'; value: VmStatus }
  | { wkvm: 'progress'; value: LoadProgress };

export function isVmmEventMessage(data: unknown): data is VmmEventMessage {
  return typeof data === 'object' && data !== null && typeof (data as { wkvm?: unknown }).wkvm === 'string';
}

export interface VmmService {
  /** Starts the events; relative URLs in configurations are relative to `pageUrl`. */
  connect(pageUrl: string): void;
  status(): VmStatus;
  start(config?: VmConfig): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  reset(): Promise<void>;
  stop(): Promise<void>;
  type(data: Uint8Array | string): void;
  attachDisk(spec: DiskSpec): Promise<{ live: boolean; name: string }>;
  detachDisk(name: string): Promise<void>;
  dispose(): Promise<void>;
}

export function createVmmService(host: VmmHost, post: (message: VmmEventMessage, transfer: Transferable[]) => void): VmmService {
  return {
    connect(pageUrl) {
      host.connect(
        {
          output: (bytes) => post({ wkvm: 'output', value: bytes }, [bytes.buffer]),
          status: (status) => post({ wkvm: 'status', value: status }, []),
          progress: (progress) => post({ wkvm: 'progress', value: progress }, []),
        },
        pageUrl,
      );
    },
    status: () => host.getStatus(),
    start: (config) => host.start(config),
    pause: () => host.pause(),
    resume: () => host.resume(),
    reset: () => host.reset(),
    stop: () => host.stop(),
    type: (data) => host.type(data),
    attachDisk: (spec) => host.attachDisk(spec),
    detachDisk: (name) => host.detachDisk(name),
    dispose: () => host.dispose(),
  };
}
