// What happens to files the user drops on the page or picks with "Open
// file": disk images are attached as virtio disks, a kernel and/or an
// initramfs boot the machine. Files travel to the VMM worker as Blobs and
// are read there lazily; here only their first bytes are looked at.
import type { VmConfig } from '../web/api.ts';
import { classifyFile } from './fileKind.ts';
import type { Notice } from './notice.ts';
import type { VmSession } from './session.ts';

/** The bundled initramfs, kept when the user boots a kernel of their own. */
function bundledInitrdUrl(): string {
  return new URL(`${import.meta.env.BASE_URL}images/initramfs.cpio.gz`, location.href).href;
}

export async function openFiles(files: File[], session: VmSession, notice: Notice, onDisksChanged: () => void): Promise<void> {
  if (files.length === 0) return;
  const kinds = await Promise.all(files.map((f) => classifyFile(f, f.name)));
  const boot: Partial<VmConfig> = {};
  const bootNames: string[] = [];
  const attachedNames: string[] = [];
  let allLive = true;
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    const k = kinds[i];
    if (k.kind === 'kernel') {
      if (boot.kernel) throw new Error(`drop one kernel at a time (${bootNames.join(', ')} and ${file.name})`);
      boot.kernel = { blob: file, name: file.name };
      bootNames.push(file.name);
    } else if (k.kind === 'initrd') {
      if (boot.initrd) throw new Error(`drop one initramfs at a time (${file.name})`);
      boot.initrd = { blob: file, name: file.name };
      bootNames.push(file.name);
    } else {
      const { live } = await session.attach({ source: { blob: file, name: file.name }, format: k.format, readOnly: k.readOnly });
      attachedNames.push(file.name);
      allLive &&= live;
    }
  }
  if (attachedNames.length) onDisksChanged();

  if (boot.kernel || boot.initrd) {
    // A kernel alone keeps the current initramfs (the bundled one by default),
    // except a multiboot kernel, which has none.
    const multiboot = kinds.some((k) => k.kind === 'kernel' && k.flavour === 'multiboot');
    if (boot.kernel && !boot.initrd) boot.initrd = multiboot ? undefined : (session.bootConfig.initrd ?? { url: bundledInitrdUrl() });
    const disks = session.disks.map((d) => d.label);
    notice.show(`booting ${bootNames.join(' + ')}${disks.length ? ` with ${disks.join(', ')} attached` : ''}`);
    await session.restartWith(boot);
    return;
  }
  const what = attachedNames.join(', ');
  if (!session.active) notice.show(`${what} will be attached when the machine starts`);
  else if (allLive) notice.show(`${what} attached`);
  else notice.show(`${what} will be attached at the next boot`, 'info', { label: 'Reboot now', run: () => void session.machine.reset() });
}
