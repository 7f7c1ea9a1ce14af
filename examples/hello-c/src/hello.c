/* hello: the smallest program worth sealing. Greets, and with --out writes a report file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void) {
  fputs("usage: hello [--greet NAME] [--out FILE]\n", stderr);
  return 2;
}

int main(int argc, char **argv) {
  const char *name = "world";
  const char *out = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--greet") == 0 && i + 1 < argc) name = argv[++i];
    else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
    else return usage();
  }
  printf("hello, %s!\n", name);
  printf("built with airlock: sealed, signed, verifiable.\n");
  if (out != NULL) {
    FILE *f = fopen(out, "w");
    if (f == NULL) { perror(out); return 1; }
    fprintf(f, "greeting=%s\n", name);
    for (int i = 0; i < 16; i++) fprintf(f, "square[%d]=%d\n", i, i * i);
    if (fclose(f) != 0) { perror(out); return 1; }
    fprintf(stderr, "wrote %s\n", out);
  }
  return 0;
}
