/*
 * airlock-init: PID 1 of an airlock VM cell.
 *
 * Mounts what a cell needs, loads the virtio modules shipped next to it, finds the
 * airlock channel (a virtio-serial port named dev.airlock.channel), reads the plan the
 * host sends on it, runs each step as argv (never through a shell) as the plan's user
 * with its env, workdir and timeout, streams stdout and stderr back in frames, sends
 * each output directory as a tar made by the helper busybox, and powers off.
 *
 * Before powering off, init waits for the host's ACK of its DONE (QEMU drops bytes it
 * still buffers when the guest stops).
 *
 * Frames (src/vm/frame.ts is the host side; keep both in step):
 *   "ALKF" | type u8 | stream u8 | index u16 BE | length u32 BE | payload | crc32 u32 BE
 * The crc covers type..payload. A step's bytes only ever travel as payload, so a step
 * cannot forge a frame by printing one. Steps cannot reach the channel either: its
 * device node is removed once opened, /dev is replaced by a minimal tmpfs, init is not
 * dumpable, and every step runs with an empty capability bounding set and
 * no_new_privs (so even uid 0 cannot mknod, mount, ptrace or use port I/O).
 *
 * Build: gcc -static -O2 -s (see src/vm/init-build.ts, which compiles it in the
 * airlock/debian:bookworm-build image).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define INIT_VERSION "airlock-init/1"
#define PLAN_VERSION "airlock-plan/1"
#define CHANNEL_NAME "dev.airlock.channel"
#define HELPER "/.airlock/busybox"
#define MODULE_DIR "/.airlock/modules"
#define ROOTDISK_MARK "/.airlock/rootdisk"
#define NEWROOT "/.airlock/root"

enum {
  T_HELLO = 1,
  T_STEP_START = 2,
  T_STEP_DATA = 3,
  T_STEP_END = 4,
  T_OUTPUT_DATA = 5,
  T_OUTPUT_END = 6,
  T_ERROR = 7,
  T_DONE = 8,
  T_PLAN = 16,
  T_ACK = 17,
};
#define MAX_PAYLOAD (4u << 20)
#define CHUNK 65536
#define OUTPUT_ERR_MAX 8192

extern char **environ;

static int chan = -1;
static uint32_t crc_table[256];

/* ---------- small helpers ---------- */

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    crc_table[i] = c;
  }
}

static uint32_t crc_update(uint32_t crc, const unsigned char *p, size_t n) {
  crc = ~crc;
  while (n--) crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void power_off(void) {
  sync();
  reboot(RB_POWER_OFF);
  /* if that failed, exiting PID 1 panics the kernel; with panic=-1 and -no-reboot qemu exits */
  _exit(1);
}

static void console(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  int64_t t = now_ms();
  dprintf(2, "airlock-init [%5lld.%03lld] %.*s\n", (long long)(t / 1000), (long long)(t % 1000), n, buf);
}

static int write_all(int fd, const void *buf, size_t n) {
  const char *p = buf;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static uint32_t get_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void send_frame(int type, int stream, unsigned index, const void *payload, uint32_t len) {
  unsigned char h[12], t[4];
  memcpy(h, "ALKF", 4);
  h[4] = (unsigned char)type;
  h[5] = (unsigned char)stream;
  h[6] = (unsigned char)(index >> 8);
  h[7] = (unsigned char)index;
  put_be32(h + 8, len);
  uint32_t crc = crc_update(0, h + 4, 8);
  crc = crc_update(crc, payload, len);
  put_be32(t, crc);
  if (write_all(chan, h, 12) || write_all(chan, payload, len) || write_all(chan, t, 4)) {
    console("channel write failed: %s", strerror(errno));
    power_off();
  }
}

static int read_exact(int fd, void *buf, size_t n) {
  char *p = buf;
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

/*
 * Waits (bounded) for the host's ACK of DONE or ERROR: only then has everything sent
 * before it left QEMU, which drops what it still buffers when the guest powers off.
 */
static void await_ack(int timeout_ms) {
  struct pollfd p = {chan, POLLIN, 0};
  unsigned char f[16];
  int64_t deadline = now_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return;
    int n = poll(&p, 1, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    break;
  }
  if (read_exact(chan, f, sizeof f) < 0) return;
  if (memcmp(f, "ALKF", 4) != 0 || f[4] != T_ACK) console("expected an ACK from the host");
}

/* Reports a fatal error on the channel (when it is open) and the console, then powers off. */
static void die(const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof buf) n = sizeof buf - 1;
  console("fatal: %.*s", n, buf);
  if (chan >= 0) {
    send_frame(T_ERROR, 0, 0, buf, (uint32_t)n);
    await_ack(10000);
  }
  power_off();
}


static int mkdir_p(const char *path, mode_t mode) {
  char tmp[4096];
  if (strlen(path) >= sizeof tmp) return -1;
  strcpy(tmp, path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(tmp, mode) < 0 && errno != EEXIST) return -1;
  return 0;
}

static void must_mount(const char *src, const char *target, const char *type, unsigned long flags, const char *data) {
  if (mkdir_p(target, 0755) < 0) die("mkdir %s: %s", target, strerror(errno));
  if (mount(src, target, type, flags, data) < 0) die("mount %s on %s: %s", type, target, strerror(errno));
}

static int read_small(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, cap - 1);
  close(fd);
  if (n < 0) return -1;
  buf[n] = 0;
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
  return (int)n;
}

/* ---------- plan ---------- */

struct step {
  const char *name;
  uint32_t timeout_ms;
  int expect_exit;
  char **argv;
  char **envp;
};

struct plan {
  uid_t uid;
  gid_t gid;
  const char *workdir;
  int readonly_root;
  uint32_t lifetime_ms;
  unsigned ntmpfs;
  const char **tmpfs;
  unsigned nsteps;
  struct step *steps;
  unsigned noutputs;
  const char **outputs;
};

static char *plan_pos, *plan_end;

static char *tok(void) {
  if (plan_pos >= plan_end) die("plan is truncated");
  char *t = plan_pos;
  char *z = memchr(plan_pos, 0, (size_t)(plan_end - plan_pos));
  if (!z) die("plan token is not terminated");
  plan_pos = z + 1;
  return t;
}

static unsigned long num(unsigned long max) {
  char *t = tok(), *end;
  errno = 0;
  unsigned long v = strtoul(t, &end, 10);
  if (*t == 0 || *end != 0 || errno || v > max) die("bad number in plan: %s", t);
  return v;
}

static char **str_list(unsigned long n) {
  char **v = calloc(n + 1, sizeof *v);
  if (!v) die("out of memory");
  for (unsigned long i = 0; i < n; i++) v[i] = tok();
  return v;
}

static void parse_plan(char *buf, uint32_t len, struct plan *p) {
  plan_pos = buf;
  plan_end = buf + len;
  if (strcmp(tok(), PLAN_VERSION) != 0) die("plan is not %s", PLAN_VERSION);
  p->uid = (uid_t)num(0xfffffffeUL);
  p->gid = (gid_t)num(0xfffffffeUL);
  p->workdir = tok();
  p->readonly_root = strcmp(tok(), "1") == 0;
  p->lifetime_ms = (uint32_t)num(0xffffffffUL);
  p->ntmpfs = (unsigned)num(4096);
  p->tmpfs = (const char **)str_list(p->ntmpfs);
  p->nsteps = (unsigned)num(0xffff);
  p->steps = calloc(p->nsteps + 1, sizeof *p->steps);
  if (!p->steps) die("out of memory");
  for (unsigned i = 0; i < p->nsteps; i++) {
    struct step *s = &p->steps[i];
    s->name = tok();
    s->timeout_ms = (uint32_t)num(0xffffffffUL);
    s->expect_exit = (int)num(255);
    unsigned long argc = num(1u << 20);
    if (argc == 0) die("step %u has an empty argv", i);
    s->argv = str_list(argc);
    s->envp = str_list(num(1u << 20));
  }
  p->noutputs = (unsigned)num(0xffff);
  p->outputs = (const char **)str_list(p->noutputs);
  if (plan_pos != plan_end) die("plan has trailing bytes");
}

static char *read_plan(uint32_t *len_out) {
  unsigned char h[12], t[4];
  if (read_exact(chan, h, 12) < 0) die("channel closed before the plan arrived");
  if (memcmp(h, "ALKF", 4) != 0 || h[4] != T_PLAN) die("expected a PLAN frame");
  uint32_t len = get_be32(h + 8);
  if (len > MAX_PAYLOAD) die("plan of %u bytes is too large", len);
  char *buf = malloc(len + 1);
  if (!buf) die("out of memory");
  if (read_exact(chan, buf, len) < 0 || read_exact(chan, t, 4) < 0) die("channel closed inside the plan");
  uint32_t crc = crc_update(crc_update(0, h + 4, 8), (unsigned char *)buf, len);
  if (crc != get_be32(t)) die("plan frame crc mismatch");
  buf[len] = 0;
  *len_out = len;
  return buf;
}

/* ---------- boot ---------- */

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Loads every module in MODULE_DIR in name order (the host numbers them in dependency order). */
static void load_modules(void) {
  DIR *d = opendir(MODULE_DIR);
  if (!d) return;
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64) {
    if (e->d_name[0] == '.') continue;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MODULE_DIR, names[i]);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open %s: %s", path, strerror(errno));
    if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST) die("load module %s: %s", names[i], strerror(errno));
    close(fd);
    console("loaded %s", names[i]);
    free(names[i]);
  }
}

/* Waits for the virtio-serial port named CHANNEL_NAME and opens it; its node is then removed. */
static void open_channel(void) {
  int64_t deadline = now_ms() + 60000;
  char dev[300] = "";
  while (!dev[0]) {
    DIR *d = opendir("/sys/class/virtio-ports");
    if (d) {
      struct dirent *e;
      while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[300], name[128];
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        if (read_small(path, name, sizeof name) > 0 && strcmp(name, CHANNEL_NAME) == 0) {
          snprintf(dev, sizeof dev, "/dev/%s", e->d_name);
          break;
        }
      }
      closedir(d);
    }
    if (dev[0] && access(dev, F_OK) == 0) break;
    dev[0] = 0;
    if (now_ms() > deadline) die("no virtio-serial port named %s appeared", CHANNEL_NAME);
    usleep(5000);
  }
  chan = open(dev, O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (chan < 0) die("open %s: %s", dev, strerror(errno));
  unlink(dev);
}

/* ext4 guest roots: the root is /dev/vda (attached with snapshot=on, so writes never reach the host). */
static void switch_to_disk_root(void) {
  int64_t deadline = now_ms() + 60000;
  while (access("/dev/vda", F_OK) != 0) {
    if (now_ms() > deadline) die("/dev/vda did not appear");
    usleep(5000);
  }
  must_mount("/dev/vda", NEWROOT, "ext4", MS_NOATIME, "");
  unlink("/dev/vda");
  /* the classic switch_root: move the new root over / and chroot into it */
  if (umount2("/dev", MNT_DETACH) < 0) die("umount /dev: %s", strerror(errno));
  if (umount2("/proc", MNT_DETACH) < 0) die("umount /proc: %s", strerror(errno));
  if (umount2("/sys", MNT_DETACH) < 0) die("umount /sys: %s", strerror(errno));
  if (chdir(NEWROOT) < 0) die("chdir %s: %s", NEWROOT, strerror(errno));
  if (mount(".", "/", NULL, MS_MOVE, NULL) < 0) die("move root: %s", strerror(errno));
  if (chroot(".") < 0 || chdir("/") < 0) die("chroot: %s", strerror(errno));
  must_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  must_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL);
}

static void make_node(const char *path, mode_t mode, unsigned maj, unsigned min) {
  if (mknod(path, S_IFCHR | mode, makedev(maj, min)) < 0) die("mknod %s: %s", path, strerror(errno));
  chmod(path, mode);
}

/* Replaces devtmpfs with a container-like /dev: no disks, no ports, no consoles of the host's. */
static void minimal_dev(void) {
  umount2("/dev", MNT_DETACH);
  must_mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m");
  make_node("/dev/null", 0666, 1, 3);
  make_node("/dev/zero", 0666, 1, 5);
  make_node("/dev/full", 0666, 1, 7);
  make_node("/dev/random", 0666, 1, 8);
  make_node("/dev/urandom", 0666, 1, 9);
  make_node("/dev/tty", 0666, 5, 0);
  must_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  if (symlink("pts/ptmx", "/dev/ptmx") < 0) die("symlink /dev/ptmx: %s", strerror(errno));
  must_mount("shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=64m");
  if (symlink("/proc/self/fd", "/dev/fd") < 0 || symlink("/proc/self/fd/0", "/dev/stdin") < 0 ||
      symlink("/proc/self/fd/1", "/dev/stdout") < 0 || symlink("/proc/self/fd/2", "/dev/stderr") < 0)
    die("symlinks in /dev: %s", strerror(errno));
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket: %s", strerror(errno));
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS lo: %s", strerror(errno));
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS lo: %s", strerror(errno));
  close(s);
}

static void prepare_root(const struct plan *p) {
  for (unsigned i = 0; i < p->ntmpfs; i++) {
    must_mount("tmpfs", p->tmpfs[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=50%");
  }
  if (p->workdir[0] && mkdir_p(p->workdir, 0755) < 0) die("mkdir %s: %s", p->workdir, strerror(errno));
  minimal_dev();
  loopback_up();
  sethostname("airlock", 7);
  if (p->readonly_root && mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0) {
    die("remount / read-only: %s", strerror(errno));
  }
}

/*
 * The guest's own deadline: if the host is gone (its controller killed), nobody reads the
 * channel and init may block forever in write(); SIGALRM interrupts that and powers off.
 * Only async-signal-safe calls here.
 */
static void lifetime_over(int sig) {
  (void)sig;
  static const char msg[] = "airlock-init: lifetime over, powering off\n";
  if (write(2, msg, sizeof msg - 1) < 0) {
  }
  kill(-1, SIGKILL);
  sync();
  reboot(RB_POWER_OFF);
  _exit(1);
}

static void arm_lifetime(uint32_t ms) {
  if (ms == 0) return;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = lifetime_over;
  sigaction(SIGALRM, &sa, NULL);
  alarm((ms + 999) / 1000);
}

/* ---------- running things ---------- */

static int last_cap(void) {
  char buf[32];
  if (read_small("/proc/sys/kernel/cap_last_cap", buf, sizeof buf) <= 0) return 63;
  return atoi(buf);
}

static int cap_last;

/* In the child: becomes its own process group, drops every capability and privilege, execs argv. */
static void exec_child(const struct plan *p, char **argv, char **envp, int out_fd, int err_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  setsid();
  int null_fd = open("/dev/null", O_RDONLY);
  if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(126);
  syscall(SYS_close_range, 3, ~0U, 0);
  for (int c = 0; c <= cap_last; c++) prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (setgroups(0, NULL) < 0 || setgid(p->gid) < 0 || setuid(p->uid) < 0) {
    dprintf(2, "airlock-init: cannot become %u:%u: %s\n", p->uid, p->gid, strerror(errno));
    _exit(126);
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  const char *dir = p->workdir[0] ? p->workdir : "/";
  if (chdir(dir) < 0) {
    dprintf(2, "airlock-init: cannot enter workdir %s: %s\n", dir, strerror(errno));
    _exit(126);
  }
  environ = envp;
  execvp(argv[0], argv);
  int e = errno;
  dprintf(2, "airlock-init: cannot run %s: %s\n", argv[0], strerror(e));
  _exit(e == ENOENT ? 127 : 126);
}

/* Kills everything but init and reaps it, so nothing of one step outlives it. */
static void kill_all(void) {
  for (;;) {
    kill(-1, SIGKILL);
    pid_t r = waitpid(-1, NULL, 0);
    if (r < 0 && errno == ECHILD) return;
  }
}

/*
 * Reaps every child that is done: the step's own process (returns 1 the moment its
 * status arrives) and orphans it left behind, which are reparented to init and would
 * otherwise pile up as zombies for as long as the step runs.
 */
static int reap(pid_t pid, int *exited, int *status) {
  int st, got = 0;
  pid_t w;
  while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
    if (w != pid || *exited) continue;
    *exited = 1;
    *status = st;
    got = 1;
  }
  return got;
}

struct run_result {
  int status; /* as from waitpid */
  int timed_out;
  int64_t duration_ms;
};

/*
 * Runs argv as a child and pumps its stdout into `out_type` frames (stream 1) and its
 * stderr into stream-2 frames, or into `err_buf` when given. timeout_ms 0 means none.
 */
static struct run_result run(const struct plan *p, char **argv, char **envp, uint32_t timeout_ms, int out_type,
                             unsigned index, char *err_buf, size_t *err_len) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) die("pipe: %s", strerror(errno));
  int64_t start = now_ms();
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) exec_child(p, argv, envp, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  if (pidfd < 0) die("pidfd_open: %s", strerror(errno));

  struct run_result r = {0, 0, 0};
  int out_open = 1, err_open = 1, exited = 0;
  static char buf[CHUNK];
  while (out_open || err_open || !exited) {
    struct pollfd fds[3];
    int nfds = 0, i_out = -1, i_err = -1;
    if (out_open) { fds[nfds] = (struct pollfd){out[0], POLLIN, 0}; i_out = nfds++; }
    if (err_open) { fds[nfds] = (struct pollfd){err[0], POLLIN, 0}; i_err = nfds++; }
    /* the pidfd only wakes us; reap() below collects the status */
    if (!exited) fds[nfds++] = (struct pollfd){pidfd, POLLIN, 0};
    /* wake at least every second to reap orphans; once the step is gone, every 100 ms */
    int wait = exited ? 100 : 1000;
    if (!exited && timeout_ms && !r.timed_out) {
      int64_t left = start + timeout_ms - now_ms();
      if (left < wait) wait = left < 0 ? 0 : (int)left;
    }
    int n = poll(fds, (nfds_t)nfds, wait);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (reap(pid, &exited, &r.status)) {
      r.duration_ms = now_ms() - start;
      /* whatever the step left running dies now, so its pipes reach EOF */
      kill(-1, SIGKILL);
    }
    if (exited && n == 0) {
      /* stragglers still hold the pipes (one forked past the last kill): again */
      kill(-1, SIGKILL);
      continue;
    }
    if (!exited && timeout_ms && !r.timed_out && now_ms() >= start + timeout_ms) {
      r.timed_out = 1;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
    }
    if (i_out >= 0 && fds[i_out].revents) {
      ssize_t k = read(out[0], buf, sizeof buf);
      if (k > 0) send_frame(out_type, 1, index, buf, (uint32_t)k);
      else if (k == 0 || errno != EINTR) { out_open = 0; close(out[0]); }
    }
    if (i_err >= 0 && fds[i_err].revents) {
      ssize_t k = read(err[0], buf, sizeof buf);
      if (k > 0) {
        if (err_buf) {
          size_t room = OUTPUT_ERR_MAX - *err_len;
          size_t take = (size_t)k < room ? (size_t)k : room;
          memcpy(err_buf + *err_len, buf, take);
          *err_len += take;
        } else {
          send_frame(T_STEP_DATA, 2, index, buf, (uint32_t)k);
        }
      } else if (k == 0 || errno != EINTR) { err_open = 0; close(err[0]); }
    }
  }
  close(pidfd);
  kill_all();
  return r;
}

static int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

int main(void) {
  crc_init();
  /* stdio on the console (ttyS0) even when the kernel found no /dev/console to give us */
  must_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
  int con = open("/dev/console", O_RDWR | O_NOCTTY);
  if (con >= 0) {
    dup2(con, 0);
    dup2(con, 1);
    dup2(con, 2);
    if (con > 2) close(con);
  }
  must_mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  must_mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  cap_last = last_cap();

  console("started");
  load_modules();
  open_channel();
  console("channel open");

  struct utsname u;
  uname(&u);
  char hello[256];
  int hn = snprintf(hello, sizeof hello, "%s %s", INIT_VERSION, u.release);
  send_frame(T_HELLO, 0, 0, hello, (uint32_t)hn);

  uint32_t plan_len;
  char *plan_buf = read_plan(&plan_len);
  struct plan plan;
  parse_plan(plan_buf, plan_len, &plan);
  arm_lifetime(plan.lifetime_ms);

  if (access(ROOTDISK_MARK, F_OK) == 0) switch_to_disk_root();
  prepare_root(&plan);
  console("ready: %u steps, %u outputs, user %u:%u", plan.nsteps, plan.noutputs, plan.uid, plan.gid);

  for (unsigned i = 0; i < plan.nsteps; i++) {
    struct step *s = &plan.steps[i];
    send_frame(T_STEP_START, 0, i, NULL, 0);
    struct run_result r = run(&plan, s->argv, s->envp, s->timeout_ms, T_STEP_DATA, i, NULL, NULL);
    int code = r.timed_out ? 137 : exit_code(r.status);
    unsigned char end[9];
    put_be32(end, (uint32_t)code);
    end[4] = (unsigned char)r.timed_out;
    put_be32(end + 5, (uint32_t)(r.duration_ms < 0 ? 0 : r.duration_ms));
    send_frame(T_STEP_END, 0, i, end, sizeof end);
    if (r.timed_out || code != s->expect_exit) break;
  }

  static char errbuf[OUTPUT_ERR_MAX + 4];
  char *env[] = {"PATH=/usr/bin:/bin", NULL};
  for (unsigned i = 0; i < plan.noutputs; i++) {
    char *argv[] = {HELPER, "tar", "-cf", "-", "-C", (char *)plan.outputs[i], ".", NULL};
    size_t elen = 0;
    struct run_result r = run(&plan, argv, env, 0, T_OUTPUT_DATA, i, errbuf + 4, &elen);
    put_be32((unsigned char *)errbuf, (uint32_t)exit_code(r.status));
    send_frame(T_OUTPUT_END, 0, i, errbuf, (uint32_t)(4 + elen));
  }

  send_frame(T_DONE, 0, 0, NULL, 0);
  /* the lifetime alarm still bounds this if the host never answers */
  await_ack(INT32_MAX);
  power_off();
  return 0;
}
