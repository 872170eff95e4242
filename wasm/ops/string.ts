// String instructions with REP prefixes.  STUB: to be implemented.
import { raiseUD } from '../cpu/exec';
export function movs<T>(): void { raiseUD(); }
export function cmps<T>(): void { raiseUD(); }
export function stos<T>(): void { raiseUD(); }
export function lods<T>(): void { raiseUD(); }
export function scas<T>(): void { raiseUD(); }
export function ins<T>(): void { raiseUD(); }
export function outs<T>(): void { raiseUD(); }
