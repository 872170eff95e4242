/* Disk throughput and IOPS on a block device or file, the same program
 * inside the guest (static i386) and natively on the host (the reference).
 * Sequential 1 MiB writes/reads over `seqmb` MiB, then 4 KiB random reads
 * and writes (with a final fsync) at `iops_n` offsets. O_DIRECT when the
 * target accepts it, so the guest's page cache is not what is measured. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: diskbench DEV SEQ_MB RANDOM_OPS [ro]\n"); return 2; }
    int ro = argc > 4 && strcmp(argv[4], "ro") == 0; /* read-only disks: reads only */
    int seqmb = atoi(argv[2]), n = atoi(argv[3]);
    int fd = open(argv[1], (ro ? O_RDONLY : O_RDWR) | O_DIRECT);
    int direct = fd >= 0;
    if (fd < 0) fd = open(argv[1], ro ? O_RDONLY : O_RDWR);
    if (fd < 0) { perror(argv[1]); return 1; }
    void *buf;
    if (posix_memalign(&buf, 4096, 1 << 20)) return 1;
    memset(buf, 0xa5, 1 << 20);
    double t = now();
    for (int i = 0; i < seqmb && !ro; i++)
        if (pwrite(fd, buf, 1 << 20, (off_t)i << 20) != 1 << 20) { perror("write"); return 1; }
    fsync(fd);
    double ws = now() - t;
    t = now();
    for (int i = 0; i < seqmb; i++)
        if (pread(fd, buf, 1 << 20, (off_t)i << 20) != 1 << 20) { perror("read"); return 1; }
    double rs = now() - t;
    unsigned x = 12345;
    long blocks = ((long)seqmb << 20) / 4096;
    t = now();
    for (int i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        if (pread(fd, buf, 4096, (off_t)((x >> 4) % blocks) * 4096) != 4096) { perror("rread"); return 1; }
    }
    double rr = now() - t;
    t = now();
    for (int i = 0; i < n && !ro; i++) {
        x = x * 1103515245u + 12345u;
        if (pwrite(fd, buf, 4096, (off_t)((x >> 4) % blocks) * 4096) != 4096) { perror("rwrite"); return 1; }
    }
    fsync(fd);
    double rw = now() - t;
    if (ro)
        printf("DISKBENCH direct=%d seq-read %.1f MB/s rand-read %.0f IOPS (read-only)\n", direct, seqmb / rs, n / rr);
    else
        printf("DISKBENCH direct=%d seq-write %.1f MB/s seq-read %.1f MB/s rand-read %.0f IOPS rand-write %.0f IOPS\n",
               direct, seqmb / ws, seqmb / rs, n / rr, n / rw);
    return 0;
}
