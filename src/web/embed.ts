// The embed script (built to dist/wkvm-embed.js): one <script type="module">
// gives a page the <wkvm-vm> element and, for scripts, createMachine().
//   <script type="module" src="https://…/wkvm-embed.js"></script>
//   import { createMachine } from 'https://…/wkvm-embed.js';
import { defineWkvmElement, WkvmVmElement } from './element.ts';

export { createMachine, WkvmVm, type CreateMachineOptions } from './WkvmVm.ts';
export { WkvmVmElement, defineWkvmElement };
export type * from './api.ts';

defineWkvmElement();
