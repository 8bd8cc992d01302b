// `berth crds [--output-dir DIR]`: the CustomResourceDefinitions generated from
// the schemas, as one YAML stream on stdout (`berth crds | kubectl apply -f -`)
// or as the files of crds/ (`node bin/berth.js crds --output-dir crds`).
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { GROUP } from '../../spec/schema.js';
import { renderCrdFiles, renderCrdsYaml } from '../../spec/crd.js';
import { ioOf } from '../context.js';

export function register(program: Command): void {
  program
    .command('crds')
    .description('print the CustomResourceDefinitions generated from the schemas (or write them, one file each)')
    .option('-o, --output-dir <dir>', 'write one file per CRD and a Kustomization into this directory instead')
    .action(async (opts: { outputDir?: string }, cmd: Command) => {
      const io = ioOf(cmd);
      if (opts.outputDir === undefined) {
        io.out(renderCrdsYaml());
        return;
      }
      const files = await writeCrdFiles(opts.outputDir);
      for (const f of files) io.out(`wrote ${join(opts.outputDir, f)}\n`);
    });
}

/**
 * Writes the generated files into dir and removes CRD files of this group that
 * are no longer generated (a kind that was dropped); returns the names written.
 */
export async function writeCrdFiles(dir: string): Promise<string[]> {
  const files = renderCrdFiles();
  await mkdir(dir, { recursive: true });
  for (const existing of await readdir(dir)) {
    if (existing.startsWith(`${GROUP}_`) && existing.endsWith('.yaml') && !files.has(existing)) await rm(join(dir, existing));
  }
  for (const [name, text] of files) await writeFile(join(dir, name), text);
  return [...files.keys()];
}
