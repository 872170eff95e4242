// The one-line message area under the toolbar: errors, and notes with an
// optional action button (e.g. "Reboot now" after a disk is attached for the
// next boot).
import { errorMessage } from './format.ts';

export type NoticeKind = 'info' | 'error';

export interface NoticeAction {
  label: string;
  run: () => void | Promise<void>;
}

export class Notice {
  constructor(private readonly element: HTMLElement) {}

  show(message: string, kind: NoticeKind = 'info', action?: NoticeAction): void {
    const text = document.createElement('span');
    text.textContent = message;
    const close = document.createElement('button');
    close.className = 'close';
    close.title = 'Dismiss';
    close.textContent = '×';
    close.addEventListener('click', () => this.clear());
    this.element.replaceChildren(text);
    if (action) {
      const button = document.createElement('button');
      button.textContent = action.label;
      button.addEventListener('click', () => {
        this.clear();
        Promise.resolve().then(action.run).catch((e: unknown) => this.error(e));
      });
      this.element.append(button);
    }
    this.element.append(close);
    this.element.dataset.kind = kind;
    this.element.hidden = false;
  }

  error(e: unknown): void {
    this.show(errorMessage(e), 'error');
  }

  clear(): void {
    this.element.hidden = true;
    this.element.replaceChildren();
  }
}
