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
 *   u32 magic 0x31434556 ("VEC1"), u16 code length, u16 reserved,
 *   u32 seed, u32 eax ecx edx ebx esp ebp esi edi eflags, code bytes.
 * stdout: first the line "HARNESS low=<0|1>", then one line per request:
 *   signo trapno err eip eflags eax ecx edx ebx esp ebp esi edi nruns {addr:hex}
 * (numbers in hex). eip/eflags/registers are those of the signal context:
 * for int3 (signo 5, trapno 3) eip is after the int3; for a fault it is the
 * faulting instruction; for a trap such as INTO's #OF the next one. signo 14
 * (SIGALRM) means the snippet did not finish within the time limit. The runs
 * are the maximal runs of bytes of MAIN then LOW that differ from the fill.
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

/* Read by entry.S: eax ecx edx ebx esp ebp esi edi eflags. */
struct vregs {
  uint32_t r[8];
  uint32_t eflags;
};
struct vregs g_in;
uint32_t g_code_base = CODE_BASE;
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
    uint32_t seed = hdr[2];
    if (len > CODE_SIZE) {
      fprintf(stderr, "harness: snippet too long (%u)\n", len);
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
    putchar('\n');
  }
  fflush(stdout);
  return 0;
}
