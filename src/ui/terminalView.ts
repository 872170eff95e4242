// The serial console (COM1) in an xterm.js terminal that fills its element
// and follows the window's size. Selecting text copies it to the clipboard
// (as in a Linux terminal); pasting goes through xterm's own paste handling
// (Ctrl+Shift+V / the context menu), which sends the text as input.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';

export interface TerminalView {
  readonly terminal: Terminal;
  /** Bytes from the guest (UTF-8, with the guest's own CR/LF). */
  write(bytes: Uint8Array): void;
  /** Every line of the buffer, scrollback included (for tests and debugging). */
  text(): string;
}

export function createTerminalView(element: HTMLElement, onInput: (data: string) => void): TerminalView {
  const terminal = new Terminal({
    fontSize: 14,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
    scrollback: 5000,
    theme: { background: '#101418' },
  });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(element);
  fit.fit();
  // The element changes size with the window and when the disk panel opens.
  new ResizeObserver(() => fit.fit()).observe(element);
  terminal.onData(onInput);
  terminal.onSelectionChange(() => {
    const selected = terminal.getSelection();
    // The clipboard may be refused (no focus, no permission): copying is a convenience.
    if (selected) navigator.clipboard?.writeText(selected).catch(() => undefined);
  });
  terminal.focus();
  return {
    terminal,
    write: (bytes) => terminal.write(bytes),
    text() {
      const buffer = terminal.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buffer.length; i++) {
        const line = buffer.getLine(i);
        if (!line) continue;
        // Wrapped lines continue the previous one.
        if (line.isWrapped && lines.length) lines[lines.length - 1] += line.translateToString(true);
        else lines.push(line.translateToString(true));
      }
      return lines.join('\n');
    },
  };
}
