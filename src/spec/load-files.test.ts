// Spec directories as a careless or hostile user lays them out: links out of
// the directory, device and proc files, pipes, huge files, invalid UTF-8.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSpecPaths } from './load.js';

const spec = (name: string): string => `apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: ${name}\nspec:\n  image: x\n`;

describe('loadSpecPaths: only regular files inside the directory', () => {
  let root: string;
  let dir: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'berth-load-'));
    dir = join(root, 'specs');
    await mkdir(dir);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const load = async () => {
    const r = await loadSpecPaths([dir]);
    return { names: r.resources.map((x) => x.resource.metadata.name), errors: r.errors.map((e) => e.format()) };
  };

  it('refuses links out of the directory (to /proc, /etc/passwd, a file or a tree outside) without reading them', async () => {
    await writeFile(join(dir, 'ok.yaml'), spec('ok'));
    await writeFile(join(root, 'outside.yaml'), spec('outside'));
    await mkdir(join(root, 'tree'));
    await writeFile(join(root, 'tree', 'deep.yaml'), spec('deep'));
    await symlink('/proc/self/environ', join(dir, 'environ.yaml'));
    await symlink('/proc/self/pagemap', join(dir, 'pagemap.yaml'));
    await symlink('/etc/passwd', join(dir, 'passwd.yaml'));
    await symlink(join(root, 'outside.yaml'), join(dir, 'out.yaml'));
    await symlink(join(root, 'tree'), join(dir, 'tree'));
    const { names, errors } = await load();
    expect(names).toEqual(['ok']);
    expect(errors).toHaveLength(5);
    for (const e of errors) expect(e).toMatch(/outside the spec directory .*links out of the directory are not followed/);
    // Nothing of what the links point at appears in a message.
    expect(errors.join('\n')).not.toMatch(/root:|PATH=|HOME=/);
  });

  it('follows links that stay inside (a ConfigMap volume: file -> ..data/file)', async () => {
    await mkdir(join(dir, '..2026_01_01'));
    await writeFile(join(dir, '..2026_01_01', 'web.yaml'), spec('web'));
    await symlink('..2026_01_01', join(dir, '..data'));
    await symlink(join('..data', 'web.yaml'), join(dir, 'web.yaml'));
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub', 'a.yaml'), spec('a'));
    await symlink('sub', join(dir, 'alias'));
    const { names, errors } = await load();
    expect(errors).toEqual([]);
    expect(names.sort()).toEqual(['a', 'web']);
  });

  it('refuses a pipe named *.yaml without opening it (opening would block)', async () => {
    execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    await writeFile(join(dir, 'ok.yaml'), spec('ok'));
    const { names, errors } = await load();
    expect(names).toEqual(['ok']);
    expect(errors).toEqual([expect.stringMatching(/pipe\.yaml: not a regular file or directory/)]);
  });

  it('checks the size before reading', async () => {
    await writeFile(join(dir, 'big.yaml'), Buffer.alloc(2 * 1024 * 1024, 0x20));
    const { errors } = await load();
    expect(errors).toEqual([expect.stringMatching(/big\.yaml: file is too large \(2097152 bytes; the limit is 1048576\)/)]);
  });

  it('refuses invalid UTF-8 with the line and column', async () => {
    await writeFile(join(dir, 'bad.yaml'), Buffer.concat([Buffer.from(spec('bad') + '  user: "a'), Buffer.from([0xff, 0xfe]), Buffer.from('"\n')]));
    const { names, errors } = await load();
    expect(names).toEqual([]);
    expect(errors).toEqual([expect.stringMatching(/bad\.yaml:7: not valid UTF-8 \(byte 0xff at column 11\)/)]);
  });

  it('a file named explicitly may live anywhere, but must still be regular', async () => {
    await writeFile(join(root, 'outside.yaml'), spec('outside'));
    const r = await loadSpecPaths([join(root, 'outside.yaml'), '/dev/zero']);
    expect(r.resources.map((x) => x.resource.metadata.name)).toEqual(['outside']);
    expect(r.errors.map((e) => e.format())).toEqual(['/dev/zero: not a regular file or directory (devices, pipes and sockets are not read)']);
  });
});

describe('loadSpecPaths with a parse cache', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-load-cache-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reuses what an unchanged file parsed to, parses a changed one, and forgets a removed one', async () => {
    await writeFile(join(dir, 'a.yaml'), spec('a'));
    await writeFile(join(dir, 'b.yaml'), spec('b'));
    const cache = new Map<string, { stamp: string; parsed: unknown }>();
    const first = await loadSpecPaths([dir], { parseCache: cache });
    expect(cache.size).toBe(2);
    const again = await loadSpecPaths([dir], { parseCache: cache, reuseParsed: true });
    expect(again.resources.map((r) => r.resource)).toEqual(first.resources.map((r) => r.resource));
    // The very objects: nothing was parsed again.
    expect(again.resources[0]!.resource).toBe(first.resources[0]!.resource);

    await writeFile(join(dir, 'b.yaml'), spec('b-renamed'));
    await rm(join(dir, 'a.yaml'));
    const changed = await loadSpecPaths([dir], { parseCache: cache, reuseParsed: true });
    expect(changed.resources.map((r) => r.resource.metadata.name)).toEqual(['b-renamed']);
    expect(cache.size).toBe(1);
  });

  it('parses everything again without reuseParsed (a reload a watch event asked for)', async () => {
    await writeFile(join(dir, 'a.yaml'), spec('a'));
    const cache = new Map<string, { stamp: string; parsed: unknown }>();
    const first = await loadSpecPaths([dir], { parseCache: cache });
    const fresh = await loadSpecPaths([dir], { parseCache: cache });
    expect(fresh.resources[0]!.resource).not.toBe(first.resources[0]!.resource);
    expect(fresh.resources[0]!.resource).toEqual(first.resources[0]!.resource);
  });
});
