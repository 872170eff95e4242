// The toolbar's machine buttons: which ones can be used follows the
// machine's state; what they do is the session's.
import type { VmState } from '../web/api.ts';

export interface ToolbarButtons {
  start: HTMLButtonElement;
  pause: HTMLButtonElement;
  reset: HTMLButtonElement;
  powerOff: HTMLButtonElement;
}

export function updateToolbar(b: ToolbarButtons, state: VmState): void {
  const booted = state === 'running' || state === 'paused';
  b.start.disabled = booted || state === 'loading';
  b.pause.disabled = !booted;
  b.pause.textContent = state === 'paused' ? 'Resume' : 'Pause';
  b.reset.disabled = !booted;
  b.powerOff.disabled = !booted && state !== 'loading';
}
