// The page: the bundled Linux guest (or what the URL asks for) boots on
// load into an xterm.js terminal on COM1, with a toolbar, a status line,
// load progress, drag and drop of images and kernels, and the panel of disks
// stored in this browser. Each part is its own module; this one wires them.
import type { VmConfig, WkvmMachine } from '../web/api.ts';
import { createMachine } from '../web/WkvmVm.ts';
import { DiskPanel } from './diskPanel.ts';
import { installDropZone } from './dropZone.ts';
import { errorMessage } from './format.ts';
import { Notice } from './notice.ts';
import { openFiles } from './openFiles.ts';
import { ProgressBars } from './progressBars.ts';
import { rememberedDisks } from './rememberedDisks.ts';
import { VmSession } from './session.ts';
import { renderStatus } from './statusLine.ts';
import { createTerminalView } from './terminalView.ts';
import { updateToolbar } from './toolbar.ts';
import { parseUrlConfig } from './urlConfig.ts';

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

const notice = new Notice(byId('notice'));
const progress = new ProgressBars(byId('progress'));
const statusLine = byId('statusline');
const buttons = {
  start: byId<HTMLButtonElement>('start'),
  pause: byId<HTMLButtonElement>('pause'),
  reset: byId<HTMLButtonElement>('reset'),
  powerOff: byId<HTMLButtonElement>('poweroff'),
};
const openButton = byId<HTMLButtonElement>('open');
const openInput = byId<HTMLInputElement>('open-file');
const disksButton = byId<HTMLButtonElement>('disks-toggle');
const disksPanel = byId('disks');

let machine: WkvmMachine | undefined;
const view = createTerminalView(byId('terminal'), (data) => machine?.type(data));

/** Runs a user action; a failure becomes the one-line notice. */
function act(action: () => Promise<unknown>): void {
  action().catch((e: unknown) => notice.error(e));
}

async function main(): Promise<void> {
  let urlConfig: VmConfig;
  try {
    const parsed = parseUrlConfig(location.search, location.href);
    urlConfig = parsed.config;
    if (parsed.unknown.length) notice.show(`ignored unknown URL parameter${parsed.unknown.length > 1 ? 's' : ''}: ${parsed.unknown.join(', ')}`, 'error');
  } catch (e) {
    notice.error(e);
    statusLine.textContent = 'not started: fix the URL';
    return;
  }

  // The VMM runs in a worker of its own (src/web).
  machine = createMachine();
  const m = machine;
  m.on('output', (bytes) => view.write(bytes));
  m.on('progress', (p) => progress.update(p));
  m.on('status', (s) => {
    renderStatus(statusLine, s);
    updateToolbar(buttons, s.state);
    if (s.state === 'running') progress.clear();
    if (s.state === 'error' && s.message) notice.show(s.message, 'error');
  });
  renderStatus(statusLine, m.status);
  updateToolbar(buttons, m.status.state);

  const session = new VmSession(m, urlConfig);
  let panel: DiskPanel | undefined;
  const disksChanged = () => void panel?.refresh();
  const open = (files: File[]) => act(() => openFiles(files, session, notice, disksChanged));
  // Before anything is awaited: a file dropped while the page starts must not
  // be opened by the browser in place of the page.
  installDropZone(byId('drop-overlay'), open);
  // Stored disks attached before the reload are attached again.
  const remembered = rememberedDisks();
  try {
    panel = await DiskPanel.open(
      { panel: disksPanel, rows: byId('disk-rows'), others: byId('disk-others'), createForm: byId<HTMLFormElement>('disk-create'), importButton: byId<HTMLButtonElement>('disk-import'), importInput: byId<HTMLInputElement>('disk-import-file') },
      session,
      notice,
      progress,
    );
    for (const name of await panel.existing(remembered)) await session.attach({ source: { stored: name }, format: 'raw' });
    await panel.refresh();
    panel.watch(3000);
    if (session.disks.length) {
      disksPanel.hidden = false;
      disksButton.setAttribute('aria-expanded', 'true');
    }
  } catch (e) {
    byId('disk-rows').textContent = `Disks in this browser are not available: ${errorMessage(e)}`;
  }
  buttons.start.addEventListener('click', () => act(() => session.start()));
  buttons.pause.addEventListener('click', () => act(() => (m.status.state === 'paused' ? m.resume() : m.pause())));
  buttons.reset.addEventListener('click', () => act(() => m.reset()));
  buttons.powerOff.addEventListener('click', () => act(() => m.stop()));
  openButton.addEventListener('click', () => openInput.click());
  openInput.addEventListener('change', () => {
    const files = [...(openInput.files ?? [])];
    openInput.value = '';
    open(files);
  });
  disksButton.addEventListener('click', () => {
    disksPanel.hidden = !disksPanel.hidden;
    disksButton.setAttribute('aria-expanded', String(!disksPanel.hidden));
  });

  // A handle for the browser console and the end-to-end tests.
  Object.assign(window, { wkvm: { machine: m, session, terminal: view.terminal, terminalText: () => view.text() } });

  await session.start();
  view.terminal.focus();
}

main().catch((e: unknown) => {
  notice.error(e);
  statusLine.textContent = 'error';
});
