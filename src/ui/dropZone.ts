// Files dragged anywhere over the page: an overlay says what dropping does,
// and the drop hands the files on. A drop on an element marked
// data-drop-target (the disk panel) is left to that element.
export function installDropZone(overlay: HTMLElement, onFiles: (files: File[]) => void): void {
  let depth = 0; // dragenter/dragleave pairs fire for every child element crossed
  const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
  const hide = () => {
    depth = 0;
    overlay.hidden = true;
  };
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    depth++;
    overlay.hidden = false;
  });
  window.addEventListener('dragleave', () => {
    if (--depth <= 0) hide();
  });
  window.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault(); // allows the drop
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('drop', (e) => {
    hide();
    if (e.defaultPrevented) return; // taken by a data-drop-target
    e.preventDefault(); // the browser would otherwise open the file
    const files = [...(e.dataTransfer?.files ?? [])];
    if (files.length) onFiles(files);
  });
}
