/* The bare loops benches/limit.sh compares wpbench with: the same
 * syscalls a workload's fastest configuration makes, with no measuring at
 * all (no clock, no histogram, no record header). One thread per THREADS,
 * each in its own directory under DIR; prints the unit ops per second over
 * all threads.
 *
 *   bare MODE DIR THREADS SECONDS
 *
 * MODE: seq-write   4 KiB pwrite, sequential through a 256 MiB file written
 *                   in full before the clock (as fsync_heavy's is), wrapping
 *       small-files create + 4 KiB write + close, 1000 files per directory
 *       log-lines   256 B appends to a log; a new log every 256 KiB, 10 kept
 *       read-files  open + read to EOF + close over 1000 4 KiB files (over
 *                   all threads) made before the clock
 *       meta-stat   metadata's {create: 1, stat: 8, unlink: 1} mix over a
 *                   working set of at most 1000 empty files per thread:
 *                   a seeded draw per op; create (open O_CREAT|O_EXCL +
 *                   close) and unlink (of a random file) swap when the set
 *                   is full or empty; stat is fstatat without following;
 *                   paths tNN/mNNNNNNN under DIR, as wpbench's are
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *mode;
static atomic_int stop;
static char buf[4096] __attribute__((aligned(4096)));

static void die(const char *what) {
  perror(what);
  exit(4);
}

struct job {
  char dir[4096];
  unsigned long long ops;
};

static const off_t wal_size = 256 << 20;

static void seq_write_prepare(struct job *j) {
  char p[4200];
  snprintf(p, sizeof p, "%s/wal", j->dir);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("open");
  for (off_t off = 0; off < wal_size; off += 4096)
    if (pwrite(fd, buf, 4096, off) != 4096) die("pwrite");
  close(fd);
}

static void seq_write(struct job *j) {
  char p[4200];
  snprintf(p, sizeof p, "%s/wal", j->dir);
  int fd = open(p, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die("open");
  const off_t size = wal_size;
  off_t off = 0;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    if (pwrite(fd, buf, 4096, off) != 4096) die("pwrite");
    off = (off + 4096) % size;
    j->ops++;
  }
  close(fd);
}

static void small_files(struct job *j) {
  char p[4200];
  for (unsigned long long n = 0; !atomic_load_explicit(&stop, memory_order_relaxed); n++) {
    if (n % 1000 == 0) {
      snprintf(p, sizeof p, "%s/d%06llu", j->dir, n / 1000);
      if (mkdir(p, 0755) && errno != EEXIST) die("mkdir");
    }
    snprintf(p, sizeof p, "%s/d%06llu/f%08llu", j->dir, n / 1000, n);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) die("open");
    if (write(fd, buf, 4096) != 4096) die("write");
    close(fd);
    j->ops++;
  }
}

static void log_lines(struct job *j) {
  char p[4200];
  int fd = -1;
  unsigned long long log = 0, in_log = 0;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    if (fd < 0 || in_log >= 256 * 1024) {
      if (fd >= 0) close(fd);
      if (log > 10) {
        snprintf(p, sizeof p, "%s/task%08llu.log", j->dir, log - 11);
        if (unlink(p)) die("unlink");
      }
      snprintf(p, sizeof p, "%s/task%08llu.log", j->dir, log++);
      fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd < 0) die("open");
      in_log = 0;
    }
    if (write(fd, buf, 256) != 256) die("write");
    in_log += 256;
    j->ops++;
  }
  if (fd >= 0) close(fd);
}

static int files_each;

static void read_files_prepare(struct job *j) {
  char p[4200];
  for (int i = 0; i < files_each; i++) {
    snprintf(p, sizeof p, "%s/f%06d", j->dir, i);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, buf, 4096) != 4096) die("setup");
    close(fd);
  }
}

static void read_files(struct job *j) {
  char p[4200];
  static __thread char rbuf[8192];
  for (int i = 0; !atomic_load_explicit(&stop, memory_order_relaxed); i = (i + 1) % files_each) {
    snprintf(p, sizeof p, "%s/f%06d", j->dir, i);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open");
    if (read(fd, rbuf, sizeof rbuf) != 4096) die("read");
    if (read(fd, rbuf, sizeof rbuf) != 0) die("read to EOF");
    close(fd);
    j->ops++;
  }
}

/* xorshift64*: a draw as cheap as wpbench's is not, on purpose. */
static unsigned long long next_rand(unsigned long long *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

static void meta_stat(struct job *j) {
  enum { CAP = 1000 };
  static __thread unsigned long long set[CAP];
  /* As wpbench's metadata does: paths "tNN/m…" under the root. */
  char p[64], root[4096];
  snprintf(root, sizeof root, "%s", j->dir);
  char *slash = strrchr(root, '/');
  if (!slash) die("thread dir");
  *slash = 0;
  const char *tdir = slash + 1;
  int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) die("open dir");
  unsigned long long seed = 0x9E3779B97F4A7C15ULL ^ (unsigned long long)(uintptr_t)j;
  unsigned long long next = 0;
  int n = 0;
  struct stat st;
  while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
    unsigned long long x = next_rand(&seed) % 10;
    int create = x == 0 ? n < CAP : x == 1 ? n == 0 : n == 0;
    int unlink_ = !create && (x <= 1);
    if (create) {
      snprintf(p, sizeof p, "%s/m%07llu", tdir, next);
      int fd = openat(dir, p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) die("create");
      close(fd);
      set[n++] = next++;
    } else if (unlink_) {
      int i = next_rand(&seed) % n;
      snprintf(p, sizeof p, "%s/m%07llu", tdir, set[i]);
      if (unlinkat(dir, p, 0)) die("unlink");
      set[i] = set[--n];
    } else {
      int i = next_rand(&seed) % n;
      snprintf(p, sizeof p, "%s/m%07llu", tdir, set[i]);
      if (fstatat(dir, p, &st, AT_SYMLINK_NOFOLLOW)) die("stat");
    }
    j->ops++;
  }
  close(dir);
}

static void *run(void *arg) {
  struct job *j = arg;
  /* A name of its own, so a profile (limit.sh PROFILE=1) counts the loop's
   * samples apart from the setup's. */
  pthread_setname_np(pthread_self(), "bare-loop");
  if (!strcmp(mode, "seq-write")) seq_write(j);
  else if (!strcmp(mode, "small-files")) small_files(j);
  else if (!strcmp(mode, "log-lines")) log_lines(j);
  else if (!strcmp(mode, "read-files")) read_files(j);
  else if (!strcmp(mode, "meta-stat")) meta_stat(j);
  else die("mode");
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: bare MODE DIR THREADS SECONDS\n");
    return 2;
  }
  mode = argv[1];
  int threads = atoi(argv[3]);
  double seconds = atof(argv[4]);
  memset(buf, 'w', sizeof buf);
  struct job *jobs = calloc(threads, sizeof *jobs);
  pthread_t *ts = calloc(threads, sizeof *ts);
  for (int t = 0; t < threads; t++) {
    snprintf(jobs[t].dir, sizeof jobs[t].dir, "%s/t%02d", argv[2], t);
    if (mkdir(jobs[t].dir, 0755)) die("mkdir");
  }
  files_each = 1000 / threads > 0 ? 1000 / threads : 1;
  for (int t = 0; t < threads; t++) {
    if (!strcmp(mode, "read-files")) read_files_prepare(&jobs[t]);
    if (!strcmp(mode, "seq-write")) seq_write_prepare(&jobs[t]);
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int t = 0; t < threads; t++) pthread_create(&ts[t], NULL, run, &jobs[t]);
  struct timespec d = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&d, NULL);
  atomic_store(&stop, 1);
  unsigned long long total = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(ts[t], NULL);
    total += jobs[t].ops;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.0f\n", total / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
  return 0;
}
