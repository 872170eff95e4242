/*
 * fpmath: floating-point behaviour of an i386 program, printed so that two
 * runs can be compared byte for byte.
 *
 * Built twice by scripts/build-guest-tests.sh (static, i386): with
 * -mfpmath=387 (every float/double operation on the x87) and with
 * -msse2 -mfpmath=sse (float/double on SSE/SSE2; long double, 64-bit integer
 * conversions and most of libm stay on the x87). Both must print exactly
 * what test/guest/fpmath.expected holds, natively and inside the emulated
 * guest (test/machine/fpu-guest.test.ts).
 *
 * Why the output is the same for both builds:
 * - Every input goes through od()/of()/ol() (a volatile round trip), so gcc
 *   cannot fold anything at compile time: the CPU computes it at run time.
 * - With -std=c11 gcc uses -fexcess-precision=standard: assignments, casts
 *   and arguments round to the declared type. One operation per statement
 *   where it matters, so the x87 build rounds after each operation.
 * - x87 arithmetic rounds to 64 bits and then (on store) to 53; that double
 *   rounding can differ from SSE2's single rounding. The double sections
 *   therefore run with the x87 precision control at 53 bits (set_pc()); the
 *   long double sections run at 64 bits, the Linux default. Float results
 *   need no such care (64 >= 2*24+2: double rounding is harmless).
 * - No operation has two NaN operands (x87 and SSE pick different payloads).
 * - Both builds link the same i386 libm, which is x87 code: exp, log, pow,
 *   atan2, log10, expm1, log1p use f2xm1/fyl2x/fyl2xp1/fpatan, sin/cos/tan
 *   are C evaluated on the x87. Only sinf, cosf, expf, logf, powf (SSE2 or
 *   x87 variant) and fma (FMA instruction or software) are chosen at run
 *   time from CPUID, and the variants agree. Results of x87 transcendental
 *   instructions are printed rounded to double only: hardware does not
 *   define their last extended-precision bit.
 * Nothing printed depends on addresses, time or the environment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fenv.h>
#include <float.h>
#include <fpu_control.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- opaque values: the compiler must not know them --------------------------- */

static inline double od(double x) { volatile double v = x; return v; }
static inline float of(float x) { volatile float v = x; return v; }
static inline long double ol(long double x) { volatile long double v = x; return v; }
static inline int oi(int x) { volatile int v = x; return v; }
static inline long long oll(long long x) { volatile long long v = x; return v; }
static inline unsigned long long oull(unsigned long long x) { volatile unsigned long long v = x; return v; }

/* Results stored here are computed before whatever follows (fetestexcept). */
static volatile double sink_d;
static volatile float sink_f;
static volatile long double sink_l;
static volatile long long sink_i;

/* ---- printing ---------------------------------------------------------------------- */

static uint64_t bits_d(double x) { uint64_t b; memcpy(&b, &x, 8); return b; }
static uint32_t bits_f(float x) { uint32_t b; memcpy(&b, &x, 4); return b; }

/* Every printed value is also folded into one digest, printed at the end. */
static uint64_t digest = 0xcbf29ce484222325ULL;
static void mix(uint64_t v) {
  for (int i = 0; i < 8; i++) {
    digest ^= (v >> (8 * i)) & 0xff;
    digest *= 0x100000001b3ULL;
  }
}

static __attribute__((noinline)) void pd(const char *what, double x) {
  mix(bits_d(x));
  printf("%-26s %-24.17g %-23a %016llx\n", what, x, x, (unsigned long long)bits_d(x));
}

static __attribute__((noinline)) void pf(const char *what, float x) {
  mix(bits_f(x));
  printf("%-26s %-24.9g %-23a %08x\n", what, (double)x, (double)x, bits_f(x));
}

static __attribute__((noinline)) void pl(const char *what, long double x) {
  unsigned char b[10];
  uint64_t mant;
  uint16_t se;
  memcpy(b, &x, 10);
  memcpy(&mant, b, 8);
  memcpy(&se, b + 8, 2);
  mix(mant);
  mix(se);
  printf("%-26s %-27.21Lg %La %04x:%016llx\n", what, x, x, se, (unsigned long long)mant);
}

static __attribute__((noinline)) void pi(const char *what, long long x) {
  mix((uint64_t)x);
  printf("%-26s %lld\n", what, x);
}

static const char *flag_names(int f) {
  static char buf[64];
  buf[0] = 0;
  if (f & FE_INVALID) strcat(buf, " invalid");
  if (f & FE_DIVBYZERO) strcat(buf, " divbyzero");
  if (f & FE_OVERFLOW) strcat(buf, " overflow");
  if (f & FE_UNDERFLOW) strcat(buf, " underflow");
  if (f & FE_INEXACT) strcat(buf, " inexact");
  return buf[0] ? buf + 1 : "none";
}

static void section(const char *name) { printf("\n== %s\n", name); }

/* x87 precision control: _FPU_SINGLE (24 bits), _FPU_DOUBLE (53), _FPU_EXTENDED (64). */
static void set_pc(fpu_control_t pc) {
  fpu_control_t cw;
  _FPU_GETCW(cw);
  cw = (cw & ~_FPU_EXTENDED) | pc;
  _FPU_SETCW(cw);
}

/* ---- double arithmetic ---------------------------------------------------------------- */

static void arith_double(void) {
  section("double arithmetic");
  pd("0.1+0.2", od(0.1) + od(0.2));
  pd("0.1+0.2-0.3", (double)(od(0.1) + od(0.2)) - od(0.3));
  pd("1e16+1", od(1e16) + od(1.0));
  pd("1+2^-53 (tie, even)", od(1.0) + od(0x1p-53));
  pd("1+3*2^-53 (tie, up)", od(1.0) + od(0x3p-53));
  pd("1-2^-54", od(1.0) - od(0x1p-54));
  pd("0.1*3", od(0.1) * od(3.0));
  pd("1.1*1.1", od(1.1) * od(1.1));
  pd("123456789*987654321", od(123456789.0) * od(987654321.0));
  pd("1/3", od(1.0) / od(3.0));
  pd("2/3", od(2.0) / od(3.0));
  pd("-10/3", od(-10.0) / od(3.0));
  pd("22/7", od(22.0) / od(7.0));
  pd("1/49", od(1.0) / od(49.0));
  pd("(1/49)*49", (double)(od(1.0) / od(49.0)) * od(49.0));
  pd("1e300*1e-300", od(1e300) * od(1e-300));
  pd("sqrt(2)", sqrt(od(2.0)));
  pd("sqrt(1e-300)", sqrt(od(1e-300)));

  /* signed zeros */
  pd("-0+0", od(-0.0) + od(0.0));
  pd("-0-0", od(-0.0) - od(0.0));
  pd("-0*5", od(-0.0) * od(5.0));
  pd("1/-0", od(1.0) / od(-0.0));
  pd("1-1", od(1.0) - od(1.0));

  /* denormals */
  pd("DBL_MIN", od(DBL_MIN));
  pd("DBL_MIN/2 (exact)", od(DBL_MIN) / od(2.0));
  pd("DBL_MIN/3", od(DBL_MIN) / od(3.0));
  pd("DBL_MIN*0.7", od(DBL_MIN) * od(0.7));
  pd("min denormal", od(0x1p-1074));
  pd("min denormal*0.5 (tie->0)", od(0x1p-1074) * od(0.5));
  pd("min denormal*1.5 (tie)", od(0x1p-1074) * od(1.5));
  pd("min denormal*0.75", od(0x1p-1074) * od(0.75));
  pd("denormal+denormal", od(0x1.8p-1070) + od(0x1.4p-1060));
  pd("denormal*2^1000", od(0x1.23p-1050) * od(0x1p1000));
  pd("denormal/3", od(0x1.8p-1060) / od(3.0));
  pd("sqrt(denormal)", sqrt(od(0x1p-1070)));
  pd("DBL_MIN-DBL_MIN*(1-2^-52)", od(DBL_MIN) - od(0x1.ffffffffffffep-1023));

  /* overflow, infinities, NaN */
  pd("DBL_MAX", od(DBL_MAX));
  pd("DBL_MAX*2", od(DBL_MAX) * od(2.0));
  pd("-DBL_MAX*2", od(-DBL_MAX) * od(2.0));
  pd("DBL_MAX+DBL_MAX", od(DBL_MAX) + od(DBL_MAX));
  pd("1e308*10", od(1e308) * od(10.0));
  pd("1e200*1e200", od(1e200) * od(1e200));
  pd("DBL_MAX+1 (absorbed)", od(DBL_MAX) + od(1.0));
  pd("inf-inf", od(INFINITY) - od(INFINITY));
  pd("inf*0", od(INFINITY) * od(0.0));
  pd("0/0", od(0.0) / od(0.0));
  pd("-(0/0)", -(double)(od(0.0) / od(0.0)));
  pd("inf/inf", od(INFINITY) / od(INFINITY));
  pd("sqrt(-1)", sqrt(od(-1.0)));
  pd("nan(0x123)+1", od(nan("0x123")) + od(1.0));
  pd("1*-nan(0x45)", od(1.0) * od(-nan("0x45")));
  pd("fabs(-nan)", fabs(od(-NAN)));
  pd("copysign(3,-0)", copysign(od(3.0), od(-0.0)));
  pi("isnan(0/0)", isnan((double)(od(0.0) / od(0.0))));
  pi("isinf(1e308*10)", isinf((double)(od(1e308) * od(10.0))));
  pi("nan==nan", od(NAN) == od(NAN));
  pi("nan<1", od(NAN) < od(1.0));
  pi("-0==0", od(-0.0) == od(0.0));
  pi("inf>DBL_MAX", od(INFINITY) > od(DBL_MAX));
}

/* ---- float arithmetic ------------------------------------------------------------------ */

static void arith_float(void) {
  section("float arithmetic");
  pf("0.1f+0.2f", of(0.1f) + of(0.2f));
  pf("16777216f+1", of(16777216.0f) + of(1.0f));
  pf("16777216f+3", of(16777216.0f) + of(3.0f));
  pf("1f/3", of(1.0f) / of(3.0f));
  pf("0.1f*0.1f", of(0.1f) * of(0.1f));
  pf("sqrtf(2)", sqrtf(of(2.0f)));
  pf("FLT_MAX*2", of(FLT_MAX) * of(2.0f));
  pf("FLT_MIN/3", of(FLT_MIN) / of(3.0f));
  pf("FLT_TRUE_MIN*0.5", of(0x1p-149f) * of(0.5f));
  pf("FLT_TRUE_MIN*1.5", of(0x1p-149f) * of(1.5f));
  pf("1e-30f*1e-30f", of(1e-30f) * of(1e-30f));
  pf("0f/0f", of(0.0f) / of(0.0f));
  pf("1f/-0f", of(1.0f) / of(-0.0f));

  float s = 0.0f;
  for (int i = 1; i <= 1000; i++) {
    float t = of(1.0f) / (float)oi(i);
    s = s + t;
  }
  pf("sum 1/i, i=1..1000", s);
  float p = 1.0f;
  for (int i = 1; i <= 40; i++) {
    p = p * of(1.37f);
  }
  pf("1.37f^40", p);
}

/* ---- conversions ------------------------------------------------------------------------ */

static void conversions(void) {
  section("conversions");
  pi("(int)3.7", (int)od(3.7));
  pi("(int)-3.7", (int)od(-3.7));
  pi("(int)2.5", (int)od(2.5));
  pi("(int)-0.99", (int)od(-0.99));
  pi("(int)2147483647.9", (int)od(2147483647.9));
  /* Out of range: undefined in C, the "integer indefinite" on x86. */
  pi("(int)1e10", (int)od(1e10));
  pi("(int)nan", (int)od(NAN));
  pi("(long long)1e18+0.5", (long long)(od(1e18) + od(0.5)));
  pi("(long long)-9.2e18", (long long)od(-9.2e18));
  pi("(long long)0x1p62*1.5", (long long)od(0x1.8p62));
  pi("(unsigned)3e9", (unsigned)od(3e9));
  pi("(unsigned long long)1.8e19", (long long)(unsigned long long)od(1.8e19));
  pi("(int)16777217.0f", (int)of(16777217.0f));
  pi("(short)-32768.9", (short)od(-32768.9));

  pd("(double)INT_MAX", (double)oi(2147483647));
  pd("(double)INT_MIN", (double)oi(-2147483647 - 1));
  pd("(double)2^53+1 (ll)", (double)oll(9007199254740993LL));
  pd("(double)2^53+3 (ll)", (double)oll(9007199254740995LL));
  pd("(double)LLONG_MIN", (double)oll(-9223372036854775807LL - 1));
  pd("(double)ULLONG_MAX", (double)oull(18446744073709551615ULL));
  pd("(double)2^63+2^11 (ull)", (double)oull(9223372036854777856ULL));
  pd("(double)2^63+2^11+1 (ull)", (double)oull(9223372036854777857ULL));
  pd("(double)3000000000u", (double)(unsigned)oi((int)3000000000u));
  pf("(float)16777217", (float)oi(16777217));
  pf("(float)16777219", (float)oi(16777219));
  pf("(float)INT_MAX", (float)oi(2147483647));
  pf("(float)ULLONG_MAX", (float)oull(18446744073709551615ULL));

  pf("(float)0.1", (float)od(0.1));
  pd("(double)0.1f", (double)of(0.1f));
  pf("(float)1e40", (float)od(1e40));
  pf("(float)-1e40", (float)od(-1e40));
  pf("(float)1e-40 (denormal)", (float)od(1e-40));
  pf("(float)1e-50", (float)od(1e-50));
  pf("(float)(1+2^-24) (tie)", (float)od(1.0 + 0x1p-24));
  pf("(float)(1+3*2^-24) (tie)", (float)od(1.0 + 0x3p-24));
  pf("(float)(1+2^-24+2^-50)", (float)od(1.0 + 0x1p-24 + 0x1p-50));
  pf("(float)nan(0x1234)", (float)od(nan("0x1234")));
  pd("(double)(float)nan(0x1234)", (double)(float)od(nan("0x1234")));
  pd("(double)(1/3L)", (double)(ol(1.0L) / ol(3.0L)));
  pd("(double)(1+2^-53+2^-63)L", (double)ol(1.0L + 0x1p-53L + 0x1p-63L));
  pd("(double)(1+2^-53)L (tie)", (double)ol(1.0L + 0x1p-53L));
  pd("(double)1e-320L", (double)ol(1e-320L));
  pd("(double)1e400L", (double)ol(1e400L));
  pl("(long double)0.1", (long double)od(0.1));
  pl("(long double)0.1f", (long double)of(0.1f));
  pl("(long double)LLONG_MAX", (long double)oll(9223372036854775807LL));
}

/* ---- strtod / printf round trips -------------------------------------------------------- */

static void text_round_trips(void) {
  static const char *const inputs[] = {
    "0.1", "1e23", "8.5", "2.5e-3", "3.141592653589793238462643383279",
    "123456789012345678901234567890", "9007199254740993", "2.2250738585072014e-308",
    "2.2250738585072011e-308", "4.9406564584124654e-324", "2.4703282292062328e-324",
    "1e-320", "1.7976931348623157e308", "1.7976931348623159e308", "1e-400", "1e400",
    "0x1.fffffffffffffp+1023", "0x1.8p-1074", "-0", "-inf", "nan", "-nan(0x7)",
    "  +12.5e+1xyz", "0.30000000000000004",
  };
  section("strtod and printf");
  for (unsigned i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    char *end;
    char again[64];
    errno = 0;
    double x = strtod(inputs[i], &end);
    int err = errno;
    snprintf(again, sizeof again, "%.17g", x);
    double y = strtod(again, NULL);
    mix(bits_d(x));
    printf("strtod(\"%s\") = %.17g %a %016llx rest=\"%s\"%s; %%.17g back %s\n", inputs[i], x, x,
           (unsigned long long)bits_d(x), end, err == ERANGE ? " ERANGE" : "",
           bits_d(x) == bits_d(y) ? "same" : "DIFFERENT");
    printf("  %%e %.6e  %%f %.3f  %%g %g  %%.0f %.0f\n", x, x, x, x);
  }
  static const char *const finputs[] = { "16777217", "3.4028235e38", "3.4028236e38", "1e-45", "0.7", "0x1.fffffep+127" };
  for (unsigned i = 0; i < sizeof finputs / sizeof finputs[0]; i++) {
    char name[48];
    snprintf(name, sizeof name, "strtof(\"%s\")", finputs[i]);
    pf(name, strtof(finputs[i], NULL));
  }
  static const char *const linputs[] = { "0.1", "1e4000", "1e-4940", "3.14159265358979323846264338327950288" };
  for (unsigned i = 0; i < sizeof linputs / sizeof linputs[0]; i++) {
    char name[64];
    snprintf(name, sizeof name, "strtold(\"%.12s\")", linputs[i]);
    pl(name, strtold(linputs[i], NULL));
  }
  printf("%%.30f of 0.1: %.30f\n", od(0.1));
  printf("%%.20e of 1/3: %.20e\n", (double)(od(1.0) / od(3.0)));
  printf("%%.0f of 2^70: %.0f\n", od(0x1p70));
  printf("%%.3f of 2.0005: %.3f, of 2.0015: %.3f\n", od(2.0005), od(2.0015));
  printf("%%.25Lf of 1/3L: %.25Lf\n", (long double)(ol(1.0L) / ol(3.0L)));
  printf("%%g of 1e-5 1e-4 1e15 1e16: %g %g %g %g\n", od(1e-5), od(1e-4), od(1e15), od(1e16));
}

/* ---- libm -------------------------------------------------------------------------------- */

typedef double (*fn1)(double);
typedef double (*fn2)(double, double);

static void call1(const char *name, fn1 f, double x) {
  char label[48];
  snprintf(label, sizeof label, "%s(%g)", name, x);
  pd(label, f(od(x)));
}

static void call2(const char *name, fn2 f, double x, double y) {
  char label[48];
  snprintf(label, sizeof label, "%s(%g,%g)", name, x, y);
  pd(label, f(od(x), od(y)));
}

static void libm_double(void) {
  section("libm double");
  static const double trig[] = { 0.5, 1.0, -2.0, 3.0, 10.0, 100.0, 1e-8 };
  for (unsigned i = 0; i < sizeof trig / sizeof trig[0]; i++) {
    call1("sin", sin, trig[i]);
    call1("cos", cos, trig[i]);
    call1("tan", tan, trig[i]);
  }
  call2("atan2", atan2, 1, 2);
  call2("atan2", atan2, -1, -2);
  call2("atan2", atan2, 0, -1);
  call2("atan2", atan2, -0.0, -1);
  call2("atan2", atan2, 1e-300, 1e300);
  call1("exp", exp, 1);
  call1("exp", exp, -1);
  call1("exp", exp, 0.001);
  call1("exp", exp, 700);
  call1("exp", exp, 710);
  call1("exp", exp, -740);
  call1("exp", exp, -746);
  call1("log", log, 2);
  call1("log", log, 10);
  call1("log", log, 1e-310);
  call1("log", log, 0);
  call1("log", log, -1);
  call1("log10", log10, 2);
  call1("log10", log10, 1000);
  call1("log10", log10, 12345.678);
  call2("pow", pow, 2, 0.5);
  call2("pow", pow, 10, -3);
  call2("pow", pow, 1.0000001, 1e7);
  call2("pow", pow, -8, 1.0 / 3);
  call2("pow", pow, -2, 3);
  call2("pow", pow, 2, 1024);
  call2("pow", pow, 2, -1074);
  call2("pow", pow, 0, -1);
  call1("sqrt", sqrt, 2);
  call1("sqrt", sqrt, 1e-310);
  call2("fmod", fmod, 10, 3);
  call2("fmod", fmod, -10, 3);
  call2("fmod", fmod, 5.5, 0.1);
  call2("fmod", fmod, 1e300, 7);
  call2("fmod", fmod, 1, 0);
  static const double rounding[] = { 2.5, -2.5, 3.5, 0.49999999999999994, -0.0, 1e300, -7.3 };
  for (unsigned i = 0; i < sizeof rounding / sizeof rounding[0]; i++) {
    call1("floor", floor, rounding[i]);
    call1("ceil", ceil, rounding[i]);
    call1("round", round, rounding[i]);
    call1("trunc", trunc, rounding[i]);
    call1("rint", rint, rounding[i]);
    if (fabs(rounding[i]) < 1e9) pi("  lrint", lrint(od(rounding[i])));
  }
  call1("cbrt", cbrt, 27);
  call1("cbrt", cbrt, 2);
  call1("cbrt", cbrt, -1e-300);
  call2("hypot", hypot, 3, 4);
  call2("hypot", hypot, 1e300, 1e300);
  call2("hypot", hypot, 1e-300, 1e-300);
  call2("hypot", hypot, 1, 1e-10);
  call1("sinh", sinh, 1);
  call1("sinh", sinh, -0.001);
  call1("sinh", sinh, 20);
  call1("tanh", tanh, 0.5);
  call1("tanh", tanh, -3);
  call1("tanh", tanh, 20);
  call1("expm1", expm1, 1e-10);
  call1("expm1", expm1, 1);
  call1("expm1", expm1, -50);
  call1("log1p", log1p, 1e-10);
  call1("log1p", log1p, 1);
  call1("log1p", log1p, -0.5);
  call1("asin", asin, 0.5);
  call1("acos", acos, -0.3);
  call1("atan", atan, 7);
  call1("cosh", cosh, 2);
  call1("exp2", exp2, 0.3);
  call1("log2", log2, 3);
  call1("erf", erf, 0.5);
  call1("tgamma", tgamma, 5.5);
  call1("lgamma", lgamma, 100);
  int e;
  pd("frexp(1000,&e)", frexp(od(1000), &e));
  pi("  e", e);
  pd("ldexp(1,-1074)", ldexp(od(1), oi(-1074)));
  pd("ldexp(1.5,1023)", ldexp(od(1.5), oi(1023)));
  pd("logb(1e-310)", logb(od(1e-310)));
  pd("scalbn(3,-1075)", scalbn(od(3), oi(-1075)));
  pd("fma(0.1,10,-1)", fma(od(0.1), od(10.0), od(-1.0)));
  pd("remainder(10,3)", remainder(od(10), od(3)));
  pd("nextafter(1,2)", nextafter(od(1), od(2)));
  pd("nextafter(0,-1)", nextafter(od(0), od(-1)));

  section("libm float");
  pf("sinf(1)", sinf(of(1.0f)));
  pf("cosf(0.5)", cosf(of(0.5f)));
  pf("expf(1)", expf(of(1.0f)));
  pf("logf(2)", logf(of(2.0f)));
  pf("powf(2,0.5)", powf(of(2.0f), of(0.5f)));
  pf("atan2f(1,3)", atan2f(of(1.0f), of(3.0f)));
  pf("floorf(-1.5)", floorf(of(-1.5f)));
  pf("fmodf(7,2.5)", fmodf(of(7.0f), of(2.5f)));
}

/* ---- long double (x87 80-bit) -------------------------------------------------------------- */

static void long_double(void) {
  section("long double");
  pl("1/3", ol(1.0L) / ol(3.0L));
  pl("2/3", ol(2.0L) / ol(3.0L));
  pl("-10/7", ol(-10.0L) / ol(7.0L));
  pl("0.1L*3", ol(0.1L) * ol(3.0L));
  pl("sqrtl(2)", sqrtl(ol(2.0L)));
  pl("sqrtl(1e-4940)", sqrtl(ol(1e-4940L)));
  pl("1+LDBL_EPSILON/2 (tie)", ol(1.0L) + ol(LDBL_EPSILON / 2));
  pl("1+LDBL_EPSILON*3/2 (tie)", ol(1.0L) + ol(LDBL_EPSILON * 1.5L));
  pl("LDBL_MAX", ol(LDBL_MAX));
  pl("LDBL_MAX*2", ol(LDBL_MAX) * ol(2.0L));
  pl("1e4000*1e4000", ol(1e4000L) * ol(1e4000L));
  pl("LDBL_MIN", ol(LDBL_MIN));
  pl("LDBL_MIN/3 (denormal)", ol(LDBL_MIN) / ol(3.0L));
  pl("min denormal", ol(0x1p-16445L));
  pl("min denormal/2", ol(0x1p-16445L) / ol(2.0L));
  pl("0/0", ol(0.0L) / ol(0.0L));
  pl("1/-0", ol(1.0L) / ol(-0.0L));
  pl("DBL_MAX*2 (in range)", ol(DBL_MAX) * ol(2.0L));
  pl("DBL_MIN*DBL_MIN (in range)", ol(DBL_MIN) * ol(DBL_MIN));

  long double f = 1.0L;
  for (int i = 2; i <= 25; i++) f = f * (long double)oi(i);
  pl("25!", f);
  long double z = 0.0L;
  for (int k = 1; k <= 1000; k++) {
    long double kk = (long double)oi(k);
    z = z + ol(1.0L) / (kk * kk);
  }
  pl("sum 1/k^2, k=1..1000", z);

  pl("fmodl(1e4000,10)", fmodl(ol(1e4000L), ol(10.0L)));
  pl("fmodl(1e100,0.1)", fmodl(ol(1e100L), ol(0.1L)));
  pl("remainderl(1e20,7)", remainderl(ol(1e20L), ol(7.0L)));
  pl("rintl(2.5)", rintl(ol(2.5L)));
  pl("rintl(-0x1.8p62)", rintl(ol(-0x1.8p62L)));
  pl("floorl(-1e-4000)", floorl(ol(-1e-4000L)));
  pl("ldexpl(1,-16445)", ldexpl(ol(1.0L), oi(-16445)));
  pl("ldexpl(3,16382)", ldexpl(ol(3.0L), oi(16382)));
  int e;
  pl("frexpl(1e-4940,&e)", frexpl(ol(1e-4940L), &e));
  pi("  e", e);
  pl("logbl(1e4000)", logbl(ol(1e4000L)));
  pl("fabsl(-3)", fabsl(ol(-3.0L)));
  pi("(long long)1e18L+0.5", (long long)(ol(1e18L) + ol(0.5L)));
  pi("llrintl(-2.5e18L)", llrintl(ol(-2.5e18L)));

  /* Transcendental x87 instructions: printed rounded to double (see the top). */
  pd("(double)expl(1)", (double)expl(ol(1.0L)));
  pd("(double)logl(10)", (double)logl(ol(10.0L)));
  pd("(double)log2l(3)", (double)log2l(ol(3.0L)));
  pd("(double)sinl(0.5)", (double)sinl(ol(0.5L)));
  pd("(double)cosl(2)", (double)cosl(ol(2.0L)));
  pd("(double)tanl(1)", (double)tanl(ol(1.0L)));
  pd("(double)atanl(3)", (double)atanl(ol(3.0L)));
  pd("(double)atan2l(-1,-3)", (double)atan2l(ol(-1.0L), ol(-3.0L)));
  pd("(double)powl(3,0.25)", (double)powl(ol(3.0L), ol(0.25L)));
  pd("(double)exp2l(-0.7)", (double)exp2l(ol(-0.7L)));
  pd("(double)log1pl(1e-5)", (double)log1pl(ol(1e-5L)));
  pd("(double)expm1l(1e-5)", (double)expm1l(ol(1e-5L)));

  /* Precision control: the same division at 24, 53 and 64 bits. */
  set_pc(_FPU_SINGLE);
  sink_l = ol(1.0L) / ol(3.0L);
  pl("1/3 with PC=24", sink_l);
  sink_l = ol(2.0L) + ol(0x1p-30L);
  pl("2+2^-30 with PC=24", sink_l);
  set_pc(_FPU_DOUBLE);
  sink_l = ol(1.0L) / ol(3.0L);
  pl("1/3 with PC=53", sink_l);
  sink_l = sqrtl(ol(2.0L));
  pl("sqrtl(2) with PC=53", sink_l);
  sink_l = ol(1e2000L) * ol(1e2000L);
  pl("1e2000^2 with PC=53", sink_l);
  set_pc(_FPU_EXTENDED);
  sink_l = ol(1.0L) / ol(3.0L);
  pl("1/3 with PC=64", sink_l);
}

/* ---- fenv: rounding modes and exception flags ------------------------------------------------ */

static const struct { int mode; const char *name; } modes[] = {
  { FE_TONEAREST, "nearest" }, { FE_DOWNWARD, "downward" }, { FE_UPWARD, "upward" }, { FE_TOWARDZERO, "towardzero" },
};

/*
 * Inputs of the rounding-mode section. On the x87 build a decimal constant
 * in an expression is a long double (FLT_EVAL_METHOD 2) that -frounding-math
 * converts to double at run time, in the current rounding mode: 0.1 would
 * be a different double in each mode. Static objects are converted at
 * compile time, so every mode and both builds see the same inputs.
 */
static volatile const double k_0_1 = 0.1, k_third = 1.0 / 3.0, k_2_675 = 2.675;

static void rounding_modes(void) {
  section("rounding modes");
  for (unsigned m = 0; m < 4; m++) {
    char label[64];
    int rc = fesetround(modes[m].mode);
    printf("-- %s: fesetround %d, fegetround matches %d\n", modes[m].name, rc, fegetround() == modes[m].mode);
#define LBL(s) (snprintf(label, sizeof label, "%s %s", modes[m].name, s), label)
    pd(LBL("rint(2.5)"), rint(od(2.5)));
    pd(LBL("rint(-2.5)"), rint(od(-2.5)));
    pd(LBL("rint(-3.5)"), rint(od(-3.5)));
    pd(LBL("nearbyint(0.5)"), nearbyint(od(0.5)));
    pd(LBL("nearbyint(-1.5)"), nearbyint(od(-1.5)));
    pi(LBL("lrint(2.5)"), lrint(od(2.5)));
    pi(LBL("lrint(-2.5)"), lrint(od(-2.5)));
    pi(LBL("llrint(-7.5)"), llrint(od(-7.5)));
    pi(LBL("(int)-2.7"), (int)od(-2.7));
    pd(LBL("1/3"), od(1.0) / od(3.0));
    pd(LBL("-1/3"), od(-1.0) / od(3.0));
    pd(LBL("1+2^-60"), od(1.0) + od(0x1p-60));
    pd(LBL("-1-2^-60"), od(-1.0) - od(0x1p-60));
    pd(LBL("0.1*0.1"), od(k_0_1) * od(k_0_1));
    pd(LBL("sqrt(2)"), sqrt(od(2.0)));
    pd(LBL("1e308*10"), od(1e308) * od(10.0));
    pd(LBL("-1e308*10"), od(-1e308) * od(10.0));
    pd(LBL("DBL_MIN/3"), od(DBL_MIN) / od(3.0));
    pd(LBL("min denormal/2"), od(0x1p-1074) / od(2.0));
    pd(LBL("1-1"), od(1.0) - od(1.0));
    pf(LBL("(float)(1/3.)"), (float)od(k_third));
    pf(LBL("1f/3"), of(1.0f) / of(3.0f));
    pd(LBL("(double)(ll)2^53+1"), (double)oll(9007199254740993LL));
    pd(LBL("strtod 0.1"), strtod("0.1", NULL));
    printf("%s printf %%.2f of 0.125 -0.125 2.675: %.2f %.2f %.2f\n", modes[m].name, od(0.125), od(-0.125), od(k_2_675));
    set_pc(_FPU_EXTENDED);
    sink_l = ol(1.0L) / ol(3.0L);
    pl(LBL("1/3L"), sink_l);
    pl(LBL("rintl(-2.5)"), rintl(ol(-2.5L)));
    pd(LBL("(double)(1/3L)"), (double)sink_l);
    set_pc(_FPU_DOUBLE);
#undef LBL
  }
  fesetround(FE_TONEAREST);
}

static void flags_after(const char *what) {
  int f = fetestexcept(FE_ALL_EXCEPT);
  mix((uint64_t)f);
  printf("%-34s flags: %s\n", what, flag_names(f));
}

#define FLAGS(what, stmt) do { feclearexcept(FE_ALL_EXCEPT); stmt; flags_after(what); } while (0)

static void exception_flags(void) {
  section("exception flags");
  FLAGS("nothing", (void)0);
  FLAGS("2*3", sink_d = od(2.0) * od(3.0));
  FLAGS("1/0", sink_d = od(1.0) / od(0.0));
  FLAGS("0/0", sink_d = od(0.0) / od(0.0));
  FLAGS("inf-inf", sink_d = od(INFINITY) - od(INFINITY));
  FLAGS("sqrt(-1)", sink_d = sqrt(od(-1.0)));
  FLAGS("1/3", sink_d = od(1.0) / od(3.0));
  FLAGS("DBL_MAX*2", sink_d = od(DBL_MAX) * od(2.0));
  FLAGS("DBL_MIN*DBL_MIN", sink_d = od(DBL_MIN) * od(DBL_MIN));
  FLAGS("DBL_MIN/2 (exact denormal)", sink_d = od(DBL_MIN) / od(2.0));
  FLAGS("DBL_MIN/3 (inexact denormal)", sink_d = od(DBL_MIN) / od(3.0));
  FLAGS("inf*2", sink_d = od(INFINITY) * od(2.0));
  FLAGS("nan+1 (quiet)", sink_d = od(NAN) + od(1.0));
  FLAGS("nan<1", sink_i = od(NAN) < od(1.0));
  FLAGS("nan==1", sink_i = od(NAN) == od(1.0));
  FLAGS("isless(nan,1)", sink_i = isless(od(NAN), od(1.0)));
  FLAGS("(int)1e10", sink_i = (int)od(1e10));
  FLAGS("(int)nan", sink_i = (int)od(NAN));
  FLAGS("(int)2.5", sink_i = (int)od(2.5));
  FLAGS("(long long)1e19", sink_i = (long long)od(1e19));
  FLAGS("FLT_MAX*2f", sink_f = of(FLT_MAX) * of(2.0f));
  FLAGS("(float)1e300", sink_f = (float)od(1e300));
  FLAGS("(float)1e-300", sink_f = (float)od(1e-300));
  FLAGS("(float)0.1", sink_f = (float)od(0.1));
  FLAGS("(float)0.5", sink_f = (float)od(0.5));
  FLAGS("(double)(ll)2^53+1", sink_d = (double)oll(9007199254740993LL));
  FLAGS("log(0)", sink_d = log(od(0.0)));
  FLAGS("log(-1)", sink_d = log(od(-1.0)));
  FLAGS("exp(1000)", sink_d = exp(od(1000.0)));
  FLAGS("exp(-1000)", sink_d = exp(od(-1000.0)));
  FLAGS("pow(0,-1)", sink_d = pow(od(0.0), od(-1.0)));
  FLAGS("fmod(1,0)", sink_d = fmod(od(1.0), od(0.0)));
  FLAGS("floor(2.5)", sink_d = floor(od(2.5)));
  FLAGS("nearbyint(2.5)", sink_d = nearbyint(od(2.5)));
  FLAGS("rint(2.5)", sink_d = rint(od(2.5)));
  FLAGS("1/3L", sink_l = ol(1.0L) / ol(3.0L));
  FLAGS("LDBL_MAX*2", sink_l = ol(LDBL_MAX) * ol(2.0L));
  FLAGS("LDBL_MIN/3", sink_l = ol(LDBL_MIN) / ol(3.0L));
  FLAGS("(double)LDBL_MAX", sink_d = (double)ol(LDBL_MAX));
  FLAGS("(double)1e-4000L", sink_d = (double)ol(1e-4000L));
  FLAGS("feraiseexcept(overflow|inexact)", feraiseexcept(FE_OVERFLOW | FE_INEXACT));
  FLAGS("feraiseexcept(underflow)", feraiseexcept(FE_UNDERFLOW));

  /* The flags survive an environment save and restore. */
  fexcept_t saved;
  feclearexcept(FE_ALL_EXCEPT);
  sink_d = od(1.0) / od(0.0);
  fegetexceptflag(&saved, FE_ALL_EXCEPT);
  feclearexcept(FE_ALL_EXCEPT);
  fesetexceptflag(&saved, FE_ALL_EXCEPT);
  flags_after("fesetexceptflag(saved 1/0)");
  fenv_t env;
  feholdexcept(&env);
  flags_after("feholdexcept");
  sink_d = od(DBL_MAX) * od(2.0);
  feupdateenv(&env);
  flags_after("feupdateenv after DBL_MAX*2");
  feclearexcept(FE_ALL_EXCEPT);
}

/* Unmasked exceptions: SIGFPE with the kernel's si_code. */
static sigjmp_buf trap_jmp;
static volatile int trap_code;

static void on_sigfpe(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  trap_code = si->si_code;
  siglongjmp(trap_jmp, 1);
}

static void trap(const char *what, int excepts, int which) {
  trap_code = 0;
  if (sigsetjmp(trap_jmp, 1) == 0) {
    feclearexcept(FE_ALL_EXCEPT);
    feenableexcept(excepts);
    switch (which) {
      case 0: sink_d = od(1.0) / od(0.0); break;
      case 1: sink_d = od(DBL_MAX) * od(2.0); break;
      case 2: sink_d = od(0.0) / od(0.0); break;
      case 3: sink_l = ol(1.0L) / ol(0.0L); break;
      case 4: sink_d = od(1.0) / od(3.0); break;
    }
    /* A pending x87 exception is delivered by the next waiting instruction. */
    sink_d = od(1.0) + od(1.0);
    fedisableexcept(FE_ALL_EXCEPT);
    printf("%-34s no trap\n", what);
  } else {
    /* The handler ran with a fresh FPU state and siglongjmp kept it: reset. */
    fedisableexcept(FE_ALL_EXCEPT);
    fesetenv(FE_DFL_ENV);
    set_pc(_FPU_DOUBLE);
    printf("%-34s SIGFPE si_code %d\n", what, trap_code);
  }
  mix((uint64_t)trap_code);
  feclearexcept(FE_ALL_EXCEPT);
}

static void traps(void) {
  section("traps (SIGFPE)");
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_sigfpe;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGFPE, &sa, NULL);
  printf("(FPE_FLTDIV %d, FPE_FLTOVF %d, FPE_FLTINV %d, FPE_FLTRES %d)\n", FPE_FLTDIV, FPE_FLTOVF, FPE_FLTINV, FPE_FLTRES);
  trap("1/0, divbyzero enabled", FE_DIVBYZERO, 0);
  trap("DBL_MAX*2, overflow enabled", FE_OVERFLOW, 1);
  trap("0/0, invalid enabled", FE_INVALID, 2);
  trap("1/0L, divbyzero enabled", FE_DIVBYZERO, 3);
  trap("1/3, overflow enabled", FE_OVERFLOW, 4);
  trap("1/0, invalid enabled", FE_INVALID, 0);
  signal(SIGFPE, SIG_DFL);
  flags_after("after the traps");
}

/* ---- numeric kernels ----------------------------------------------------------------------- */

#define N 32
static double ma[N][N], mb[N][N], mc[N][N];

static void matmul(void) {
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < N; j++) {
      ma[i][j] = (double)((i * 7 + j * 13) % 17 - 8) / od(7.0);
      mb[i][j] = (double)((i * 5 + j * 3) % 11 - 5) / od(3.0) + od(0.1) * j;
    }
  }
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < N; j++) {
      double s = 0.0;
      for (int k = 0; k < N; k++) {
        double t = ma[i][k] * mb[k][j];
        s = s + t;
      }
      mc[i][j] = s;
    }
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  double trace = 0.0, total = 0.0;
  for (int i = 0; i < N; i++) {
    trace = trace + mc[i][i];
    for (int j = 0; j < N; j++) {
      total = total + mc[i][j];
      uint64_t b = bits_d(mc[i][j]);
      for (int k = 0; k < 8; k++) { h ^= (b >> (8 * k)) & 0xff; h *= 0x100000001b3ULL; }
    }
  }
  pd("matmul 32x32 trace", trace);
  pd("matmul 32x32 sum", total);
  pd("matmul c[5][17]", mc[5][17]);
  mix(h);
  printf("matmul 32x32 bits hash      %016llx\n", (unsigned long long)h);
}

#define FFT_N 64
static void fft(void) {
  static double re[FFT_N], im[FFT_N], wr[FFT_N / 2], wi[FFT_N / 2];
  /* Twiddles from libm, called at the default 64-bit precision control. */
  for (int k = 0; k < FFT_N / 2; k++) {
    double a = od(-2.0 * 3.14159265358979323846) * k;
    a = a / FFT_N;
    set_pc(_FPU_EXTENDED);
    wr[k] = cos(a);
    wi[k] = sin(a);
    set_pc(_FPU_DOUBLE);
  }
  double energy_in = 0.0;
  for (int n = 0; n < FFT_N; n++) {
    re[n] = (double)((n * n) % 11 - 5) + od(0.25) * (n % 3);
    im[n] = (double)(n % 5) / od(4.0);
    double e = re[n] * re[n];
    energy_in = energy_in + e;
    e = im[n] * im[n];
    energy_in = energy_in + e;
  }
  /* Iterative radix-2, decimation in time. */
  for (int i = 1, j = 0; i < FFT_N; i++) {
    int bit = FFT_N >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      double t = re[i]; re[i] = re[j]; re[j] = t;
      t = im[i]; im[i] = im[j]; im[j] = t;
    }
  }
  for (int len = 2; len <= FFT_N; len <<= 1) {
    int step = FFT_N / len;
    for (int i = 0; i < FFT_N; i += len) {
      for (int k = 0; k < len / 2; k++) {
        double w_r = wr[k * step], w_i = wi[k * step];
        double xr = re[i + k + len / 2], xi = im[i + k + len / 2];
        double p1 = xr * w_r, p2 = xi * w_i, p3 = xr * w_i, p4 = xi * w_r;
        double tr = p1 - p2, ti = p3 + p4;
        double ur = re[i + k], ui = im[i + k];
        re[i + k] = ur + tr;
        im[i + k] = ui + ti;
        re[i + k + len / 2] = ur - tr;
        im[i + k + len / 2] = ui - ti;
      }
    }
  }
  uint64_t h = 0xcbf29ce484222325ULL;
  double energy_out = 0.0;
  for (int n = 0; n < FFT_N; n++) {
    double e = re[n] * re[n];
    energy_out = energy_out + e;
    e = im[n] * im[n];
    energy_out = energy_out + e;
    uint64_t b[2] = { bits_d(re[n]), bits_d(im[n]) };
    for (int w = 0; w < 2; w++)
      for (int k = 0; k < 8; k++) { h ^= (b[w] >> (8 * k)) & 0xff; h *= 0x100000001b3ULL; }
  }
  pd("fft64 X[0].re", re[0]);
  pd("fft64 X[7].im", im[7]);
  pd("fft64 energy in", energy_in);
  pd("fft64 energy out/64", energy_out / od(FFT_N));
  mix(h);
  printf("fft64 bits hash             %016llx\n", (unsigned long long)h);
}

static void mandelbrot(void) {
  char row[81];
  long total = 0;
  for (int x = 0; x < 80; x++) {
    double cr = od(-2.1) + x * od(2.8 / 79.0), ci = od(0.6);
    double zr = 0.0, zi = 0.0;
    int it = 0;
    for (; it < 500; it++) {
      double r2 = zr * zr, i2 = zi * zi;
      double m = r2 + i2;
      if (m > 4.0) break;
      double zri = zr * zi;
      zi = zri + zri + ci;
      zr = r2 - i2 + cr;
    }
    total += it;
    row[x] = " .:-=+*#%@"[it % 10];
  }
  row[80] = 0;
  mix((uint64_t)total);
  printf("mandelbrot y=0.6 |%s|\n", row);
  printf("mandelbrot iterations       %ld\n", total);

  /* Another row, in float. */
  total = 0;
  for (int x = 0; x < 80; x++) {
    float step = (float)x * of(2.8f / 79.0f);
    float cr = of(-2.1f) + step, ci = of(-0.65f);
    float zr = 0.0f, zi = 0.0f;
    int it = 0;
    for (; it < 500; it++) {
      float r2 = zr * zr, i2 = zi * zi;
      float m = r2 + i2;
      if (m > 4.0f) break;
      float zri = zr * zi;
      float zi2 = zri + zri;
      zi = zi2 + ci;
      float d = r2 - i2;
      zr = d + cr;
    }
    total += it;
    row[x] = " .:-=+*#%@"[it % 10];
  }
  mix((uint64_t)total);
  printf("mandelbrot float y=-0.65    |%s|\n", row);
  printf("mandelbrot float iterations %ld\n", total);
}

static void sums(void) {
  double fwd = 0.0, bwd = 0.0, kahan = 0.0, comp = 0.0;
  for (int i = 1; i <= 10000; i++) {
    double t = od(1.0) / i;
    fwd = fwd + t;
    /* Kahan: the compensation only works if every step rounds to double. */
    double y = t - comp;
    double s = kahan + y;
    double d = s - kahan;
    comp = d - y;
    kahan = s;
  }
  for (int i = 10000; i >= 1; i--) {
    double t = od(1.0) / i;
    bwd = bwd + t;
  }
  pd("harmonic 1e4 forward", fwd);
  pd("harmonic 1e4 backward", bwd);
  pd("harmonic 1e4 Kahan", kahan);
  double x = od(2.0), r = 1.0;
  for (int i = 0; i < 8; i++) {
    double q = x / r;
    double s = r + q;
    r = s * 0.5;
  }
  pd("Newton sqrt(2), 8 steps", r);
  /* od(3.9), not 3.9: on the x87 build the bare constant is 3.9L. */
  double g = od(0.5), k = od(3.9);
  for (int i = 0; i < 100; i++) {
    double a = k * g;
    double b = 1.0 - g;
    g = a * b;
  }
  pd("logistic map x100", g);
}

static void kernels(void) {
  section("kernels");
  matmul();
  fft();
  mandelbrot();
  sums();
}

int main(void) {
  printf("fpmath 1: float, double, long double, libm, fenv\n");
  printf("sizeof float %u, double %u, long double %u\n", (unsigned)sizeof(float), (unsigned)sizeof(double),
         (unsigned)sizeof(long double));
  set_pc(_FPU_DOUBLE);
  arith_double();
  arith_float();
  conversions();
  text_round_trips();
  rounding_modes();
  exception_flags();
  traps();
  kernels();
  set_pc(_FPU_EXTENDED);
  libm_double();
  long_double();
  printf("\ndigest %016llx\nfpmath done\n", (unsigned long long)digest);
  return 0;
}
