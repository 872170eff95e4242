// One progress bar per image being loaded ("kernel", "initrd", a disk, an
// import), removed when it is complete or when the machine runs.
import type { LoadProgress } from '../web/api.ts';
import { formatBytes } from './format.ts';

export class ProgressBars {
  private readonly bars = new Map<string, { row: HTMLElement; bar: HTMLProgressElement; label: HTMLElement }>();

  constructor(private readonly container: HTMLElement) {}

  update(p: LoadProgress): void {
    let entry = this.bars.get(p.what);
    if (!entry) {
      const row = document.createElement('div');
      row.className = 'progress';
      const label = document.createElement('span');
      const bar = document.createElement('progress');
      row.append(label, bar);
      this.container.append(row);
      entry = { row, bar, label };
      this.bars.set(p.what, entry);
    }
    const total = p.total ?? 0;
    if (total > 0) {
      entry.bar.max = total;
      entry.bar.value = Math.min(p.loaded, total);
    } else {
      entry.bar.removeAttribute('value'); // indeterminate
    }
    entry.label.textContent = `${p.what}: ${formatBytes(p.loaded)}${total ? ` of ${formatBytes(total)}` : ''}`;
    if (total > 0 && p.loaded >= total) this.remove(p.what);
  }

  remove(what: string): void {
    this.bars.get(what)?.row.remove();
    this.bars.delete(what);
  }

  clear(): void {
    for (const what of [...this.bars.keys()]) this.remove(what);
  }
}
