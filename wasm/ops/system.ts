// System instructions.  STUB: to be implemented.
import { raiseUD } from '../cpu/exec';
export function arpl(): void { raiseUD(); }
export function movEwSreg(): void { raiseUD(); }
export function movSregEw(): void { raiseUD(); }
export function loadFarPointer(seg: i32): void { raiseUD(); }
export function cli(): void { raiseUD(); }
export function sti(): void { raiseUD(); }
export function group6(): void { raiseUD(); }
export function group7(): void { raiseUD(); }
export function lar(): void { raiseUD(); }
export function lsl(): void { raiseUD(); }
export function clts(): void { raiseUD(); }
export function invd(): void { raiseUD(); }
export function movFromCr(): void { raiseUD(); }
export function movFromDr(): void { raiseUD(); }
export function movToCr(): void { raiseUD(); }
export function movToDr(): void { raiseUD(); }
export function sysenter(): void { raiseUD(); }
export function sysexit(): void { raiseUD(); }
