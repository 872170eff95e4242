// Which stored (IndexedDB) disks are attached, remembered in localStorage so
// that a reload boots with them again and the guest finds what it wrote.
const KEY = 'wkvm.attachedStoredDisks';

export function rememberedDisks(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function rememberDisks(names: string[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(names));
  } catch {
    // Storage refused (private mode): attachments then last until the page closes.
  }
}
