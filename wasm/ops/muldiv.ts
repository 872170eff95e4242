// Multiplication and division.  STUB: to be implemented.
import { raiseUD } from '../cpu/exec';
export function mul<T>(): void { raiseUD(); }
export function imul1<T>(): void { raiseUD(); }
export function div<T>(): void { raiseUD(); }
export function idiv<T>(): void { raiseUD(); }
export function imulGE<T>(): void { raiseUD(); }
export function imulGEI<T>(imm8: bool): void { raiseUD(); }
