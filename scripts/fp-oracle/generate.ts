// Generates the softfloat fixtures: deterministic operands and modes for each
// operation, run on this host's real x87/SSE unit by oracle.c, written to
// test/fixtures/softfloat/<op>.json.gz for test/cpu/softfloat.test.ts.
//
//   npx tsx scripts/fp-oracle/generate.ts            every operation
//   npx tsx scripts/fp-oracle/generate.ts f80add     only some
//   npx tsx scripts/fp-oracle/generate.ts --check    regenerate in memory, compare with the files
//   npx tsx scripts/fp-oracle/generate.ts --scale 50 --out /tmp/sf
//       a stress run: 50 times the cases (other seeds) into another directory,
//       replayed with SOFTFLOAT_FIXTURES=/tmp/sf node --import tsx --test test/cpu/softfloat.test.ts
//
// Needs an x86-64 Linux host with gcc. The committed fixtures come from an
// Intel Xeon (Ice Lake server). Each operation has its own PRNG seeded from
// its name, so a rerun writes identical files.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Rng, Format, F32, F64, F80, encode, normal, special, anyValue, randomSig, decode } from './values.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const outDir = `${root}test/fixtures/softfloat`;
const oracleSrc = `${root}scripts/fp-oracle/oracle.c`;
const oracleExe = `${root}build/fp-oracle`;

// --- modes (the oracle's mode word) ----------------------------------------------
const MASK_ALL = 0x3f;
/** OE and UE unmasked: the x87 delivers wrapped-exponent results. */
const MASK_OU = 0x27;
/** One pre-computation exception unmasked (IE, DE or ZE): the x87 leaves the destination alone. */
const MASK_PRE = [0x3e, 0x3d, 0x3b];
const PC_CODES = [0, 2, 3]; // FCW.PC for 24, 53, 64 bits

/**
 * x87 mode: every rounding control and precision; masks mostly all set,
 * sometimes OE/UE unmasked (unmaskOu) or one of IE/DE/ZE (unmaskPre).
 */
function x87Mode(rng: Rng, unmaskOu: boolean, unmaskPre: boolean): string {
  const rc = rng.int(4);
  const pc = rng.pick(PC_CODES);
  const k = rng.int(20);
  const mask = unmaskOu && k < 4 ? MASK_OU : unmaskPre && k >= 17 ? rng.pick(MASK_PRE) : MASK_ALL;
  return ((mask << 8) | (pc << 2) | rc).toString(16);
}
/** SSE mode: every rounding control, DAZ/FTZ; masks mostly all set, sometimes one or all exceptions unmasked (#XM). */
function sseMode(rng: Rng): string {
  const rc = rng.int(4);
  const dazFtz = rng.bool(0.6) ? 0 : rng.int(4);
  const k = rng.int(8);
  const mask = k < 6 ? MASK_ALL : k === 6 ? MASK_ALL & ~(1 << rng.int(6)) : 0;
  return ((mask << 8) | (dazFtz << 4) | rc).toString(16);
}

// --- operand pairs ------------------------------------------------------------
const fieldOf = (f: Format, v: string) => decode(f, v).exp;

/** b with an exponent close to a's (cancellation, alignment, ties at every precision). */
function nearPair(rng: Rng, f: Format): [string, string] {
  const a = normal(rng, f);
  const ea = fieldOf(f, a);
  const k = rng.int(4);
  let eb: number;
  if (k === 0) eb = ea + rng.range(-3, 3);
  else if (k === 1) eb = ea - rng.pick([24, 25, 53, 54, 64, 65, 66]) + rng.range(-1, 1);
  else eb = ea + rng.range(-70, 70);
  let b = normal(rng, f, eb);
  if (rng.bool(0.25)) {
    // b = -a with a few low bits changed: massive cancellation.
    const d = decode(f, a);
    const sig = (d.sig ^ rng.bits(rng.range(1, 8))) | (1n << BigInt(f.precision - 1));
    b = encode(f, d.sign ^ rng.int(2), d.exp, sig);
  }
  return rng.bool() ? [a, b] : [b, a];
}

/** Operands whose product (mul) or quotient (div) lands near the overflow or underflow threshold. */
function boundaryPair(rng: Rng, f: Format, div: boolean): [string, string] {
  const a = normal(rng, f);
  const ea = fieldOf(f, a) - f.bias;
  // Target unbiased result exponent: just above the largest, around the smallest normal, or deep in the denormals.
  const emax = f.maxExp - 1 - f.bias, emin = 1 - f.bias;
  const target = rng.pick([emax + rng.range(-2, 2), emin + rng.range(-3, 2), emin - rng.range(1, f.precision + 2)]);
  const eb = div ? ea - target : target - ea;
  return [a, normal(rng, f, eb + f.bias)];
}

function pairFor(op: string, rng: Rng, f: Format): [string, string] {
  const r = rng.int(10);
  if (r < 2) { const x = anyValue(rng, f), y = special(rng, f); return rng.bool() ? [x, y] : [y, x]; }
  if (op.endsWith('add') || op.endsWith('sub') || op.endsWith('cmp')) {
    if (op.endsWith('cmp') && r < 4) { const a = anyValue(rng, f); return [a, rng.bool() ? a : anyValue(rng, f)]; }
    return r < 7 ? nearPair(rng, f) : [anyValue(rng, f), anyValue(rng, f)];
  }
  if (op.endsWith('mul') || op.endsWith('div')) {
    return r < 6 ? boundaryPair(rng, f, op.endsWith('div')) : [anyValue(rng, f), anyValue(rng, f)];
  }
  return [anyValue(rng, f), anyValue(rng, f)];
}

/** FPREM/FPREM1: exponent differences from -3 to ~200, and exact halves (FPREM1 ties). */
function remPair(rng: Rng): [string, string] {
  if (rng.bool(0.15)) return [anyValue(rng, F80), anyValue(rng, F80)];
  const b = normal(rng, F80, F80.bias + rng.range(-200, 200));
  const eb = fieldOf(F80, b);
  if (rng.bool(0.2)) {
    // a = b * (2n+1)/2 with a short b: the quotient is exactly halfway.
    const d = decode(F80, b);
    const sig = d.sig & ~((1n << 40n) - 1n);
    const n = BigInt(rng.range(0, 20) * 2 + 1);
    let prod = sig * n;
    let e = d.exp - 1;
    while (prod >= 1n << 64n) { prod >>= 1n; e++; }
    return [encode(F80, rng.int(2), e, prod), encode(F80, d.sign, d.exp, sig)];
  }
  const diff = rng.bool(0.6) ? rng.range(-3, 66) : rng.range(60, 200);
  return [normal(rng, F80, eb + diff), b];
}

/** FSCALE: b mostly a smallish integer or fraction, sometimes huge or special. */
function scalePair(rng: Rng): [string, string] {
  const a = rng.bool(0.8) ? normal(rng, F80) : anyValue(rng, F80);
  const k = rng.int(10);
  if (k < 2) return [a, anyValue(rng, F80)];
  const ea = fieldOf(F80, a) - F80.bias;
  let n: number;
  if (k < 5) n = rng.range(-70, 70);
  else if (k < 8) n = rng.pick([16383 - ea, -16382 - ea, -16445 - ea, 16383 + 24576 - ea, -16382 - 24576 - ea]) + rng.range(-3, 3);
  else n = rng.range(-40000, 40000);
  const frac = rng.bool(0.3) ? rng.range(1, 9) / 10 : 0;
  return [a, f80OfNumber(n + (n < 0 ? -frac : frac))];
}

/** An f80 holding a JS number (exactly: a double always fits). */
function f80OfNumber(x: number): string {
  if (x === 0) return encode(F80, Object.is(x, -0) ? 1 : 0, 0, 0n);
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  const bits = buf.getBigUint64(0);
  const sign = Number(bits >> 63n);
  const e = Number((bits >> 52n) & 0x7ffn) - 1023;
  const frac = bits & ((1n << 52n) - 1n);
  return encode(F80, sign, e + F80.bias, ((1n << 52n) | frac) << 11n);
}

/** Values near integers, halves and the limits of the integer formats. */
function toIntValue(rng: Rng, f: Format, bits: number): string {
  const k = rng.int(10);
  if (k < 2) return anyValue(rng, f);
  if (k < 5) {
    // Around +-2^(bits-1): the last values that fit and the first that do not.
    const sign = rng.int(2);
    const e = bits - 1 + rng.range(-1, 0);
    const top = (1n << BigInt(f.precision)) - 1n;
    const sig = rng.bool() ? 1n << BigInt(f.precision - 1) : top ^ rng.bits(rng.int(12));
    return encode(f, sign, Math.min(f.maxExp - 1, e + f.bias), sig);
  }
  const e = rng.range(-3, bits + 1);
  const d = normal(rng, f, f.bias + e);
  if (k < 8) return d;
  // Exactly x.5: the tie of round-to-nearest.
  const dd = decode(f, d);
  const keep = BigInt(Math.max(0, f.precision - 2 - Math.max(e, 0)));
  const sig = (dd.sig & ~((1n << (keep + 1n)) - 1n)) | (keep >= 0n ? 1n << keep : 0n);
  return encode(f, dd.sign, dd.exp, sig | (1n << BigInt(f.precision - 1)));
}

/** Square roots: random values, exact squares of short numbers (ties at smaller precisions). */
function sqrtValue(rng: Rng, f: Format): string {
  if (rng.bool(0.3)) {
    const width = rng.range(10, Math.floor(f.precision / 2) + 2);
    const r = (1n << BigInt(width - 1)) | rng.bits(width - 1) | 1n;
    let sq = r * r;
    const len = sq.toString(2).length;
    if (len > f.precision) return normal(rng, f);
    sq <<= BigInt(f.precision - len);
    return encode(f, rng.bool(0.1) ? 1 : 0, f.bias + rng.range(-60, 60) * 2 + (len % 2), sq);
  }
  return anyValue(rng, f);
}

function randomInt(rng: Rng, bits: number): bigint {
  const k = rng.int(5);
  if (k === 0) return BigInt.asIntN(bits, rng.pick([0n, 1n, -1n, 1n << BigInt(bits - 1), (1n << BigInt(bits - 1)) - 1n]));
  const width = rng.range(1, bits);
  return BigInt.asIntN(bits, rng.bits(width) | (rng.bool() ? 1n << BigInt(bits - 1) : 0n)) ;
}
const intHex = (v: bigint, bits: number) => BigInt.asUintN(bits, v).toString(16).padStart(bits / 4, '0');

// --- fixed edge cases -----------------------------------------------------------------
// Inputs the library's rules were worked out on, under every rounding control
// (and the masks/precisions/DAZ-FTZ settings given): they stay in the fixtures
// whatever the random generators do.
const ALL_RC = [0, 1, 2, 3];
const x87Modes = (masks: number[], pcs = [3]) =>
  masks.flatMap((mask) => pcs.flatMap((pc) => ALL_RC.map((rc) => ((mask << 8) | (pc << 2) | rc).toString(16))));
const sseModes = (dazFtz: number[]) => dazFtz.flatMap((df) => ALL_RC.map((rc) => ((MASK_ALL << 8) | (df << 4) | rc).toString(16)));
const cross = (modes: string[], operands: string[]) => modes.flatMap((m) => operands.map((o) => `${m} ${o}`));

const EDGES: Record<string, () => string[]> = {
  // Tininess after rounding: 2^-16382 * (1 - 2^-25) rounds to the smallest normal at 24 bits
  // (no UE), 2^-16382 * (1 - 2^-24) is exact at 24 bits (tiny); same at 53 and 64 bits.
  f80mul: () => cross(x87Modes([MASK_ALL, MASK_OU], [0, 2, 3]), [
    '00018000000000000000 3ffeffffff8000000000', '00018000000000000000 3ffeffffff0000000000',
    '00018000000000000000 3ffefffffffffffffc00', '00018000000000000000 3ffefffffffffffff800',
    '00018000000000000000 3ffeffffffffffffffff', '80018000000000000000 3ffeffffffffffffffff',
    '7ffe8000000000000000 40008000000000000000', '7ffeffffffffffffffff 3fffffffffffffffffff',
  ]),
  // NaN against NaN: ties of sign, QNaN over a larger SNaN, unsupported over NaN.
  f80add: () => cross(x87Modes([MASK_ALL]).slice(0, 1), [
    '7fffc000000000000001 ffffc000000000000001', 'ffffc000000000000001 7fffc000000000000001',
    '7fffa000000000000001 ffffa000000000000001', '7fffbfffffffffffffff ffffc000000000000001',
    'ffffc000000000000001 7fffbfffffffffffffff', '7fff0000000000000001 7fffc000000000000000',
    '3fff0000000000000001 00000000000000000001', '7fffc000000000000001 00000000000000000001',
    '7fff8000000000000000 ffff8000000000000000', '00008000000000000000 00000000000000000000',
  ]).concat(cross(x87Modes([MASK_ALL, MASK_OU], [0, 2, 3]), [
    '3fff8000000000000000 3fe78000000000000000', '3fff8000000000000000 3fca8000000000000000',
    '3fff8000000000000000 3fbf8000000000000000', '3fff8000000000000000 bfbf8000000000000000',
    '3fff8000000000000000 bfff8000000000000000', '00000000000000000001 00000000000000000000',
  ])),
  f80div: () => cross(x87Modes([MASK_ALL]), [
    '00000000000000000001 00000000000000000000', '7fff8000000000000000 00000000000000000001',
    '00000000000000000001 7fff8000000000000000', '7fff8000000000000000 00000000000000000000',
  ]),
  // Partial remainders at the exponent differences where N = 32 + (d mod 32) changes.
  f80rem: () => cross(x87Modes([MASK_ALL]).slice(0, 1), [63, 64, 65, 95, 96, 97, 127, 128, 1000].map((d) =>
    `${encode(F80, 0, F80.bias + d, 0xfedcba9876543210n)} 3fffc90fdaa22168c235`)),
  f80rem1: () => cross(x87Modes([MASK_ALL]).slice(0, 1), [-2, -1, 0, 63, 64, 65, 96].map((d) =>
    `${encode(F80, 0, F80.bias + d, 0xc000000000000000n)} 3fff8000000000000000`)),
  // The unmasked exponent wrap and where it is no longer enough.
  f80scale: () => cross(x87Modes([MASK_ALL, MASK_OU]), [
    ...[-40958, -40959, -16382, -16383, -16445, -16446].map((n) => `3fff8000000000000000 ${f80OfNumber(n)}`),
    ...[40959, 40960, 16383, 16384].map((n) => `3fffffffffffffffffff ${f80OfNumber(n)}`),
    '000000000bb5059e9f8b 00000000000000000000', '000000000bb5059e9f8b 3ffe8000000000000000',
    '00008000000000000000 00000000000000000000', '00000000000000000000 7fff8000000000000000',
    '7fff8000000000000000 ffff8000000000000000', '3fff8000000000000000 7fff8000000000000000',
  ]),
  f80tof32: () => cross(x87Modes([MASK_ALL, MASK_OU]), [
    '3f80ffffff8000000000', '3f80ffffff0000000000', '3f80ffffffffffffffff', '407e8000000000000000',
    '407effffff8000000000', '407effffff7fffffffff', '3f6a8000000000000001', '3f698000000000000000',
  ]),
  f64tof32: () => cross(sseModes([0, 1, 2, 3]), [
    '380ffffff0000000', '380fffffe0000000', '380ffffff8000000', '47efffffe0000000', '47effffff0000000',
    '36a0000000000000', '369fffffffffffff', '000fffffffffffff', '800fffffffffffff',
  ]),
  f32mul: () => cross(sseModes([0, 1, 2, 3]), [
    '00800000 3f7fffff', '00ffffff 3f000000', '00800001 3f000000', '7f7fffff 3f800001', '00000001 3f800000',
  ]),
  f64add: () => cross(sseModes([0, 1, 2, 3]), [
    '0000000000000001 0000000000000000', '0010000000000000 8000000000000001', '7fefffffffffffff 7ca0000000000000',
  ]),
};

// --- the operations ---------------------------------------------------------------
interface Op { name: string; count: number; gen: (rng: Rng) => string }

function op2(name: string, count: number, f: Format, modeOf: (rng: Rng) => string): Op {
  return { name, count, gen: (rng) => { const [a, b] = pairFor(name, rng, f); return `${modeOf(rng)} ${a} ${b}`; } };
}
/** Register results and stores: every kind of unmasking. */
const x87Arith = (rng: Rng) => x87Mode(rng, true, true);
/** Compares and integer stores: OE/UE do not occur, IE/DE may be unmasked. */
const x87NoWrap = (rng: Rng) => x87Mode(rng, false, true);
/** Loads: all masked (an unmasked IE leaves nothing defined to compare). */
const x87Masked = (rng: Rng) => x87Mode(rng, false, false);

export const OPS: Op[] = [
  op2('f80add', 1000, F80, x87Arith),
  op2('f80sub', 600, F80, x87Arith),
  op2('f80mul', 1000, F80, x87Arith),
  op2('f80div', 1000, F80, x87Arith),
  { name: 'f80sqrt', count: 700, gen: (rng) => `${x87Arith(rng)} ${sqrtValue(rng, F80)}` },
  { name: 'f80rem', count: 600, gen: (rng) => `${x87Arith(rng)} ${remPair(rng).join(' ')}` },
  { name: 'f80rem1', count: 600, gen: (rng) => `${x87Arith(rng)} ${remPair(rng).join(' ')}` },
  { name: 'f80rndint', count: 300, gen: (rng) => `${x87Arith(rng)} ${toIntValue(rng, F80, 66)}` },
  { name: 'f80scale', count: 500, gen: (rng) => `${x87Arith(rng)} ${scalePair(rng).join(' ')}` },
  { name: 'f80xtract', count: 150, gen: (rng) => `${x87Arith(rng)} ${anyValue(rng, F80)}` },
  op2('f80cmp', 250, F80, x87NoWrap),
  op2('f80ucmp', 250, F80, x87NoWrap),
  // Memory operands: ST(0) against an f32/f64, often special or denormal.
  ...([['f80addm32', F32], ['f80subm32', F32], ['f80divm32', F32], ['f80cmpm32', F32],
    ['f80subrm64', F64], ['f80mulm64', F64], ['f80divrm64', F64], ['f80cmpm64', F64]] as const).map(([name, f]): Op => ({
    name, count: 120, gen: (rng) => {
      const a = rng.bool(0.5) ? special(rng, F80) : normal(rng, F80, F80.bias + rng.range(-30, 30));
      const m = rng.bool(0.6) ? special(rng, f) : normal(rng, f, f.bias + rng.range(-30, 30));
      return `${name.startsWith('f80cmp') ? x87NoWrap(rng) : x87Arith(rng)} ${a} ${m}`;
    },
  })),
  { name: 'f80fromf32', count: 120, gen: (rng) => `${x87Masked(rng)} ${anyValue(rng, F32)}` },
  { name: 'f80fromf64', count: 120, gen: (rng) => `${x87Masked(rng)} ${anyValue(rng, F64)}` },
  { name: 'f80fromi64', count: 80, gen: (rng) => `${x87Masked(rng)} ${intHex(randomInt(rng, 64), 64)}` },
  ...(['f32', 'f64'] as const).map((t): Op => {
    const f = t === 'f32' ? F32 : F64;
    return { name: `f80to${t}`, count: 500, gen: (rng) => {
      // Around the destination's range limits and precision.
      const e = rng.bool(0.6) ? f.bias - F80.bias + rng.pick([1 - f.bias, f.maxExp - 1 - f.bias]) + rng.range(-f.precision - 3, 3) : 0;
      const v = e !== 0 ? normal(rng, F80, F80.bias + e) : anyValue(rng, F80);
      return `${x87Arith(rng)} ${v}`;
    } };
  }),
  ...[16, 32, 64].flatMap((bits) => ['to', 'tt'].map((kind): Op => ({
    name: `f80${kind}i${bits}`, count: 180, gen: (rng) => `${x87NoWrap(rng)} ${toIntValue(rng, F80, bits)}`,
  }))),
  ...(['f32', 'f64'] as const).flatMap((t) => {
    const f = t === 'f32' ? F32 : F64;
    return [
      op2(`${t}add`, 500, f, sseMode), op2(`${t}sub`, 200, f, sseMode),
      op2(`${t}mul`, 500, f, sseMode), op2(`${t}div`, 500, f, sseMode),
      { name: `${t}sqrt`, count: 250, gen: (rng: Rng) => `${sseMode(rng)} ${sqrtValue(rng, f)}` },
      op2(`${t}cmp`, 150, f, sseMode), op2(`${t}ucmp`, 150, f, sseMode),
      ...[32, 64].flatMap((bits) => ['to', 'tt'].map((kind): Op => ({
        name: `${t}${kind}i${bits}`, count: 120, gen: (rng) => `${sseMode(rng)} ${toIntValue(rng, f, bits)}`,
      }))),
    ];
  }),
  { name: 'f32tof64', count: 150, gen: (rng) => `${sseMode(rng)} ${anyValue(rng, F32)}` },
  { name: 'f64tof32', count: 400, gen: (rng) => {
    const e = rng.bool(0.6) ? rng.pick([-126, 127]) + rng.range(-27, 3) : 0;
    return `${sseMode(rng)} ${e !== 0 ? normal(rng, F64, F64.bias + e) : anyValue(rng, F64)}`;
  } },
  { name: 'i32tof32', count: 120, gen: (rng) => `${sseMode(rng)} ${intHex(randomInt(rng, 32), 32)}` },
  { name: 'i32tof64', count: 60, gen: (rng) => `${sseMode(rng)} ${intHex(randomInt(rng, 32), 32)}` },
  { name: 'i64tof32', count: 100, gen: (rng) => `${sseMode(rng)} ${intHex(randomInt(rng, 64), 64)}` },
  { name: 'i64tof64', count: 100, gen: (rng) => `${sseMode(rng)} ${intHex(randomInt(rng, 64), 64)}` },
];

// --- running the oracle -------------------------------------------------------------
function buildOracle(): void {
  if (existsSync(oracleExe) && statSync(oracleExe).mtimeMs > statSync(oracleSrc).mtimeMs) return;
  mkdirSync(`${root}build`, { recursive: true });
  execFileSync('gcc', ['-O1', '-Wall', '-o', oracleExe, oracleSrc], { stdio: 'inherit' });
}

/** Fixture content of one operation: its cases as "<mode> <operands> <results> <status>". */
export function fixtureText(op: Op, scale = 1): string {
  const rng = new Rng(scale === 1 ? op.name : `${op.name}*${scale}`);
  const inputs: string[] = [];
  for (let i = 0; i < op.count * scale; i++) inputs.push(op.gen(rng));
  if (scale === 1) inputs.push(...(EDGES[op.name]?.() ?? []));
  const run = spawnSync(oracleExe, [], { input: inputs.map((line) => `${op.name} ${line}\n`).join(''), maxBuffer: 1 << 26 });
  if (run.status !== 0) throw new Error(`oracle failed on ${op.name}: ${run.stderr}`);
  const outputs = run.stdout.toString().trim().split('\n');
  if (outputs.length !== inputs.length) throw new Error(`oracle answered ${outputs.length} of ${inputs.length} ${op.name} cases`);
  const cases = inputs.map((line, i) => `${line} ${outputs[i].trim()}`);
  return JSON.stringify({ op: op.name, source: 'scripts/fp-oracle/generate.ts', cases }, null, 0).replace(/","/g, '",\n"');
}

function main(): void {
  const args = process.argv.slice(2);
  const check = args.includes('--check');
  const option = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args.splice(i, 2)[1] : undefined; };
  const scale = Number(option('--scale') ?? 1);
  const dir = option('--out') ?? outDir;
  const only = args.filter((a) => !a.startsWith('--'));
  buildOracle();
  mkdirSync(dir, { recursive: true });
  let stale = 0, total = 0, bytes = 0;
  for (const op of OPS) {
    if (only.length && !only.includes(op.name)) continue;
    const text = fixtureText(op, scale);
    const path = `${dir}/${op.name}.json.gz`;
    total += (JSON.parse(text) as { cases: string[] }).cases.length;
    if (check) {
      const old = existsSync(path) ? gunzipSync(readFileSync(path)).toString() : '';
      if (old !== text) { console.log(`stale: ${op.name}`); stale++; }
      continue;
    }
    const gz = gzipSync(text, { level: 9 });
    bytes += gz.length;
    writeFileSync(path, gz);
  }
  if (check) {
    console.log(stale ? `${stale} fixture(s) differ` : 'fixtures up to date');
    process.exit(stale ? 1 : 0);
  }
  console.log(`${total} cases, ${(bytes / 1024).toFixed(0)} KiB`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
