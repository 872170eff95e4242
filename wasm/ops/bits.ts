// Bit test and scan.  STUB: to be implemented.
import { raiseUD } from '../cpu/exec';
export const BT: u32 = 0;
export const BTS: u32 = 1;
export const BTR: u32 = 2;
export const BTC: u32 = 3;
export function btEG<T>(kind: u32): void { raiseUD(); }
export function group8<T>(): void { raiseUD(); }
export function bsf<T>(): void { raiseUD(); }
export function bsr<T>(): void { raiseUD(); }
