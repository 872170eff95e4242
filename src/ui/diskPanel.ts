// The panel of disks kept in this browser (IndexedDB, thin-provisioned):
// list with virtual size and bytes stored, create, attach/detach, rename,
// delete, download, and import of a file (dropped on the panel or picked),
// so that it persists. Attachments are remembered across reloads.
import { DiskStore, type DiskInfo } from '../storage/IndexedDbDisk.ts';
import { openImage } from '../storage/openImage.ts';
import type { BlockDevice } from '../storage/BlockDevice.ts';
import { errorMessage, formatBytes } from './format.ts';
import type { Notice } from './notice.ts';
import type { ProgressBars } from './progressBars.ts';
import { rememberDisks } from './rememberedDisks.ts';
import { storedKey, type VmSession } from './session.ts';

const MiB = 1 << 20;

export interface DiskPanelElements {
  panel: HTMLElement;
  rows: HTMLElement;
  /** Disks attached that are not stored here (dropped files, URLs). */
  others: HTMLElement;
  createForm: HTMLFormElement;
  importButton: HTMLButtonElement;
  importInput: HTMLInputElement;
}

export class DiskPanel {
  private busy = new Set<string>();
  /** A name is being edited: a redraw would throw the edit away. */
  private renaming = false;

  constructor(
    private readonly store: DiskStore,
    private readonly el: DiskPanelElements,
    private readonly session: VmSession,
    private readonly notice: Notice,
    private readonly progress: ProgressBars,
  ) {
    el.createForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const data = new FormData(el.createForm);
      this.guard(() => this.create(String(data.get('name') ?? ''), Number(data.get('size'))));
    });
    el.importButton.addEventListener('click', () => el.importInput.click());
    el.importInput.addEventListener('change', () => {
      const files = [...(el.importInput.files ?? [])];
      el.importInput.value = '';
      this.guard(() => this.importFiles(files));
    });
    el.panel.addEventListener('dragover', (e) => {
      e.preventDefault();
      el.panel.classList.add('drag-over');
    });
    el.panel.addEventListener('dragleave', () => el.panel.classList.remove('drag-over'));
    el.panel.addEventListener('drop', (e) => {
      e.preventDefault(); // tells the page-wide drop zone the panel took it
      el.panel.classList.remove('drag-over');
      this.guard(() => this.importFiles([...(e.dataTransfer?.files ?? [])]));
    });
  }

  static async open(el: DiskPanelElements, session: VmSession, notice: Notice, progress: ProgressBars): Promise<DiskPanel> {
    const panel = new DiskPanel(await DiskStore.open(), el, session, notice, progress);
    await panel.refresh();
    return panel;
  }

  /** Names of stored disks that exist, of those asked for (remembered attachments). */
  async existing(names: string[]): Promise<string[]> {
    const have = new Set((await this.store.list()).map((d) => d.name));
    return names.filter((n) => have.has(n));
  }

  /** Keeps "on disk" current while the guest writes and the panel is shown. */
  watch(intervalMs: number): void {
    setInterval(() => {
      if (!this.el.panel.hidden && !this.renaming) this.refresh().catch(() => undefined);
    }, intervalMs);
  }

  async refresh(): Promise<void> {
    this.renderOthers();
    const disks = await this.store.list();
    this.el.rows.replaceChildren(...disks.map((d) => this.row(d)));
    if (disks.length === 0) {
      const empty = document.createElement('tr');
      empty.innerHTML = '<td colspan="4" class="empty">No disks yet: create one, or drop an image here.</td>';
      this.el.rows.append(empty);
    }
  }

  private renderOthers(): void {
    const others = this.session.disks.filter((d) => !('stored' in d.spec.source));
    this.el.others.replaceChildren(
      ...others.map((d) => {
        const li = document.createElement('li');
        li.dataset.disk = d.label;
        const what = 'url' in d.spec.source ? 'from the web' : 'dropped file, changes kept in memory only';
        li.append(`${d.label} (${what}${d.spec.readOnly ? ', read-only' : ''}) `, button('Detach', () => this.guard(() => this.detachOther(d.key, d.label))));
        return li;
      }),
    );
    this.el.others.hidden = others.length === 0;
  }

  private async detachOther(key: string, label: string): Promise<void> {
    await this.session.detach(key);
    if (this.session.active) this.notice.show(`${label} will be detached at the next boot`, 'info', { label: 'Reboot now', run: () => this.session.machine.reset() });
  }

  /** Stored disks attached now are attached again after a reload. */
  private remember(): void {
    rememberDisks(this.session.disks.filter((d) => 'stored' in d.spec.source).map((d) => d.label));
  }

  private row(d: DiskInfo): HTMLTableRowElement {
    const tr = document.createElement('tr');
    tr.dataset.disk = d.name;
    const attached = this.session.isAttached(storedKey(d.name));
    const name = cell(d.name);
    name.className = 'name';
    tr.append(name, cell(formatBytes(d.size)), cell(formatBytes(d.storedBytes)));
    const actions = document.createElement('td');
    actions.className = 'actions';
    const busy = this.busy.has(d.name) ? 'Busy' : undefined;
    const whileAttached = attached ? 'Detach it first' : busy;
    actions.append(
      button(attached ? 'Detach' : 'Attach', () => this.guard(() => (attached ? this.detach(d.name) : this.attach(d.name))), busy),
      // Rename edits in place: the list is redrawn when the edit ends.
      button('Rename', () => this.startRename(name, d.name), whileAttached),
      button('Download', () => this.guard(() => this.download(d.name)), busy),
      button('Delete', () => this.guard(() => this.remove(d.name)), whileAttached),
    );
    tr.append(actions);
    if (attached) tr.classList.add('attached');
    return tr;
  }

  private async create(name: string, sizeMiB: number): Promise<void> {
    name = name.trim();
    if (!name) throw new Error('give the new disk a name');
    if (!Number.isFinite(sizeMiB) || sizeMiB <= 0 || !Number.isInteger(sizeMiB)) throw new Error('the size is a whole number of MiB');
    await this.store.create(name, sizeMiB * MiB);
    this.el.createForm.reset();
    this.notice.show(`created ${name} (${formatBytes(sizeMiB * MiB)}, raw, empty): attach it and make a file system in the guest (mke2fs /dev/vdX)`);
  }

  private async attach(name: string): Promise<void> {
    const { live } = await this.session.attach({ source: { stored: name }, format: 'raw' });
    this.remember();
    if (live) this.notice.show(`${name} attached`);
    else if (this.session.active) this.notice.show(`${name} will be attached at the next boot`, 'info', { label: 'Reboot now', run: () => this.session.machine.reset() });
    else this.notice.show(`${name} will be attached when the machine starts`);
  }

  private async detach(name: string): Promise<void> {
    await this.session.detach(storedKey(name));
    this.remember();
    if (this.session.active) this.notice.show(`${name} will be detached at the next boot`, 'info', { label: 'Reboot now', run: () => this.session.machine.reset() });
  }

  private startRename(cellEl: HTMLElement, from: string): void {
    this.renaming = true;
    const input = document.createElement('input');
    input.value = from;
    input.setAttribute('aria-label', 'new name');
    cellEl.replaceChildren(input);
    input.focus();
    input.select();
    let done = false;
    const finish = (commit: boolean) => {
      if (done) return;
      done = true;
      this.renaming = false;
      const to = input.value.trim();
      if (!commit || to === from || !to) return void this.refresh();
      this.guard(() => this.store.rename(from, to));
    };
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') finish(true);
      else if (e.key === 'Escape') finish(false);
    });
    input.addEventListener('blur', () => finish(true));
  }

  private async download(name: string): Promise<void> {
    const blob = await this.store.exportBlob(name);
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = /\.(img|raw)$/i.test(name) ? name : `${name}.img`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }

  private async remove(name: string): Promise<void> {
    if (!confirm(`Delete the disk ${name} and everything on it?`)) return;
    await this.store.delete(name);
  }

  /** Copies files into IndexedDB as raw disks (a qcow2 image is converted). */
  async importFiles(files: File[]): Promise<void> {
    for (const file of files) {
      const name = await this.freeName(file.name.replace(/\.(img|raw|qcow2)$/i, '') || 'disk');
      let image: BlockDevice;
      try {
        image = await openImage(file, { readOnly: true });
      } catch (e) {
        throw new Error(`${file.name}: ${errorMessage(e)}`);
      }
      const what = `import ${name}`;
      this.busy.add(name);
      try {
        await this.store.import(name, withProgress(image, (loaded) => this.progress.update({ what, loaded, total: image.size })));
      } finally {
        this.busy.delete(name);
        this.progress.remove(what);
        await image.close();
      }
      this.notice.show(`${file.name} stored as ${name} (${formatBytes(image.size)})`);
      await this.refresh();
    }
  }

  private async freeName(base: string): Promise<string> {
    const taken = new Set((await this.store.list()).map((d) => d.name));
    if (!taken.has(base)) return base;
    for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
  }

  /** Runs an action, shows its error as one line, and redraws the list. */
  guard(action: () => Promise<unknown>): void {
    action()
      .catch((e: unknown) => this.notice.error(e))
      .finally(() => this.refresh().catch((e: unknown) => this.notice.error(e)));
  }
}

function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function button(label: string, onClick: () => void, disabledWhy?: string): HTMLButtonElement {
  const b = document.createElement('button');
  b.textContent = label;
  b.dataset.action = label.toLowerCase();
  if (disabledWhy) {
    b.disabled = true;
    b.title = disabledWhy;
  }
  b.addEventListener('click', onClick);
  return b;
}

/** A read-only view of `dev` that reports how far it has been read. */
function withProgress(dev: BlockDevice, onRead: (loaded: number) => void): BlockDevice {
  let loaded = 0;
  return {
    size: dev.size,
    readOnly: true,
    async read(offset, into) {
      await dev.read(offset, into);
      loaded = Math.max(loaded, offset + into.length);
      onRead(loaded);
    },
    write: () => Promise.reject(new Error('read-only')),
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}
