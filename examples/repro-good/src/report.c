/*
 * report DATA_DIR OUT_DIR: writes outputs that are the same bit for bit wherever,
 * whenever and by whomever it runs.
 *   - dates come from SOURCE_DATE_EPOCH, formatted in UTC (never the clock, never TZ);
 *   - directory listings are sorted in byte order (strcmp: what LC_ALL=C sort does),
 *     never in readdir order or the locale's;
 *   - files get an explicit mode (fchmod), never whatever the umask leaves;
 *   - nothing names the host, the user or the working directory.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENTRIES 1024

static void die(const char *what) {
  perror(what);
  exit(1);
}

static FILE *create(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die(path);
  if (fchmod(fd, 0644) != 0) die(path);
  FILE *f = fdopen(fd, "w");
  if (f == NULL) die(path);
  return f;
}

static int by_bytes(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fputs("usage: report DATA_DIR OUT_DIR\n", stderr);
    return 2;
  }
  const char *data = argv[1], *out = argv[2];

  const char *sde = getenv("SOURCE_DATE_EPOCH");
  time_t release = sde != NULL ? (time_t)strtoll(sde, NULL, 10) : 0;
  struct tm tm;
  char when[64];
  gmtime_r(&release, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);

  FILE *info = create(out, "build-info.txt");
  fprintf(info, "compiled %s %s from %s\n", __DATE__, __TIME__, __FILE__);
  fprintf(info, "release %s\n", when);
  if (fclose(info) != 0) die("build-info.txt");

  DIR *d = opendir(data);
  if (d == NULL) die(data);
  char *names[MAX_ENTRIES];
  size_t n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (n == MAX_ENTRIES) break;
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof names[0], by_bytes);

  FILE *inv = create(out, "inventory.txt");
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", data, names[i]);
    if (stat(path, &st) != 0) die(path);
    unsigned long sum = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL) die(path);
    for (int c; (c = fgetc(f)) != EOF;) sum = sum * 31 + (unsigned char)c;
    fclose(f);
    fprintf(inv, "%s %lld %08lx\n", names[i], (long long)st.st_size, sum & 0xffffffffUL);
  }
  if (fclose(inv) != 0) die("inventory.txt");
  fprintf(stderr, "wrote %s/build-info.txt and %s/inventory.txt (%zu entries)\n", out, out, n);
  return 0;
}
