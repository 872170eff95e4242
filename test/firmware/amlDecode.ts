// Test helpers: a decoder for the subset of AML the firmware builder emits
// (Name, Scope, Device, Method, Package, Buffer, String, integers), written
// from the ACPI spec's grammar independently of src/firmware/Aml.ts, and a
// runner for the ACPICA tools (iasl, acpiexec) used as oracles.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type AmlValue = bigint | string | Uint8Array | AmlValue[];

export interface AmlObject {
  kind: 'name' | 'device' | 'method' | 'scope';
  /** Absolute path, segments joined with '.', e.g. "\\_SB_.PCI0._PRT". */
  path: string;
  value?: AmlValue;
  /** Method: argument count and the raw body. */
  argCount?: number;
  body?: Uint8Array;
}

class Reader {
  constructor(
    readonly b: Uint8Array,
    public at: number,
  ) {}
  u8(): number {
    if (this.at >= this.b.length) throw new Error(`AML ran out at ${this.at}`);
    return this.b[this.at++];
  }
  peek(): number {
    return this.b[this.at];
  }
  /** PkgLength: returns the end offset of the package. */
  pkgEnd(): number {
    const start = this.at;
    const lead = this.u8();
    const n = lead >> 6;
    let len = n === 0 ? lead & 0x3f : lead & 0x0f;
    for (let i = 0; i < n; i++) len |= this.u8() << (4 + 8 * i);
    return start + len;
  }
  seg(): string {
    let s = '';
    for (let i = 0; i < 4; i++) s += String.fromCharCode(this.u8());
    if (!/^[A-Z_][A-Z0-9_]{3}$/.test(s)) throw new Error(`bad NameSeg "${s}" at ${this.at - 4}`);
    return s;
  }
  /** NameString → { absolute, parents, segs }. */
  nameString(): { absolute: boolean; parents: number; segs: string[] } {
    let absolute = false;
    let parents = 0;
    if (this.peek() === 0x5c) {
      absolute = true;
      this.at++;
    } else {
      while (this.peek() === 0x5e) {
        parents++;
        this.at++;
      }
    }
    const p = this.peek();
    let segs: string[];
    if (p === 0x00) {
      this.at++;
      segs = [];
    } else if (p === 0x2e) {
      this.at++;
      segs = [this.seg(), this.seg()];
    } else if (p === 0x2f) {
      this.at++;
      const n = this.u8();
      segs = [];
      for (let i = 0; i < n; i++) segs.push(this.seg());
    } else segs = [this.seg()];
    return { absolute, parents, segs };
  }
  le(n: number): bigint {
    let v = 0n;
    for (let i = 0; i < n; i++) v |= BigInt(this.u8()) << BigInt(8 * i);
    return v;
  }
  data(): AmlValue {
    const op = this.u8();
    switch (op) {
      case 0x00:
        return 0n;
      case 0x01:
        return 1n;
      case 0xff:
        return 0xffffffffffffffffn;
      case 0x0a:
        return this.le(1);
      case 0x0b:
        return this.le(2);
      case 0x0c:
        return this.le(4);
      case 0x0e:
        return this.le(8);
      case 0x0d: {
        let s = '';
        for (let c = this.u8(); c !== 0; c = this.u8()) s += String.fromCharCode(c);
        return s;
      }
      case 0x11: {
        const end = this.pkgEnd();
        const size = Number(this.data() as bigint);
        const bytes = this.b.slice(this.at, end);
        if (bytes.length !== size) throw new Error(`buffer size ${size} but ${bytes.length} bytes follow`);
        this.at = end;
        return bytes;
      }
      case 0x12: {
        const end = this.pkgEnd();
        const count = this.u8();
        const out: AmlValue[] = [];
        while (this.at < end) out.push(this.data());
        if (this.at !== end) throw new Error('package overran its PkgLength');
        if (out.length !== count) throw new Error(`package says ${count} elements, has ${out.length}`);
        return out;
      }
      default:
        throw new Error(`unexpected data opcode 0x${op.toString(16)} at ${this.at - 1}`);
    }
  }
}

function resolve(scope: string[], n: { absolute: boolean; parents: number; segs: string[] }): string[] {
  const base = n.absolute ? [] : scope.slice(0, scope.length - n.parents);
  return [...base, ...n.segs];
}

const pathOf = (segs: string[]) => '\\' + segs.join('.');

/** Decode a term list (a DSDT body) into its named objects, in order. */
export function decodeTermList(bytes: Uint8Array, start = 0, end = bytes.length, scope: string[] = []): AmlObject[] {
  const r = new Reader(bytes, start);
  const out: AmlObject[] = [];
  while (r.at < end) {
    const op = r.u8();
    if (op === 0x08) {
      const path = resolve(scope, r.nameString());
      out.push({ kind: 'name', path: pathOf(path), value: r.data() });
    } else if (op === 0x10) {
      const e = r.pkgEnd();
      const path = resolve(scope, r.nameString());
      out.push({ kind: 'scope', path: pathOf(path) });
      out.push(...decodeTermList(bytes, r.at, e, path));
      r.at = e;
    } else if (op === 0x5b && r.peek() === 0x82) {
      r.at++;
      const e = r.pkgEnd();
      const path = resolve(scope, r.nameString());
      out.push({ kind: 'device', path: pathOf(path) });
      out.push(...decodeTermList(bytes, r.at, e, path));
      r.at = e;
    } else if (op === 0x14) {
      const e = r.pkgEnd();
      const path = resolve(scope, r.nameString());
      const flags = r.u8();
      out.push({ kind: 'method', path: pathOf(path), argCount: flags & 7, body: bytes.slice(r.at, e) });
      r.at = e;
    } else {
      throw new Error(`unexpected term opcode 0x${op.toString(16)} at ${r.at - 1}`);
    }
  }
  if (r.at !== end) throw new Error('term list overran its package');
  return out;
}

/** Named objects of a DSDT keyed by absolute path. */
export function namespaceOf(dsdt: Uint8Array): Map<string, AmlObject> {
  const m = new Map<string, AmlObject>();
  for (const o of decodeTermList(dsdt, 36)) if (o.kind !== 'scope') m.set(o.path, o);
  return m;
}

// --- ACPICA tools ---------------------------------------------------------------

export function haveTool(name: string): boolean {
  const r = spawnSync(name, ['-v'], { encoding: 'utf8' });
  return !r.error;
}

export const NO_ACPICA = 'ACPICA tools not installed (apt-get install acpica-tools): skipping the iasl/acpiexec oracle';

export interface ToolRun {
  status: number | null;
  output: string;
  files: Map<string, string>;
}

/**
 * Run an ACPICA tool in a fresh directory holding `inputs`; returns its
 * output and the text files it was asked to read back (`collect`).
 */
export function runTool(tool: string, args: string[], inputs: Record<string, Uint8Array | string>, collect: string[] = []): ToolRun {
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-acpi-'));
  try {
    for (const [name, data] of Object.entries(inputs)) writeFileSync(join(dir, name), data);
    const r = spawnSync(tool, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const files = new Map<string, string>();
    for (const f of collect) if (existsSync(join(dir, f))) files.set(f, readFileSync(join(dir, f), 'latin1'));
    return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`, files };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Run a tool and return a binary file it wrote. */
export function runToolBinary(tool: string, args: string[], inputs: Record<string, Uint8Array | string>, result: string): { output: string; bytes?: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'wkvm-acpi-'));
  try {
    for (const [name, data] of Object.entries(inputs)) writeFileSync(join(dir, name), data);
    const r = spawnSync(tool, args, { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    const p = join(dir, result);
    return { output: `${r.stdout ?? ''}${r.stderr ?? ''}`, bytes: existsSync(p) ? new Uint8Array(readFileSync(p)) : undefined };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
