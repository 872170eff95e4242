// Far control transfers: JMP/CALL far, RETF, IRET.  STUB: to be implemented.
import { raiseUD } from '../cpu/exec';
export function callFarImm(): void { raiseUD(); }
export function callFarE(): void { raiseUD(); }
export function jmpFarImm(): void { raiseUD(); }
export function jmpFarE(): void { raiseUD(); }
export function retFar(withImm: bool): void { raiseUD(); }
export function iret(): void { raiseUD(); }
