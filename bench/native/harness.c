/*
 * Native reference for bench/cpu.ts: runs one workload of workloads.asm (the
 * same machine code the wkvm core runs) on the host CPU and times it.
 *
 *   harness <workload> <a> <b> <c> <seconds> <trials>
 *
 * a, b, c are the workload's arguments; "SRC" and "DST" stand for two 64 KiB
 * buffers (SRC filled like bench/cpu.ts fills guest RAM). Each trial calls the
 * workload until <seconds> have passed; the best trial is printed as JSON:
 * {"calls":N,"seconds":S,"result":R}.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RP __attribute__((regparm(3)))
typedef unsigned RP (*workload_fn)(unsigned, unsigned, unsigned);
extern unsigned RP alu_loop(unsigned, unsigned, unsigned);
extern unsigned RP copy_dword(unsigned, unsigned, unsigned);
extern unsigned RP copy_byte(unsigned, unsigned, unsigned);
extern unsigned RP fib_bench(unsigned, unsigned, unsigned);
extern unsigned RP rep_movsd(unsigned, unsigned, unsigned);
extern unsigned RP x87_loop(unsigned, unsigned, unsigned);
extern unsigned RP sse2_loop(unsigned, unsigned, unsigned);
extern unsigned RP simd_int_loop(unsigned, unsigned, unsigned);

#define BUF_BYTES 65536
static unsigned src[BUF_BYTES / 4] __attribute__((aligned(4096)));
static unsigned dst[BUF_BYTES / 4] __attribute__((aligned(4096)));

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static unsigned arg(const char *s) {
  if (!strcmp(s, "SRC")) return (unsigned)(size_t)src;
  if (!strcmp(s, "DST")) return (unsigned)(size_t)dst;
  return (unsigned)strtoul(s, NULL, 0);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s <workload> <a> <b> <c> <seconds> <trials>\n", argv[0]);
    return 2;
  }
  static const struct { const char *name; workload_fn fn; } table[] = {
    { "alu_loop", alu_loop }, { "copy_dword", copy_dword }, { "copy_byte", copy_byte },
    { "fib_bench", fib_bench }, { "rep_movsd", rep_movsd },
    { "x87_loop", x87_loop }, { "sse2_loop", sse2_loop }, { "simd_int_loop", simd_int_loop },
  };
  workload_fn fn = NULL;
  for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(argv[1], table[i].name)) fn = table[i].fn;
  if (!fn) {
    fprintf(stderr, "unknown workload %s\n", argv[1]);
    return 2;
  }
  for (unsigned i = 0; i < BUF_BYTES / 4; i++) src[i] = i * 2654435761u;
  unsigned a = arg(argv[2]), b = arg(argv[3]), c = arg(argv[4]);
  double seconds = atof(argv[5]);
  int trials = atoi(argv[6]);
  double best_rate = 0, best_time = 0;
  unsigned long best_calls = 0;
  unsigned result = 0;
  for (int t = 0; t < trials; t++) {
    unsigned long calls = 0;
    double t0 = now(), dt;
    do {
      result = fn(a, b, c);
      calls++;
      dt = now() - t0;
    } while (dt < seconds);
    if (calls / dt > best_rate) {
      best_rate = calls / dt;
      best_calls = calls;
      best_time = dt;
    }
  }
  printf("{\"calls\":%lu,\"seconds\":%.9f,\"result\":%u}\n", best_calls, best_time, result);
  return 0;
}
