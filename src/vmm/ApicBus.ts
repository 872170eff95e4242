// Interrupt messages to local APICs (the APIC bus / MSI writes of a P6
// system). The I/O APIC and, later, MSI-capable devices send them; the
// machine delivers them to the local APICs in the core.

export const DELIVERY_FIXED = 0;
export const DELIVERY_LOWEST = 1;
export const DELIVERY_SMI = 2;
export const DELIVERY_NMI = 4;
export const DELIVERY_INIT = 5;
export const DELIVERY_EXTINT = 7;

export interface ApicMessage {
  /** Destination APIC ID (physical) or logical destination mask. */
  destination: number;
  logical: boolean;
  vector: number;
  /** DELIVERY_* */
  deliveryMode: number;
  /** Level-triggered: the target signals EOI back so the source can clear remote IRR. */
  levelTriggered: boolean;
}

export interface ApicBus {
  send(msg: ApicMessage): void;
}
