/*
 * wkvm differential-conformance harness.
 *
 * A 32-bit static Linux program that runs x86 instruction snippets natively
 * in user mode and prints what they did, so that scripts/vectors/generate.ts
 * can turn the host CPU's behaviour into test vectors for the emulated core.
 *
 * Build:  gcc -m32 -static -no-pie -fno-pie -O2 -o harness harness.c entry.S
 *
 * Memory layout (identical in the replay, test/cpu/vectors.test.ts):
 *   CODE  [0x00300000, +4 KiB)  the snippet, then int3 (0xCC) to the page end
 *   MAIN  [0x00200000, +8 KiB)  data and stack, xorshift32 fill from `seed`
 *   LOW   [0x00001000, +8 KiB)  data for 16-bit addressing, fill from
 *                               seed ^ 0x9E3779B9 (needs mmap_min_addr <= 0x1000)
 * Every other address is unmapped, so a stray access faults (#PF) and the
 * generator rejects that vector as a bug of its own.
 *
 * stdin: a stream of binary requests, little-endian:
 *   u32 magic 0x31434556 ("VEC1"), u16 code length, u16 flags,
 *   u32 seed, u32 eax ecx edx ebx esp ebp esi edi eflags,
 *   [FX_BYTES bytes of FXSAVE image if flags & REQ_FPU], code bytes.
 * stdout: first the line "HARNESS low=<0|1>", then one line per request:
 *   signo trapno err eip eflags eax ecx edx ebx esp ebp esi edi nruns {addr:hex}
 *   [fxhex if flags & REQ_FPU]
 * (numbers in hex). eip/eflags/registers are those of the signal context:
 * for int3 (signo 5, trapno 3) eip is after the int3; for a fault it is the
 * faulting instruction; for a trap such as INTO's #OF the next one. signo 14
 * (SIGALRM) means the snippet did not finish within the time limit. The runs
 * are the maximal runs of bytes of MAIN then LOW that differ from the fill.
 *
 * FPU state: before every snippet entry.S loads an FXSAVE image with FXRSTOR:
 * the request's image, or FNINIT's state with the default MXCSR, so no vector
 * inherits x87/SSE state from the one before. For an FPU request the line
 * ends with the first FX_BYTES bytes of the FXSAVE image at the signal (the
 * state after the snippet, or at its exception), in hex. The kernel hands the
 * handler that state in its signal frame (see fx_from_frame), not in the
 * registers: the handler itself runs with a freshly initialised FPU.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define CODE_BASE 0x00300000u
#define CODE_SIZE 0x1000u
#define MAIN_BASE 0x00200000u
#define MAIN_SIZE 0x2000u
#define LOW_BASE 0x00001000u
#define LOW_SIZE 0x2000u
#define LOW_SEED_XOR 0x9E3779B9u
#define MAGIC 0x31434556u
#define REQ_FPU 1u
/* FXSAVE bytes a request loads and a result reports: up to the end of XMM7. */
#define FX_BYTES 288u

/* Read by entry.S: eax ecx edx ebx esp ebp esi edi eflags. */
struct vregs {
  uint32_t r[8];
  uint32_t eflags;
};
struct vregs g_in;
uint32_t g_code_base = CODE_BASE;
/* Read by entry.S: FXRSTOR's source (16-byte aligned, as FXRSTOR requires). */
uint8_t g_fxin[512] __attribute__((aligned(16)));
extern void enter_snippet(void) __attribute__((noreturn));

struct vresult {
  int signo, trapno;
  uint32_t err, eip, eflags, r[8];
};
static volatile struct vresult g_out;
static volatile sig_atomic_t g_running;
static sigjmp_buf g_jmp;
static uint8_t g_altstack[1 << 16];
static uint8_t g_expect[MAIN_SIZE > LOW_SIZE ? MAIN_SIZE : LOW_SIZE];
static uint8_t g_fxout[512];
static volatile int g_fx_ok;

/*
 * The i386 signal frame's FP state (the kernel's struct _fpstate_32) is the
 * legacy FNSAVE-style header (112 bytes, ending in u16 status, u16 magic)
 * followed by the FXSAVE image; magic 0 says that image is there. With
 * XSAVE, the image continues with the XSAVE header, whose XSTATE_BV bit 0
 * (x87) or 1 (SSE) is clear when that component was in its initial state:
 * XSAVE may then leave that part of the image unwritten (stale bytes of an
 * earlier frame), so the initial values are filled in here.
 */
#define FPSTATE_FX_OFFSET 112
#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#endif
static int fx_from_frame(const uint8_t *fp) {
  uint16_t magic;
  memcpy(&magic, fp + 110, 2);
  if (magic != 0) return 0;
  const uint8_t *fx = fp + FPSTATE_FX_OFFSET;
  memcpy(g_fxout, fx, sizeof g_fxout);
  uint32_t m1;
  memcpy(&m1, fx + 464, 4);
  if (m1 != FP_XSTATE_MAGIC1) return 1;
  uint64_t bv;
  memcpy(&bv, fx + 512, 8);
  if (!(bv & 1)) {
    memset(g_fxout, 0, 24);
    g_fxout[0] = 0x7f; /* FCW 0x037F */
    g_fxout[1] = 0x03;
    memset(g_fxout + 32, 0, 128);
  }
  if (!(bv & 2)) memset(g_fxout + 160, 0, 128);
  return 1;
}

/* FNINIT's x87 state and the default MXCSR: what integer vectors start with. */
static void default_fx(uint8_t *img) {
  memset(img, 0, 512);
  img[0] = 0x7f;
  img[1] = 0x03;
  img[24] = 0x80;
  img[25] = 0x1f;
}

static void on_signal(int sig, siginfo_t *si, void *ucv) {
  (void)si;
  if (!g_running) {
    /* A fault in the harness itself: let it kill us with a core. */
    if (sig == SIGALRM) return;
    signal(sig, SIG_DFL);
    return;
  }
  ucontext_t *uc = ucv;
  greg_t *g = uc->uc_mcontext.gregs;
  g_out.signo = sig;
  g_out.trapno = sig == SIGALRM ? -1 : (int)g[REG_TRAPNO];
  g_out.err = (uint32_t)g[REG_ERR];
  g_out.eip = (uint32_t)g[REG_EIP];
  g_out.eflags = (uint32_t)g[REG_EFL];
  g_out.r[0] = (uint32_t)g[REG_EAX];
  g_out.r[1] = (uint32_t)g[REG_ECX];
  g_out.r[2] = (uint32_t)g[REG_EDX];
  g_out.r[3] = (uint32_t)g[REG_EBX];
  g_out.r[4] = (uint32_t)g[REG_UESP];
  g_out.r[5] = (uint32_t)g[REG_EBP];
  g_out.r[6] = (uint32_t)g[REG_ESI];
  g_out.r[7] = (uint32_t)g[REG_EDI];
  g_fx_ok = uc->uc_mcontext.fpregs ? fx_from_frame((const uint8_t *)uc->uc_mcontext.fpregs) : 0;
  g_running = 0;
  siglongjmp(g_jmp, 1);
}

static void fill(uint8_t *p, uint32_t size, uint32_t seed) {
  uint32_t x = seed ? seed : 1;
  for (uint32_t i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = (uint8_t)x;
    p[i + 1] = (uint8_t)(x >> 8);
    p[i + 2] = (uint8_t)(x >> 16);
    p[i + 3] = (uint8_t)(x >> 24);
  }
}

static void *map_fixed(uint32_t addr, uint32_t size, int prot) {
  void *p = mmap((void *)(uintptr_t)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if ((uint32_t)(uintptr_t)p != addr) {
    munmap(p, size);
    return NULL;
  }
  return p;
}

static int count_runs(const uint8_t *cur, const uint8_t *exp, uint32_t size) {
  int n = 0;
  for (uint32_t i = 0; i < size; i++) {
    if (cur[i] != exp[i] && (i == 0 || cur[i - 1] == exp[i - 1])) n++;
  }
  return n;
}

static void print_runs(FILE *f, uint32_t base, const uint8_t *cur, const uint8_t *exp, uint32_t size) {
  uint32_t i = 0;
  while (i < size) {
    if (cur[i] == exp[i]) {
      i++;
      continue;
    }
    fprintf(f, " %x:", base + i);
    while (i < size && cur[i] != exp[i]) fprintf(f, "%02x", cur[i++]);
  }
}

static size_t read_full(void *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t k = fread((uint8_t *)buf + got, 1, n - got, stdin);
    if (k == 0) break;
    got += k;
  }
  return got;
}

int main(int argc, char **argv) {
  int want_low = !(argc > 1 && strcmp(argv[1], "--no-low") == 0);
  uint8_t *code = map_fixed(CODE_BASE, CODE_SIZE, PROT_READ | PROT_WRITE);
  uint8_t *mainr = map_fixed(MAIN_BASE, MAIN_SIZE, PROT_READ | PROT_WRITE);
  /* LOW is executable: 16-bit-operand branches land there on a planted int3. */
  uint8_t *low = want_low ? map_fixed(LOW_BASE, LOW_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC) : NULL;
  if (!code || !mainr) {
    fprintf(stderr, "harness: cannot map the code/data regions: %s\n", strerror(errno));
    return 2;
  }

  stack_t ss = {.ss_sp = g_altstack, .ss_size = sizeof g_altstack, .ss_flags = 0};
  if (sigaltstack(&ss, NULL) != 0) {
    perror("sigaltstack");
    return 2;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  const int sigs[] = {SIGTRAP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGALRM};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    if (sigaction(sigs[i], &sa, NULL) != 0) {
      perror("sigaction");
      return 2;
    }
  }

  static char outbuf[1 << 20];
  setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);
  printf("HARNESS low=%d\n", low != NULL);

  for (;;) {
    uint32_t hdr[12];
    size_t got = read_full(hdr, sizeof hdr);
    if (got == 0) break;
    if (got != sizeof hdr || hdr[0] != MAGIC) {
      fprintf(stderr, "harness: bad request header\n");
      return 3;
    }
    uint32_t len = hdr[1] & 0xffff;
    uint32_t flags = hdr[1] >> 16;
    uint32_t seed = hdr[2];
    if (len > CODE_SIZE) {
      fprintf(stderr, "harness: snippet too long (%u)\n", len);
      return 3;
    }
    default_fx(g_fxin);
    if ((flags & REQ_FPU) && read_full(g_fxin, FX_BYTES) != FX_BYTES) {
      fprintf(stderr, "harness: truncated FXSAVE image\n");
      return 3;
    }
    if (mprotect(code, CODE_SIZE, PROT_READ | PROT_WRITE) != 0) {
      perror("mprotect");
      return 2;
    }
    memset(code, 0xcc, CODE_SIZE);
    if (read_full(code, len) != len) {
      fprintf(stderr, "harness: truncated snippet\n");
      return 3;
    }
    if (mprotect(code, CODE_SIZE, PROT_READ | PROT_EXEC) != 0) {
      perror("mprotect");
      return 2;
    }
    fill(mainr, MAIN_SIZE, seed);
    uint32_t lowseed = seed ^ LOW_SEED_XOR;
    if (low) fill(low, LOW_SIZE, lowseed);
    for (int i = 0; i < 8; i++) g_in.r[i] = hdr[3 + i];
    g_in.eflags = hdr[11];

    g_fx_ok = 0;
    if (sigsetjmp(g_jmp, 1) == 0) {
      alarm(2);
      g_running = 1;
      enter_snippet();
    }
    alarm(0);

    int nruns;
    fill(g_expect, MAIN_SIZE, seed);
    nruns = count_runs(mainr, g_expect, MAIN_SIZE);
    printf("%x %x %x %x %x", (unsigned)g_out.signo, (unsigned)g_out.trapno, g_out.err, g_out.eip, g_out.eflags);
    for (int i = 0; i < 8; i++) printf(" %x", g_out.r[i]);
    if (low) {
      /* Count MAIN's runs and LOW's runs before printing either. */
      static uint8_t lowexp[LOW_SIZE];
      fill(lowexp, LOW_SIZE, lowseed);
      int nlow = count_runs(low, lowexp, LOW_SIZE);
      printf(" %x", nruns + nlow);
      print_runs(stdout, MAIN_BASE, mainr, g_expect, MAIN_SIZE);
      print_runs(stdout, LOW_BASE, low, lowexp, LOW_SIZE);
    } else {
      printf(" %x", nruns);
      print_runs(stdout, MAIN_BASE, mainr, g_expect, MAIN_SIZE);
    }
    if (flags & REQ_FPU) {
      if (!g_fx_ok) {
        fprintf(stderr, "harness: no FXSAVE image in the signal frame\n");
        return 2;
      }
      putchar(' ');
      for (uint32_t i = 0; i < FX_BYTES; i++) printf("%02x", g_fxout[i]);
    }
    putchar('\n');
  }
  fflush(stdout);
  return 0;
}
