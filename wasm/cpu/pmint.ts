// Protected-mode and virtual-8086 interrupt delivery.  STUB: to be implemented.
import { EXC_GP } from '../abi';
import { setFault } from './state';
export function deliverProtected(vector: u32, kind: u32, hasError: bool, error: u32): void { setFault(EXC_GP, vector * 8 + 2, true); }
