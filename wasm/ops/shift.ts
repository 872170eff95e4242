// Shifts and rotates (group 2), SHLD/SHRD.  STUB: to be implemented.
import { raiseUD } from '../cpu/exec';
export const COUNT_ONE: u32 = 0;
export const COUNT_CL: u32 = 1;
export const COUNT_IMM: u32 = 2;
export function group2<T>(countKind: u32): void { raiseUD(); }
export function shld<T>(imm: bool): void { raiseUD(); }
export function shrd<T>(imm: bool): void { raiseUD(); }
