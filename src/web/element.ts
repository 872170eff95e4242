// <wkvm-vm>: a machine with its own terminal, for embedding in any page.
//
//   <wkvm-vm kernel="…" initrd="…" append="…" disk="a.img b.qcow2" memory="64"
//            autostart="click|visible|load" cols="80" rows="25"></wkvm-vm>
//
// Without kernel it boots the bundled Linux guest. It renders an xterm.js
// terminal in its shadow root, sized by default to cols x rows cells and
// fitted to whatever size the page gives the element. It starts when its
// start button is clicked (autostart="click", the default), when it is
// scrolled into view ("visible") or at once ("load"). The WkvmMachine methods
// (start, pause, resume, reset, stop, type, on, waitForOutput, attachDisk,
// detachDisk, dispose, status) are on the element, and it dispatches
// "output", "status" and "progress" CustomEvents (the value in `detail`).
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import xtermCss from '@xterm/xterm/css/xterm.css?inline';
import type { DiskSpec, LoadProgress, VmConfig, VmEventMap, VmStatus, WkvmMachine } from './api.ts';
import { createMachine, type WkvmVm } from './WkvmVm.ts';

const ELEMENT_CSS = `
:host {
  display: inline-block;
  position: relative;
  box-sizing: border-box;
  /* The default size is cols x rows cells (set once the font is measured); page CSS overrides it. */
  width: var(--wkvm-default-width, 740px);
  height: var(--wkvm-default-height, 440px);
  max-width: 100%;
  background: #101418;
  border-radius: 4px;
  overflow: hidden;
  color: #e6e6e6;
  font: 14px system-ui, sans-serif;
}
:host([hidden]) { display: none; }
.screen { position: absolute; inset: 0; padding: 4px; box-sizing: border-box; }
.screen > .terminal-box { width: 100%; height: 100%; }
.overlay {
  position: absolute; inset: 0; display: flex; flex-direction: column; gap: 10px;
  align-items: center; justify-content: center; text-align: center;
  background: rgba(16, 20, 24, 0.82); cursor: pointer;
}
.overlay[hidden] { display: none; }
.overlay button {
  font: inherit; font-size: 16px; padding: 8px 18px; border-radius: 6px; border: 1px solid #5b8def;
  background: #1d3b73; color: #fff; cursor: pointer;
}
.overlay .note { max-width: 90%; opacity: 0.85; white-space: pre-wrap; }
.overlay progress { width: 60%; }
`;

/** The machine methods the element forwards (WkvmMachine). */
type MachineMethods = Omit<WkvmMachine, 'status'>;

export class WkvmVmElement extends HTMLElement implements MachineMethods {
  static readonly observedAttributes = ['cols', 'rows'];

  private machine: WkvmVm | undefined;
  private terminal: Terminal | undefined;
  private fit: FitAddon | undefined;
  private resizeObserver: ResizeObserver | undefined;
  private visibilityObserver: IntersectionObserver | undefined;
  private readonly overlay: HTMLDivElement;
  private readonly overlayButton: HTMLButtonElement;
  private readonly overlayNote: HTMLDivElement;
  private readonly overlayProgress: HTMLProgressElement;
  private readonly terminalBox: HTMLDivElement;
  private started = false;

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    const style = document.createElement('style');
    style.textContent = xtermCss + ELEMENT_CSS;
    const screen = document.createElement('div');
    screen.className = 'screen';
    screen.setAttribute('part', 'screen');
    this.terminalBox = document.createElement('div');
    this.terminalBox.className = 'terminal-box';
    screen.append(this.terminalBox);
    this.overlay = document.createElement('div');
    this.overlay.className = 'overlay';
    this.overlay.setAttribute('part', 'overlay');
    this.overlayButton = document.createElement('button');
    this.overlayButton.type = 'button';
    this.overlayButton.textContent = '▶ Start';
    this.overlayNote = document.createElement('div');
    this.overlayNote.className = 'note';
    this.overlayProgress = document.createElement('progress');
    this.overlayProgress.hidden = true;
    this.overlay.append(this.overlayButton, this.overlayProgress, this.overlayNote);
    this.overlay.addEventListener('click', () => {
      if (!this.overlayButton.disabled) void this.start().catch(() => undefined);
    });
    root.append(style, screen, this.overlay);
  }

  connectedCallback(): void {
    if (!this.terminal) this.openTerminal();
    const autostart = (this.getAttribute('autostart') ?? 'click').toLowerCase();
    this.overlayNote.textContent = this.getAttribute('label') ?? (this.hasAttribute('kernel') ? '' : 'Linux, booted in your browser');
    if (this.started) return;
    if (autostart === 'load') {
      void this.start().catch(() => undefined);
    } else if (autostart === 'visible') {
      this.visibilityObserver = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) {
          this.visibilityObserver?.disconnect();
          void this.start().catch(() => undefined);
        }
      }, { threshold: 0.25 });
      this.visibilityObserver.observe(this);
    }
  }

  disconnectedCallback(): void {
    this.visibilityObserver?.disconnect();
    // Moving the element within the page disconnects and reconnects it at once: only a real removal ends the machine.
    queueMicrotask(() => {
      if (!this.isConnected) void this.dispose();
    });
  }

  attributeChangedCallback(): void {
    if (this.terminal) this.setDefaultSize();
  }

  // --- WkvmMachine on the element -------------------------------------------

  get status(): VmStatus {
    return this.machine?.status ?? { state: 'stopped', ips: 0, uptimeMs: 0, memoryBytes: 0, sharedMemory: false };
  }

  /** The configuration the attributes describe. */
  get config(): VmConfig {
    const config: VmConfig = {};
    const kernel = this.getAttribute('kernel');
    const initrd = this.getAttribute('initrd');
    const append = this.getAttribute('append');
    const memory = this.getAttribute('memory');
    const disks = (this.getAttribute('disk') ?? '').split(/\s+/).filter(Boolean);
    if (kernel) config.kernel = { url: kernel };
    if (initrd) config.initrd = { url: initrd };
    if (append !== null) config.append = append;
    if (memory) config.memory = Number(memory);
    if (disks.length) config.disks = disks.map((url): DiskSpec => ({ source: { url } }));
    if (this.hasAttribute('deterministic')) config.deterministic = true;
    return config;
  }

  /** Starts the machine with `config`, or with the attributes' configuration. */
  async start(config?: VmConfig): Promise<void> {
    this.started = true;
    this.visibilityObserver?.disconnect();
    this.terminal?.focus();
    await this.vm().start(config ?? this.config);
  }

  pause(): Promise<void> {
    return this.vm().pause();
  }

  resume(): Promise<void> {
    return this.vm().resume();
  }

  reset(): Promise<void> {
    return this.vm().reset();
  }

  stop(): Promise<void> {
    return this.vm().stop();
  }

  type(text: string | Uint8Array): void {
    this.vm().type(text);
  }

  on<K extends keyof VmEventMap>(type: K, listener: (value: VmEventMap[K]) => void): () => void {
    return this.vm().on(type, listener);
  }

  waitForOutput(match: string | RegExp, opts?: { timeoutMs?: number; fromBoot?: boolean }): Promise<void> {
    return this.vm().waitForOutput(match, opts);
  }

  attachDisk(spec: DiskSpec): Promise<{ live: boolean; name: string }> {
    return this.vm().attachDisk(spec);
  }

  detachDisk(name: string): Promise<void> {
    return this.vm().detachDisk(name);
  }

  async dispose(): Promise<void> {
    const machine = this.machine;
    this.machine = undefined;
    this.started = false;
    await machine?.dispose();
  }

  /** The xterm.js terminal (for pages that want to style or drive it). */
  get term(): Terminal | undefined {
    return this.terminal;
  }

  // ---------------------------------------------------------------------------

  /** The machine, made (with its worker) on first use. */
  private vm(): WkvmVm {
    if (this.machine) return this.machine;
    const machine = createMachine();
    this.machine = machine;
    machine.on('output', (bytes) => {
      this.terminal?.write(bytes);
      this.dispatchEvent(new CustomEvent('output', { detail: bytes }));
    });
    machine.on('status', (status) => {
      this.showStatus(status);
      this.dispatchEvent(new CustomEvent('status', { detail: status }));
    });
    machine.on('progress', (p) => {
      this.showProgress(p);
      this.dispatchEvent(new CustomEvent('progress', { detail: p }));
    });
    return machine;
  }

  private openTerminal(): void {
    const terminal = new Terminal({
      cols: this.cells('cols', 80),
      rows: this.cells('rows', 25),
      fontSize: 14,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      scrollback: 2000,
      theme: { background: '#101418' },
    });
    const fit = new FitAddon();
    terminal.loadAddon(fit);
    terminal.open(this.terminalBox);
    terminal.onData((data) => this.machine?.type(data));
    this.terminal = terminal;
    this.fit = fit;
    this.setDefaultSize();
    this.resizeObserver = new ResizeObserver(() => this.fit?.fit());
    this.resizeObserver.observe(this.terminalBox);
  }

  /** The element's default size: `cols` x `rows` cells of the terminal's font (page CSS may override it). */
  private setDefaultSize(): void {
    const terminal = this.terminal!;
    const cell = terminalCell(terminal);
    if (!cell) return;
    const scrollbar = 14; // what FitAddon keeps for the scrollbar
    const padding = 8;
    this.style.setProperty('--wkvm-default-width', `${Math.ceil(this.cells('cols', 80) * cell.width + scrollbar + padding + 1)}px`);
    this.style.setProperty('--wkvm-default-height', `${Math.ceil(this.cells('rows', 25) * cell.height + padding + 1)}px`);
    this.fit?.fit();
  }

  private cells(name: 'cols' | 'rows', fallback: number): number {
    const n = Number(this.getAttribute(name));
    return Number.isInteger(n) && n >= 10 && n <= 500 ? n : fallback;
  }

  private showStatus(status: VmStatus): void {
    const { state } = status;
    if (state === 'running' || state === 'paused') {
      this.overlay.hidden = true;
      return;
    }
    this.overlay.hidden = false;
    this.overlayProgress.hidden = state !== 'loading';
    this.overlayButton.disabled = state === 'loading';
    if (state === 'loading') {
      this.overlayButton.textContent = 'Starting…';
      this.overlayNote.textContent = status.message ?? '';
    } else if (state === 'error') {
      this.overlayButton.textContent = '▶ Try again';
      this.overlayNote.textContent = status.message ?? 'the machine failed';
    } else if (this.started) {
      this.overlayButton.textContent = '▶ Start again';
      this.overlayNote.textContent = state === 'poweroff' ? `The guest powered off.${status.message ? ` ${status.message}` : ''}` : 'Stopped.';
    }
  }

  private showProgress(p: LoadProgress): void {
    this.overlayProgress.hidden = false;
    if (p.total) {
      this.overlayProgress.max = p.total;
      this.overlayProgress.value = p.loaded;
    } else {
      this.overlayProgress.removeAttribute('value');
    }
    const mb = (n: number) => (n / 1048576).toFixed(1);
    this.overlayNote.textContent = `loading ${p.what}: ${mb(p.loaded)}${p.total ? ` of ${mb(p.total)}` : ''} MB`;
  }
}

/** The terminal's cell size in CSS pixels (xterm exposes it only internally; FitAddon reads the same). */
function terminalCell(terminal: Terminal): { width: number; height: number } | undefined {
  const dims = (terminal as unknown as { _core?: { _renderService?: { dimensions?: { css?: { cell?: { width: number; height: number } } } } } })._core
    ?._renderService?.dimensions?.css?.cell;
  return dims && dims.width > 0 && dims.height > 0 ? { width: dims.width, height: dims.height } : undefined;
}

/** Registers <wkvm-vm> (once per page, whoever loads the script first). */
export function defineWkvmElement(name = 'wkvm-vm'): void {
  if (!customElements.get(name)) customElements.define(name, WkvmVmElement);
}

declare global {
  interface HTMLElementTagNameMap {
    'wkvm-vm': WkvmVmElement;
  }
}
