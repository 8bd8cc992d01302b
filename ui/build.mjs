// Bundles the status page into dist/ui/ (index.html, app.js, app.css) with
// esbuild: Preact and uPlot are compiled in, so the page loads nothing from
// anywhere but the controller (no CDN; it works offline).
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../dist/ui/');
await mkdir(out, { recursive: true });
await build({
  entryPoints: { app: here('src/main.tsx') },
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  loader: { '.css': 'css' },
  logLevel: 'warning',
  legalComments: 'none',
});
await copyFile(here('index.html'), `${out}index.html`);
