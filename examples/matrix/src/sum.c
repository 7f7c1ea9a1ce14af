/* sum N: the sum of squares 1..N, the same under every optimisation level (or it is a bug). */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fputs("usage: sum N\n", stderr);
    return 2;
  }
  long n = strtol(argv[1], NULL, 10);
  unsigned long long total = 0;
  for (long i = 1; i <= n; i++) total += (unsigned long long)i * (unsigned long long)i;
  printf("sum=%llu\n", total);
  return 0;
}
