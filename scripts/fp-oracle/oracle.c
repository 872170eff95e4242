// Native oracle for the softfloat tests: runs each case on this host's real
// x87 / SSE unit and prints the result and the status flags.
//
// Input, one case a line:   <op> <mode> <operand>...
//   mode (hex): bits 0-1 rounding control, bits 2-3 x87 precision control as
//   FCW encodes it (0 = 24, 2 = 53, 3 = 64 bits), bit 4 DAZ, bit 5 FTZ,
//   bits 8-13 exception masks (1 = masked, FP_IE..FP_PE order).
//   Operands in hex: f80 as 20 digits (sign/exponent word, then significand),
//   f32 8 digits, f64 and integers 16 digits.
// Output, one line a case:  <result>... <status>
//   x87: status = FSW & 0x477F (exception flags, ES, C0-C3), read with FNSTSW
//   or FNSAVE (neither waits, so unmasked exceptions are observed without #MF).
//   SSE: status = MXCSR & 0x3F. Compares print 0 (>), 1 (<), 2 (=), 3 (unordered)
//   decoded from the condition codes / EFLAGS. An unmasked SSE exception
//   faults (#XM, SIGFPE): the result prints as the sentinel and the status is
//   MXCSR at the fault, from the signal context.
//
// Build: gcc -O1 -o build/fp-oracle scripts/fp-oracle/oracle.c   (x86-64 host)
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <ucontext.h>
#include <stdlib.h>
#include <string.h>

typedef struct __attribute__((packed)) { uint64_t sig; uint16_t se; } f80;
typedef struct __attribute__((packed)) {
  uint32_t cw, sw, tw, fip, fcs, fdp, fds;
  f80 st[8];
} fsave_area;

#define X87_CLOBBERS "memory", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)"

static uint16_t fcw_of(unsigned mode) {
  return (uint16_t)(0x40 | ((mode >> 8) & 0x3F) | (((mode >> 2) & 3) << 8) | ((mode & 3) << 10));
}
static uint32_t mxcsr_of(unsigned mode) {
  return (((mode >> 8) & 0x3F) << 7) | ((mode & 3) << 13) | ((mode & 0x10) ? 0x40 : 0) | ((mode & 0x20) ? 0x8000 : 0);
}

static f80 parse80(const char *s) {
  f80 v; char hi[5]; memcpy(hi, s, 4); hi[4] = 0;
  v.se = (uint16_t)strtoul(hi, 0, 16); v.sig = strtoull(s + 4, 0, 16);
  return v;
}
static void print80(f80 v) { printf("%04x%016llx ", v.se, (unsigned long long)v.sig); }

// Two-operand x87 arithmetic: ST0 = a, ST1 = b, then the instruction (given as
// bytes so that AT&T operand-order quirks cannot swap anything).
#define X87_OP(name, bytes)                                                          \
  static void name(f80 a, f80 b, uint16_t cw, fsave_area *s) {                      \
    asm volatile("fninit\n fldcw %[cw]\n fldt %[b]\n fldt %[a]\n .byte " bytes "\n" \
                 "fnsave %[s]\n"                                                     \
                 : [s] "=m"(*s) : [a] "m"(a), [b] "m"(b), [cw] "m"(cw) : X87_CLOBBERS); \
  }
X87_OP(x_add, "0xd8, 0xc1")   // FADD ST0, ST1
X87_OP(x_sub, "0xd8, 0xe1")   // FSUB ST0, ST1: ST0 - ST1
X87_OP(x_mul, "0xd8, 0xc9")   // FMUL ST0, ST1
X87_OP(x_div, "0xd8, 0xf1")   // FDIV ST0, ST1: ST0 / ST1
X87_OP(x_sqrt, "0xd9, 0xfa")  // FSQRT
X87_OP(x_prem, "0xd9, 0xf8")  // FPREM
X87_OP(x_prem1, "0xd9, 0xf5") // FPREM1
X87_OP(x_rndint, "0xd9, 0xfc")// FRNDINT
X87_OP(x_scale, "0xd9, 0xfd") // FSCALE
X87_OP(x_xtract, "0xd9, 0xf4")// FXTRACT
X87_OP(x_com, "0xd8, 0xd1")   // FCOM ST1
X87_OP(x_ucom, "0xdd, 0xe1")  // FUCOM ST1

// Arithmetic with a memory operand: ST0 = a, then "insn m" (FADD m32, FCOM m64...).
#define X87_MEM(name, type, insn)                                                  \
  static void name(f80 a, type m, uint16_t cw, fsave_area *s) {                   \
    asm volatile("fninit\n fldcw %[cw]\n fldt %[a]\n " insn " %[m]\n fnsave %[s]\n" \
                 : [s] "=m"(*s) : [a] "m"(a), [m] "m"(m), [cw] "m"(cw) : X87_CLOBBERS); \
  }
X87_MEM(x_adds, uint32_t, "fadds")
X87_MEM(x_subs, uint32_t, "fsubs")
X87_MEM(x_subrl, uint64_t, "fsubrl")
X87_MEM(x_mull, uint64_t, "fmull")
X87_MEM(x_divs, uint32_t, "fdivs")
X87_MEM(x_divrl, uint64_t, "fdivrl")
X87_MEM(x_coms, uint32_t, "fcoms")
X87_MEM(x_coml, uint64_t, "fcoml")

// Loads into the x87: FLD m32, FLD m64, FILD m64.
#define X87_LOAD(name, type, insn)                                                 \
  static void name(type v, uint16_t cw, fsave_area *s) {                          \
    asm volatile("fninit\n fldcw %[cw]\n " insn " %[v]\n fnsave %[s]\n"             \
                 : [s] "=m"(*s) : [v] "m"(v), [cw] "m"(cw) : X87_CLOBBERS);        \
  }
X87_LOAD(x_ld32, uint32_t, "flds")
X87_LOAD(x_ld64, uint64_t, "fldl")
X87_LOAD(x_ild64, uint64_t, "fildll")

// Stores out of the x87: the destination keeps its sentinel when an unmasked
// exception suppresses the store.
#define X87_STORE(name, type, insn)                                                \
  static uint16_t name(f80 a, uint16_t cw, type *out) {                           \
    uint16_t sw;                                                                   \
    asm volatile("fninit\n fldcw %[cw]\n fldt %[a]\n " insn " %[o]\n fnstsw %[sw]\n fninit\n" \
                 : [o] "+m"(*out), [sw] "=m"(sw) : [a] "m"(a), [cw] "m"(cw) : X87_CLOBBERS); \
    return sw;                                                                     \
  }
X87_STORE(x_st32, uint32_t, "fstps")
X87_STORE(x_st64, uint64_t, "fstpl")
X87_STORE(x_ist16, uint16_t, "fistps")
X87_STORE(x_ist32, uint32_t, "fistpl")
X87_STORE(x_ist64, uint64_t, "fistpll")
X87_STORE(x_istt16, uint16_t, "fisttps")
X87_STORE(x_istt32, uint32_t, "fisttpl")
X87_STORE(x_istt64, uint64_t, "fisttpll")

// SSE scalar ops: xmm0 = a, xmm1 = b, op xmm1 into xmm0 (masked exceptions only).
#define SSE_OP(name, type, mov, insn)                                               \
  static type name(type a, type b, uint32_t csr, uint32_t *st) {                   \
    type r; uint32_t def = 0x1f80;                                                  \
    asm volatile("ldmxcsr %[c]\n " mov " %[a], %%xmm0\n " mov " %[b], %%xmm1\n " insn " %%xmm1, %%xmm0\n " \
                 mov " %%xmm0, %[r]\n stmxcsr %[st]\n ldmxcsr %[d]\n"                \
                 : [r] "=m"(r), [st] "=m"(*st) : [a] "m"(a), [b] "m"(b), [c] "m"(csr), [d] "m"(def) \
                 : "memory", "xmm0", "xmm1");                                       \
    return r;                                                                      \
  }
SSE_OP(s_adds, uint32_t, "movss", "addss")
SSE_OP(s_subs, uint32_t, "movss", "subss")
SSE_OP(s_muls, uint32_t, "movss", "mulss")
SSE_OP(s_divs, uint32_t, "movss", "divss")
SSE_OP(s_sqrts, uint32_t, "movss", "sqrtss")
SSE_OP(s_addd, uint64_t, "movsd", "addsd")
SSE_OP(s_subd, uint64_t, "movsd", "subsd")
SSE_OP(s_muld, uint64_t, "movsd", "mulsd")
SSE_OP(s_divd, uint64_t, "movsd", "divsd")
SSE_OP(s_sqrtd, uint64_t, "movsd", "sqrtsd")

#define SSE_CMP(name, type, mov, insn)                                              \
  static int name(type a, type b, uint32_t csr, uint32_t *st) {                    \
    uint64_t fl; uint32_t def = 0x1f80;                                             \
    asm volatile("ldmxcsr %[c]\n " mov " %[a], %%xmm0\n " mov " %[b], %%xmm1\n " insn " %%xmm1, %%xmm0\n " \
                 "pushfq\n popq %[fl]\n stmxcsr %[st]\n ldmxcsr %[d]\n"              \
                 : [fl] "=r"(fl), [st] "=m"(*st) : [a] "m"(a), [b] "m"(b), [c] "m"(csr), [d] "m"(def) \
                 : "memory", "cc", "xmm0", "xmm1");                                 \
    int zf = (fl >> 6) & 1, pf = (fl >> 2) & 1, cf = fl & 1;                        \
    return pf ? 3 : zf ? 2 : cf ? 1 : 0;                                            \
  }
SSE_CMP(s_coms, uint32_t, "movss", "comiss")
SSE_CMP(s_ucoms, uint32_t, "movss", "ucomiss")
SSE_CMP(s_comd, uint64_t, "movsd", "comisd")
SSE_CMP(s_ucomd, uint64_t, "movsd", "ucomisd")

// SSE conversions: source in memory or a GPR, result in a GPR or memory.
#define SSE_CVT(name, tin, tout, insn, in, out)                                    \
  static tout name(tin a, uint32_t csr, uint32_t *st) {                           \
    tout r; uint32_t def = 0x1f80;                                                  \
    asm volatile("ldmxcsr %[c]\n " insn "\n stmxcsr %[st]\n ldmxcsr %[d]\n"         \
                 : [r] out(r), [st] "=m"(*st) : [a] in(a), [c] "m"(csr), [d] "m"(def) \
                 : "memory", "xmm0");                                               \
    return r;                                                                      \
  }
SSE_CVT(s_s2d, uint32_t, uint64_t, "cvtss2sd %[a], %%xmm0\n movsd %%xmm0, %[r]", "m", "=m")
SSE_CVT(s_d2s, uint64_t, uint32_t, "cvtsd2ss %[a], %%xmm0\n movss %%xmm0, %[r]", "m", "=m")
SSE_CVT(s_s2i32, uint32_t, uint32_t, "cvtss2si %[a], %k[r]", "m", "=r")
SSE_CVT(s_s2ti32, uint32_t, uint32_t, "cvttss2si %[a], %k[r]", "m", "=r")
SSE_CVT(s_s2i64, uint32_t, uint64_t, "cvtss2si %[a], %q[r]", "m", "=r")
SSE_CVT(s_s2ti64, uint32_t, uint64_t, "cvttss2si %[a], %q[r]", "m", "=r")
SSE_CVT(s_d2i32, uint64_t, uint32_t, "cvtsd2si %[a], %k[r]", "m", "=r")
SSE_CVT(s_d2ti32, uint64_t, uint32_t, "cvttsd2si %[a], %k[r]", "m", "=r")
SSE_CVT(s_d2i64, uint64_t, uint64_t, "cvtsd2si %[a], %q[r]", "m", "=r")
SSE_CVT(s_d2ti64, uint64_t, uint64_t, "cvttsd2si %[a], %q[r]", "m", "=r")
SSE_CVT(s_i2s, uint32_t, uint32_t, "cvtsi2ssl %[a], %%xmm0\n movss %%xmm0, %[r]", "m", "=m")
SSE_CVT(s_i2d, uint32_t, uint64_t, "cvtsi2sdl %[a], %%xmm0\n movsd %%xmm0, %[r]", "m", "=m")
SSE_CVT(s_l2s, uint64_t, uint32_t, "cvtsi2ssq %[a], %%xmm0\n movss %%xmm0, %[r]", "m", "=m")
SSE_CVT(s_l2d, uint64_t, uint64_t, "cvtsi2sdq %[a], %%xmm0\n movsd %%xmm0, %[r]", "m", "=m")

static const uint64_t SENTINEL = 0x5a5a5a5a5a5a5a5aull;

static sigjmp_buf sse_fault;
static volatile uint32_t fault_mxcsr;
static void on_sigfpe(int sig, siginfo_t *info, void *context) {
  (void)sig; (void)info;
  fault_mxcsr = ((ucontext_t *)context)->uc_mcontext.fpregs->mxcsr;
  siglongjmp(sse_fault, 1);
}

int main(void) {
  char op[32], t1[64], t2[64];
  unsigned mode;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigfpe;
  sa.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGFPE, &sa, 0);
  while (scanf("%31s %x", op, &mode) == 2) {
    uint16_t cw = fcw_of(mode);
    uint32_t csr = mxcsr_of(mode), st = 0;
    fsave_area s;
    int two = 0;
    void (*bin)(f80, f80, uint16_t, fsave_area *) = 0;
    if (!strcmp(op, "f80add")) bin = x_add;
    else if (!strcmp(op, "f80sub")) bin = x_sub;
    else if (!strcmp(op, "f80mul")) bin = x_mul;
    else if (!strcmp(op, "f80div")) bin = x_div;
    else if (!strcmp(op, "f80rem")) bin = x_prem;
    else if (!strcmp(op, "f80rem1")) bin = x_prem1;
    else if (!strcmp(op, "f80scale")) bin = x_scale;
    else if (!strcmp(op, "f80cmp")) bin = x_com;
    else if (!strcmp(op, "f80ucmp")) bin = x_ucom;
    if (bin) {
      if (scanf("%63s %63s", t1, t2) != 2) return 1;
      bin(parse80(t1), parse80(t2), cw, &s);
      print80(s.st[0]);
      printf("%04x\n", s.sw & 0x477f);
      continue;
    }
    void (*m32)(f80, uint32_t, uint16_t, fsave_area *) = 0;
    void (*m64)(f80, uint64_t, uint16_t, fsave_area *) = 0;
    if (!strcmp(op, "f80addm32")) m32 = x_adds;
    else if (!strcmp(op, "f80subm32")) m32 = x_subs;
    else if (!strcmp(op, "f80divm32")) m32 = x_divs;
    else if (!strcmp(op, "f80cmpm32")) m32 = x_coms;
    else if (!strcmp(op, "f80subrm64")) m64 = x_subrl;
    else if (!strcmp(op, "f80mulm64")) m64 = x_mull;
    else if (!strcmp(op, "f80divrm64")) m64 = x_divrl;
    else if (!strcmp(op, "f80cmpm64")) m64 = x_coml;
    if (m32 || m64) {
      if (scanf("%63s %63s", t1, t2) != 2) return 1;
      uint64_t m = strtoull(t2, 0, 16);
      if (m32) m32(parse80(t1), (uint32_t)m, cw, &s);
      else m64(parse80(t1), m, cw, &s);
      print80(s.st[0]);
      printf("%04x\n", s.sw & 0x477f);
      continue;
    }
    void (*un)(f80, f80, uint16_t, fsave_area *) = 0;
    if (!strcmp(op, "f80sqrt")) un = x_sqrt;
    else if (!strcmp(op, "f80rndint")) un = x_rndint;
    else if (!strcmp(op, "f80xtract")) { un = x_xtract; two = 1; }
    if (un) {
      if (scanf("%63s", t1) != 1) return 1;
      f80 z = {0, 0};
      un(parse80(t1), z, cw, &s);
      print80(s.st[0]);
      if (two) print80(s.st[1]);
      printf("%04x\n", s.sw & 0x477f);
      continue;
    }
    if (scanf("%63s", t1) != 1) return 1;
    uint64_t x = strtoull(t1, 0, 16);
    if (!strcmp(op, "f80fromf32")) { x_ld32((uint32_t)x, cw, &s); print80(s.st[0]); printf("%04x\n", s.sw & 0x477f); continue; }
    if (!strcmp(op, "f80fromf64")) { x_ld64(x, cw, &s); print80(s.st[0]); printf("%04x\n", s.sw & 0x477f); continue; }
    if (!strcmp(op, "f80fromi64")) { x_ild64(x, cw, &s); print80(s.st[0]); printf("%04x\n", s.sw & 0x477f); continue; }
    if (!strncmp(op, "f80to", 5) || !strncmp(op, "f80tt", 5)) {
      f80 a = parse80(t1);
      uint64_t out = SENTINEL; uint16_t sw;
      if (!strcmp(op, "f80tof32")) sw = x_st32(a, cw, (uint32_t *)&out);
      else if (!strcmp(op, "f80tof64")) sw = x_st64(a, cw, &out);
      else if (!strcmp(op, "f80toi16")) sw = x_ist16(a, cw, (uint16_t *)&out);
      else if (!strcmp(op, "f80toi32")) sw = x_ist32(a, cw, (uint32_t *)&out);
      else if (!strcmp(op, "f80toi64")) sw = x_ist64(a, cw, &out);
      else if (!strcmp(op, "f80tti16")) sw = x_istt16(a, cw, (uint16_t *)&out);
      else if (!strcmp(op, "f80tti32")) sw = x_istt32(a, cw, (uint32_t *)&out);
      else if (!strcmp(op, "f80tti64")) sw = x_istt64(a, cw, &out);
      else { fprintf(stderr, "unknown op %s\n", op); return 1; }
      printf("%016llx %04x\n", (unsigned long long)out, sw & 0x477f);
      continue;
    }
    volatile uint64_t r = SENTINEL;
    if (sigsetjmp(sse_fault, 1)) {
      uint32_t def = 0x1f80;
      asm volatile("ldmxcsr %0" : : "m"(def));
      printf("%016llx %04x\n", (unsigned long long)SENTINEL, fault_mxcsr & 0x3f);
      continue;
    }
    uint32_t (*bs)(uint32_t, uint32_t, uint32_t, uint32_t *) = 0;
    uint64_t (*bd)(uint64_t, uint64_t, uint32_t, uint32_t *) = 0;
    int (*cs)(uint32_t, uint32_t, uint32_t, uint32_t *) = 0;
    int (*cd)(uint64_t, uint64_t, uint32_t, uint32_t *) = 0;
    if (!strcmp(op, "f32add")) bs = s_adds; else if (!strcmp(op, "f32sub")) bs = s_subs;
    else if (!strcmp(op, "f32mul")) bs = s_muls; else if (!strcmp(op, "f32div")) bs = s_divs;
    else if (!strcmp(op, "f64add")) bd = s_addd; else if (!strcmp(op, "f64sub")) bd = s_subd;
    else if (!strcmp(op, "f64mul")) bd = s_muld; else if (!strcmp(op, "f64div")) bd = s_divd;
    else if (!strcmp(op, "f32cmp")) cs = s_coms; else if (!strcmp(op, "f32ucmp")) cs = s_ucoms;
    else if (!strcmp(op, "f64cmp")) cd = s_comd; else if (!strcmp(op, "f64ucmp")) cd = s_ucomd;
    if (bs || bd || cs || cd) {
      if (scanf("%63s", t2) != 1) return 1;
      uint64_t y = strtoull(t2, 0, 16);
      // (scanned before any instruction runs: a fault below never leaves input half read)
      if (bs) r = bs((uint32_t)x, (uint32_t)y, csr, &st);
      else if (bd) r = bd(x, y, csr, &st);
      else if (cs) r = (uint64_t)cs((uint32_t)x, (uint32_t)y, csr, &st);
      else r = (uint64_t)cd(x, y, csr, &st);
    } else if (!strcmp(op, "f32sqrt")) r = s_sqrts(0, (uint32_t)x, csr, &st); // sqrtss xmm1 -> xmm0
    else if (!strcmp(op, "f64sqrt")) r = s_sqrtd(0, x, csr, &st);
    else if (!strcmp(op, "f32tof64")) r = s_s2d((uint32_t)x, csr, &st);
    else if (!strcmp(op, "f64tof32")) r = s_d2s(x, csr, &st);
    else if (!strcmp(op, "f32toi32")) r = s_s2i32((uint32_t)x, csr, &st);
    else if (!strcmp(op, "f32tti32")) r = s_s2ti32((uint32_t)x, csr, &st);
    else if (!strcmp(op, "f32toi64")) r = s_s2i64((uint32_t)x, csr, &st);
    else if (!strcmp(op, "f32tti64")) r = s_s2ti64((uint32_t)x, csr, &st);
    else if (!strcmp(op, "f64toi32")) r = s_d2i32(x, csr, &st);
    else if (!strcmp(op, "f64tti32")) r = s_d2ti32(x, csr, &st);
    else if (!strcmp(op, "f64toi64")) r = s_d2i64(x, csr, &st);
    else if (!strcmp(op, "f64tti64")) r = s_d2ti64(x, csr, &st);
    else if (!strcmp(op, "i32tof32")) r = s_i2s((uint32_t)x, csr, &st);
    else if (!strcmp(op, "i32tof64")) r = s_i2d((uint32_t)x, csr, &st);
    else if (!strcmp(op, "i64tof32")) r = s_l2s(x, csr, &st);
    else if (!strcmp(op, "i64tof64")) r = s_l2d(x, csr, &st);
    else { fprintf(stderr, "unknown op %s\n", op); return 1; }
    printf("%016llx %04x\n", (unsigned long long)r, st & 0x3f);
  }
  return 0;
}
