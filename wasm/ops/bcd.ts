// Decimal adjust instructions.  STUB: to be implemented.
import { raiseUD } from '../cpu/exec';
export function daa(): void { raiseUD(); }
export function das(): void { raiseUD(); }
export function aaa(): void { raiseUD(); }
export function aas(): void { raiseUD(); }
export function aam(): void { raiseUD(); }
export function aad(): void { raiseUD(); }
export function salc(): void { raiseUD(); }
