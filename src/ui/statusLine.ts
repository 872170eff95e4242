// The status line under the terminal: state, guest speed, uptime, memory,
// and whether guest RAM is shared memory (cross-origin isolated page).
import type { VmStatus } from '../web/api.ts';
import { formatBytes, formatMips, formatUptime } from './format.ts';

export function renderStatus(element: HTMLElement, s: VmStatus): void {
  const running = s.state === 'running';
  const parts = [
    s.state,
    running ? formatMips(s.ips) : '',
    s.state === 'running' || s.state === 'paused' ? `up ${formatUptime(s.uptimeMs)}` : '',
    s.memoryBytes ? `${formatBytes(s.memoryBytes)} RAM` : '',
    s.sharedMemory ? 'shared memory' : 'no shared memory (page not cross-origin isolated)',
  ];
  element.textContent = parts.filter(Boolean).join(' · ');
  element.dataset.state = s.state;
}
