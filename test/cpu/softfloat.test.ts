// The IEEE arithmetic library (wasm/fp) against the real CPU: replays the
// cases scripts/fp-oracle/generate.ts recorded on the host's x87/SSE unit
// (test/fixtures/softfloat/<op>.json.gz), one test per operation, results and
// flags bit for bit. The library is compiled on its own from
// wasm/fp/testEntry.ts into build/softfloat-test.wasm (rebuilt when a source
// is newer).
//
// SOFTFLOAT_OPS=f80add,f32div limits the run; SOFTFLOAT_SHOW=n lists up to n
// failures per operation (default 15); SOFTFLOAT_FIXTURES=dir replays another
// set (a stress run of the generator, see scripts/fp-oracle/generate.ts).
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const fixtures = process.env.SOFTFLOAT_FIXTURES ? `${process.env.SOFTFLOAT_FIXTURES}/` : `${root}test/fixtures/softfloat/`;
const wasmPath = `${root}build/softfloat-test.wasm`;
const only = process.env.SOFTFLOAT_OPS?.split(',').map((s) => s.trim());
const SHOW = Number(process.env.SOFTFLOAT_SHOW ?? 15);

/** An argument of the library's exports: u64/i64 travel as BigInt, everything else (bool too) as number. */
type Arg = number | bigint;
/** The exports of wasm/fp/softfloat.ts, by name. */
type SoftFloat = Record<string, (...args: Arg[]) => Arg>;
let sf: SoftFloat;
const fpFlags = () => sf.fpFlags() as number;
const resultSe = () => sf.f80ResultSe() as number;
const resultSig = () => sf.f80ResultSig() as bigint;
const result2Se = () => sf.f80Result2Se() as number;
const result2Sig = () => sf.f80Result2Sig() as bigint;

function buildIfStale(): void {
  const sources = readdirSync(`${root}wasm/fp`).map((f) => `${root}wasm/fp/${f}`).concat(`${root}wasm/abi.ts`);
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
  if (existsSync(wasmPath) && statSync(wasmPath).mtimeMs >= newest) return;
  execFileSync(`${root}node_modules/.bin/asc`, [
    'wasm/fp/testEntry.ts', '-o', wasmPath, '--runtime', 'stub', '-O3', '--noAssert', '--use', 'abort=',
  ], { cwd: root, stdio: 'inherit' });
}

before(async () => {
  buildIfStale();
  const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
  sf = instance.exports as unknown as SoftFloat;
});

// --- case decoding ----------------------------------------------------------------
const FP_IE = 0x01, FP_DE = 0x02, FP_ZE = 0x04, FP_OE = 0x08, FP_UE = 0x10;
/** The exceptions detected before computing: unmasked, the instruction delivers nothing. */
const PRE_COMPUTATION = FP_IE | FP_DE | FP_ZE;
const FSW_C0 = 0x100, FSW_C1 = 0x200, FSW_C2 = 0x400, FSW_C3 = 0x4000;
const PC_BITS: Record<number, number> = { 0: 24, 2: 53, 3: 64 };
/** What the oracle leaves in a destination the store did not write. */
const SENTINEL = 0x5a5a5a5a5a5a5a5an;

const big = (hexText: string) => BigInt('0x' + hexText);
const hex = (v: bigint | number, digits: number) => BigInt.asUintN(digits * 4, BigInt(v)).toString(16).padStart(digits, '0');
/** f80 operand "SSSSMMMMMMMMMMMMMMMM" -> [se, sig]. */
const f80 = (t: string): [number, bigint] => [parseInt(t.slice(0, 4), 16), big(t.slice(4))];
const f80Text = (se: number, sig: bigint) => hex(se, 4) + hex(sig, 16);

interface Mode { rc: number; pc: number; daz: boolean; ftz: boolean; mask: number }
function decodeMode(text: string): Mode {
  const m = parseInt(text, 16);
  return { rc: m & 3, pc: PC_BITS[(m >> 2) & 3], daz: (m & 0x10) !== 0, ftz: (m & 0x20) !== 0, mask: (m >> 8) & 0x3f };
}

function setX87(mode: Mode): void {
  sf.setFpMode(mode.rc, mode.pc, 0, 0);
  sf.setX87ExceptionMask(mode.mask);
  sf.clearFpFlags();
}
function setSse(mode: Mode): void {
  sf.setFpMode(mode.rc, 64, mode.daz ? 1 : 0, mode.ftz ? 1 : 0);
  sf.setSseExceptionMask(mode.mask);
  sf.clearFpFlags();
}

// The callers' part of unmasked exceptions, as softfloat.ts documents it:
// x87: an unmasked IE/DE/ZE leaves the destination alone and reports only
// that flag (compares still set the condition codes); an unmasked OE/UE
// store stores nothing. SSE: any unmasked exception faults (#XM, nothing
// written); MXCSR then gets only IE/DE/ZE if one of those was unmasked.

/** An unmasked pre-computation exception was raised: the x87 keeps its destination. */
const x87Blocked = (mode: Mode) => (fpFlags() & ~mode.mask & PRE_COMPUTATION) !== 0;
/** The x87 status word the oracle prints (FSW & 0x477F; FNSAVE's image never has ES). */
function x87Status(mode: Mode, conditionBits: number): string {
  return x87Blocked(mode) ? hex(fpFlags() & PRE_COMPUTATION, 4) : hex(fpFlags() | conditionBits, 4);
}
const c1 = () => (sf.fpRoundedUp() ? FSW_C1 : 0);
/** ST0 after a register operation: the result, or the first operand when an unmasked exception blocked it. */
const f80Result = (mode: Mode, a: string) => (x87Blocked(mode) ? a : f80Text(resultSe(), resultSig()));
/** FCOM's condition codes for a CMP_* result. */
const X87_CMP: Record<number, number> = { [-1]: FSW_C0, 0: FSW_C3, 1: 0, 2: FSW_C0 | FSW_C2 | FSW_C3 };
/** The oracle's encoding of COMIS results: 0 >, 1 <, 2 =, 3 unordered. */
const SSE_CMP: Record<number, number> = { [-1]: 1, 0: 2, 1: 0, 2: 3 };

/** A store that an unmasked exception suppresses leaves the destination alone. */
function stored(value: bigint, bits: number, mode: Mode): string {
  const suppressed = (fpFlags() & ~mode.mask & (PRE_COMPUTATION | FP_OE | FP_UE)) !== 0;
  const mask = (1n << BigInt(bits)) - 1n;
  return hex(suppressed ? SENTINEL : (SENTINEL & ~mask) | (BigInt.asUintN(bits, value)), 16);
}

/** An SSE result and MXCSR flags, or the #XM outcome. */
function sseOutcome(mode: Mode, value: bigint): string {
  const flags = fpFlags();
  const unmasked = flags & ~mode.mask & 0x3f;
  if (!unmasked) return `${hex(value, 16)} ${hex(flags, 4)}`;
  return `${hex(SENTINEL, 16)} ${hex(unmasked & PRE_COMPUTATION ? flags & PRE_COMPUTATION : flags, 4)}`;
}

type Runner = (mode: Mode, args: string[]) => string;

function x87Binary(name: string, extra: Arg[] = []): Runner {
  return (mode, [a, b]) => {
    setX87(mode);
    sf[name](...f80(a), ...f80(b), ...extra);
    return `${f80Result(mode, a)} ${x87Status(mode, c1())}`;
  };
}
function x87Unary(name: string): Runner {
  return (mode, [a]) => {
    setX87(mode);
    sf[name](...f80(a));
    return `${f80Result(mode, a)} ${x87Status(mode, c1())}`;
  };
}
function x87Rem(ieee: number): Runner {
  return (mode, [a, b]) => {
    setX87(mode);
    const cond = sf['f80Rem'](...f80(a), ...f80(b), ieee) as number;
    return `${f80Result(mode, a)} ${x87Status(mode, cond)}`;
  };
}
function x87Compare(quiet: number): Runner {
  return (mode, [a, b]) => {
    setX87(mode);
    const r = sf['f80Compare'](...f80(a), ...f80(b), quiet) as number;
    return `${a} ${hex(fpFlags() | X87_CMP[r], 4)}`;
  };
}
/** ST(0) op m32/m64: the memory operand through f80FromF32Operand/F64Operand. reverse: m op ST(0). */
function x87Memory(name: string, bits: number, extra: Arg[] = [], reverse = false): Runner {
  return (mode, [a, m]) => {
    setX87(mode);
    if (bits === 32) sf.f80FromF32Operand(parseInt(m, 16) | 0);
    else sf.f80FromF64Operand(big(m));
    const mem = f80Text(resultSe(), resultSig());
    const [x, y] = reverse ? [mem, a] : [a, mem];
    if (name === 'f80Compare') {
      const r = sf[name](...f80(x), ...f80(y), ...extra) as number;
      return `${a} ${hex(fpFlags() | X87_CMP[r], 4)}`;
    }
    sf[name](...f80(x), ...f80(y), ...extra);
    return `${f80Result(mode, a)} ${x87Status(mode, c1())}`;
  };
}
function x87Load(name: string, arg: (t: string) => Arg): Runner {
  return (mode, [a]) => {
    setX87(mode);
    sf[name](arg(a));
    return `${f80Text(resultSe(), resultSig())} ${x87Status(mode, c1())}`;
  };
}
function x87StoreFloat(name: string, bits: number): Runner {
  return (mode, [a]) => {
    setX87(mode);
    const r = sf[name](...f80(a)) as number | bigint;
    return `${stored(BigInt(r), bits, mode)} ${x87Status(mode, c1())}`;
  };
}
function x87StoreInt(bits: number, truncate: number): Runner {
  return (mode, [a]) => {
    setX87(mode);
    const r = sf['f80ToInt'](...f80(a), bits, truncate) as bigint;
    return `${stored(r, bits, mode)} ${x87Status(mode, c1())}`;
  };
}
function sse(name: string, parse: (t: string) => Arg, extra: Arg[] = [], cmp = false): Runner {
  return (mode, args) => {
    setSse(mode);
    const r = sf[name](...args.map(parse), ...extra) as number | bigint;
    return sseOutcome(mode, cmp ? BigInt(SSE_CMP[r as number]) : BigInt.asUintN(typeof r === 'number' ? 32 : 64, BigInt(r)));
  };
}
const u32 = (t: string) => parseInt(t, 16) | 0;
const u64 = (t: string) => big(t);
const i64 = (t: string) => BigInt.asIntN(64, big(t));
/** A 32-bit integer result comes back sign-extended: the register holds its low half. */
function sseToInt(name: string, parse: (t: string) => Arg, bits: number, truncate: number): Runner {
  return (mode, [a]) => {
    setSse(mode);
    const r = sf[name](parse(a), bits, truncate) as bigint;
    return sseOutcome(mode, BigInt.asUintN(bits, r));
  };
}

const RUNNERS: Record<string, Runner> = {
  f80add: x87Binary('f80Add', [0]),
  f80sub: x87Binary('f80Add', [1]),
  f80mul: x87Binary('f80Mul'),
  f80div: x87Binary('f80Div'),
  f80scale: x87Binary('f80Scale'),
  f80sqrt: x87Unary('f80Sqrt'),
  f80rndint: x87Unary('f80RoundInt'),
  f80rem: x87Rem(0),
  f80rem1: x87Rem(1),
  f80xtract: (mode, [a]) => {
    setX87(mode);
    sf.f80Extract(...f80(a));
    // Blocked, nothing is pushed: ST1 is the oracle's zero below the operand.
    const exponent = x87Blocked(mode) ? f80Text(0, 0n) : f80Text(result2Se(), result2Sig());
    return `${f80Result(mode, a)} ${exponent} ${x87Status(mode, 0)}`;
  },
  f80cmp: x87Compare(0),
  f80ucmp: x87Compare(1),
  f80addm32: x87Memory('f80Add', 32, [0]), f80subm32: x87Memory('f80Add', 32, [1]),
  f80divm32: x87Memory('f80Div', 32), f80cmpm32: x87Memory('f80Compare', 32, [0]),
  f80subrm64: x87Memory('f80Add', 64, [1], true), f80mulm64: x87Memory('f80Mul', 64),
  f80divrm64: x87Memory('f80Div', 64, [], true), f80cmpm64: x87Memory('f80Compare', 64, [0]),
  f80fromf32: x87Load('f80FromF32', u32),
  f80fromf64: x87Load('f80FromF64', u64),
  f80fromi64: x87Load('f80FromI64', i64),
  f80tof32: x87StoreFloat('f80ToF32', 32),
  f80tof64: x87StoreFloat('f80ToF64', 64),
  f80toi16: x87StoreInt(16, 0), f80toi32: x87StoreInt(32, 0), f80toi64: x87StoreInt(64, 0),
  f80tti16: x87StoreInt(16, 1), f80tti32: x87StoreInt(32, 1), f80tti64: x87StoreInt(64, 1),
  f32add: sse('f32Add', u32, [0]), f32sub: sse('f32Add', u32, [1]),
  f32mul: sse('f32Mul', u32), f32div: sse('f32Div', u32), f32sqrt: sse('f32Sqrt', u32),
  f32cmp: sse('f32Compare', u32, [0], true), f32ucmp: sse('f32Compare', u32, [1], true),
  f64add: sse('f64Add', u64, [0]), f64sub: sse('f64Add', u64, [1]),
  f64mul: sse('f64Mul', u64), f64div: sse('f64Div', u64), f64sqrt: sse('f64Sqrt', u64),
  f64cmp: sse('f64Compare', u64, [0], true), f64ucmp: sse('f64Compare', u64, [1], true),
  f32tof64: sse('f32ToF64', u32),
  f64tof32: sse('f64ToF32', u64),
  f32toi32: sseToInt('f32ToInt', u32, 32, 0), f32tti32: sseToInt('f32ToInt', u32, 32, 1),
  f32toi64: sseToInt('f32ToInt', u32, 64, 0), f32tti64: sseToInt('f32ToInt', u32, 64, 1),
  f64toi32: sseToInt('f64ToInt', u64, 32, 0), f64tti32: sseToInt('f64ToInt', u64, 32, 1),
  f64toi64: sseToInt('f64ToInt', u64, 64, 0), f64tti64: sseToInt('f64ToInt', u64, 64, 1),
  i32tof32: sse('i32ToF32', u32), i32tof64: sse('i32ToF64', u32),
  i64tof32: sse('i64ToF32', i64), i64tof64: sse('i64ToF64', i64),
};

// --- one test per fixture ---------------------------------------------------------------
const files = readdirSync(fixtures).filter((f) => f.endsWith('.json.gz')).sort();
const resultWords = (op: string) => (op === 'f80xtract' ? 3 : 2);

test('every fixture has a runner', () => {
  const missing = files.map((f) => f.replace('.json.gz', '')).filter((op) => !RUNNERS[op]);
  assert.deepEqual(missing, []);
});

for (const file of files) {
  const op = file.replace('.json.gz', '');
  if (only && !only.includes(op)) continue;
  test(`softfloat ${op} matches the CPU`, () => {
    const { cases } = JSON.parse(gunzipSync(readFileSync(fixtures + file)).toString()) as { cases: string[] };
    const run = RUNNERS[op];
    const failures: string[] = [];
    for (const line of cases) {
      const words = line.split(' ');
      const n = resultWords(op);
      const inputs = words.slice(0, words.length - n);
      const expected = words.slice(words.length - n).join(' ');
      const actual = run(decodeMode(inputs[0]), inputs.slice(1));
      if (actual !== expected) failures.push(`${op} ${inputs.join(' ')}: CPU ${expected}, softfloat ${actual}`);
    }
    assert.ok(cases.length > 0);
    assert.equal(failures.length, 0,
      `${failures.length} of ${cases.length} cases differ:\n${failures.slice(0, SHOW).join('\n')}`);
  });
}

// --- API behaviour the fixtures do not pin down ---------------------------------------------
test('flags accumulate until clearFpFlags', () => {
  sf.setFpMode(0, 64, 0, 0);
  sf.setX87ExceptionMask(0x3f);
  sf.clearFpFlags();
  sf.f80Div(0x3fff, 0x8000000000000000n, 0, 0n); // 1/0: ZE
  sf.f80Add(0x3fff, 0x8000000000000000n, 0x3fbf, 0x8000000000000000n, 0); // 1 + 2^-64: PE
  assert.equal(fpFlags(), FP_ZE | 0x20);
  sf.clearFpFlags();
  assert.equal(fpFlags(), 0);
});

test('a denormal memory operand counts for the next operation only', () => {
  sf.setFpMode(0, 64, 0, 0);
  sf.clearFpFlags();
  sf.f80FromF32Operand(1); // the smallest f32 denormal: no flag yet
  assert.equal(fpFlags(), 0);
  const [mSe, mSig] = [resultSe(), resultSig()];
  sf.f80Add(0x3fff, 0x8000000000000000n, mSe, mSig, 0);
  assert.equal(fpFlags() & FP_DE, FP_DE);
  sf.clearFpFlags();
  sf.f80Add(0x3fff, 0x8000000000000000n, mSe, mSig, 0); // the same value, now just an f80
  assert.equal(fpFlags() & FP_DE, 0);
  sf.f80FromF32Operand(1);
  sf.clearFpFlags(); // an instruction that stopped before its operation leaves nothing behind
  sf.f80Add(0x3fff, 0x8000000000000000n, mSe, mSig, 0);
  assert.equal(fpFlags() & FP_DE, 0);
});

test('integer indefinites come back sign-extended', () => {
  sf.setFpMode(0, 64, 0, 0);
  sf.clearFpFlags();
  assert.equal(sf.f80ToInt(0x7fff, 0xc000000000000000n, 16, 0), -32768n);
  assert.equal(sf.f80ToInt(0x7fff, 0xc000000000000000n, 32, 0), -2147483648n);
  assert.equal(sf.f32ToInt(0x7fc00000, 32, 1), -2147483648n);
  assert.equal(sf.f64ToInt(0x7ff8000000000000n, 64, 0), -9223372036854775808n);
  assert.equal(fpFlags(), FP_IE);
});
