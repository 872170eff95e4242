// Human-readable numbers for the status line and the disk panel.

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> "1.5 KiB"; whole numbers lose the ".0". */
export function formatBytes(n: number): string {
  let i = 0;
  while (n >= 1024 && i < UNITS.length - 1) {
    n /= 1024;
    i++;
  }
  if (i === 0) return `${n} bytes`;
  const text = n >= 100 || Number.isInteger(n) ? n.toFixed(0) : n.toFixed(1);
  return `${text.replace(/\.0$/, '')} ${UNITS[i]}`;
}

/** 3723000 ms -> "1:02:03"; under an hour "2:03". */
export function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** Guest instructions per second as MIPS with one decimal. */
export function formatMips(ips: number): string {
  return `${(ips / 1e6).toFixed(1)} MIPS`;
}

/** The one-line text of anything thrown. */
export function errorMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split('\n')[0];
}
