// The CLI as bin/airlock runs it: src/cli/main.ts bundled by esbuild into dist/airlock/
// (issue 12, item 1: start-up). Why: Node resolves, reads and compiles every ES module on
// its own, and verify's imports were ~390 modules (234 of them zod's) — a third of its
// start-up. Bundled, the same code is a handful of files. `npm run build` runs this after tsc
// (which still writes dist/ for type-checking and as bin/airlock's fallback).
//
// What stays as it was:
// - each command's body is still loaded only when it runs: code splitting keeps every
//   dynamic import() a chunk of its own, so --help never compiles verify's code;
// - every npm package but zod stays external (loaded from node_modules as before), so what
//   a command loads is still visible by package path (test/cli.test.ts) and native or
//   dynamic-require packages (better-sqlite3, ssh2) work unchanged;
// - `import.meta.url` in each module means the file tsc would have written
//   (dist/<dir>/<name>.js), so paths computed from it (package.json, locks/, src/vm/init/) are
//   the same bundled or not;
// - source maps point at src/*.ts (`node --enable-source-maps`, or AIRLOCK_DEBUG=1).
// dist/airlock/meta.json (esbuild's metafile) says which sources each chunk holds.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'dist/airlock');
const SRC = join(ROOT, 'src');

/** Packages compiled into the bundle; every other bare import stays a runtime import from node_modules. */
const BUNDLED = /^zod(\/|$)/;

const plugin = {
  name: 'airlock',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith('node:') || !BUNDLED.test(args.path)) return { path: args.path, external: true };
      return undefined;
    });
    // zod's classic API re-exports all ~60 message locales as `z.locales`, which airlock never
    // uses (its messages are English, set by zod itself from locales/en.js, which stays).
    build.onLoad({ filter: /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, () => ({ contents: 'export {};', loader: 'js' }));
    // Each source keeps its own import.meta.url: the URL of its tsc output, from the chunk's.
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      let contents = await readFile(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const asCompiled = relative(OUT, join(ROOT, 'dist', relative(SRC, args.path))).replace(/\\/g, '/').replace(/\.ts$/, '.js');
        contents = contents.replaceAll('import.meta.url', `new URL(${JSON.stringify(asCompiled)}, import.meta.url).href`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

// Built beside and swapped in whole, so a CLI started meanwhile never sees half old, half new chunks.
const next = `${OUT}.new-${process.pid}`;
const result = await esbuild.build({
  entryPoints: { main: join(SRC, 'cli/main.ts') },
  outdir: next,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  metafile: true,
  plugins: [plugin],
  logLevel: 'warning',
});
// the metafile names outputs where they were built; name them where they end up
const built = relative(ROOT, next).replace(/\\/g, '/');
await writeFile(join(next, 'meta.json'), JSON.stringify(result.metafile).replaceAll(`"${built}/`, `"${relative(ROOT, OUT).replace(/\\/g, '/')}/`));
const old = `${OUT}.old-${process.pid}`;
await rename(OUT, old).catch((e) => {
  if (e.code !== 'ENOENT') throw e;
});
await rename(next, OUT);
await rm(old, { recursive: true, force: true });
