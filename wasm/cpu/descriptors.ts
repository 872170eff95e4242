// Protected-mode descriptor loading and checks.  STUB: to be implemented.
import { EXC_GP } from '../abi';
import { setFault } from './state';
export function loadSegmentProtected(seg: i32, sel: u32): void { setFault(EXC_GP, sel & 0xfffc, true); }
