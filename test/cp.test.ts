// `berth cp` end to end: the CLI and the controller process on the real
// engine, into and out of an Instance and a claimed pool member; traversal and
// oversize archives refused with a clear error; nothing lost on the way.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { TEST_IMAGE } from './support/engine.js';
import { freePort, instanceYaml, killController, removeDirs, runCli, spawnController, testDirs, writeSpec, type ControllerProcess, type TestDirs } from './support/controller.js';

const API = '/apis/berth.dev/v1alpha1/namespaces/default';
const LIMIT = 256 * 1024;
const pool = {
  apiVersion: 'berth.dev/v1alpha1',
  kind: 'InstancePool',
  metadata: { name: 'boxes' },
  spec: {
    minReady: 1,
    maxSize: 2,
    template: { image: TEST_IMAGE, command: ['sh', '-c', "trap 'exit 0' TERM; sleep 3600 & wait"], network: 'none', stopGracePeriodSeconds: 1 },
  },
};

async function rawTar(entries: Array<Partial<tar.Header> & { name: string; body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  pack.on('data', (c: unknown) => void out.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.once('end', () => r()));
  for (const { body, ...h } of entries) pack.entry(h as tar.Header, body ?? '');
  pack.finalize();
  await ended;
  return Buffer.concat(out);
}

/** Every file under dir with its sha256, mode and link target: what "nothing lost" compares. */
async function manifest(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(join(dir, rel))).sort()) {
    const p = join(rel, name);
    const full = join(dir, p);
    const st = await import('node:fs/promises').then((fs) => fs.lstat(full));
    if (st.isSymbolicLink()) out[p] = `link ${await readlink(full)}`;
    else if (st.isDirectory()) Object.assign(out, { [p]: `dir ${(st.mode & 0o777).toString(8)}` }, await manifest(dir, p));
    else out[p] = `file ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(await readFile(full)).digest('hex')}`;
  }
  return out;
}

describe.skipIf(noEngine())('berth cp through the controller process', () => {
  let d: TestDirs;
  let proc: ControllerProcess;
  let env: Record<string, string>;
  const cli = (...args: string[]) => runCli(args, env);

  beforeAll(async () => {
    d = await testDirs();
    await writeSpec(d, 'box.yaml', instanceYaml('box'));
    // Hardened like the sandboxes: read-only root, a tmpfs /tmp, not root. The engine's archive API
    // cannot write here, so berth goes through tar over exec.
    await writeSpec(d, 'locked.yaml', instanceYaml('locked', { user: '65534', security: { readOnlyRootFilesystem: true }, mounts: [{ type: 'tmpfs', target: '/tmp' }] }));
    await writeSpec(d, 'pool.yaml', JSON.stringify(pool) + '\n');
    proc = await spawnController(d, await freePort(), ['--max-copy-size', String(LIMIT)]);
    env = { BERTH_SERVER: proc.server };
    await eventually('box running', async () => {
      const r = await fetch(`${proc.server}${API}/instances/box`).catch(() => undefined);
      const s = r?.ok ? ((await r.json()) as { status?: { phase?: string } }).status : undefined;
      return s?.phase === 'Ready' || s?.phase === 'Running' ? true : undefined;
    }, 60_000);
  });

  afterAll(async () => {
    await killController(proc);
    if (d) await removeDirs(d);
  });

  it('copies a directory in and back out, and a single file out, losing nothing', async () => {
    const src = join(d.root, 'src');
    await mkdir(join(src, 'nested/deeper'), { recursive: true });
    await writeFile(join(src, 'main.py'), 'print("hi")\n', { mode: 0o755 });
    await writeFile(join(src, 'nested/data.bin'), Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 31) & 0xff)));
    await writeFile(join(src, 'nested/deeper/empty'), '');
    await writeFile(join(src, 'name with spaces ünïcode.txt'), 'x');
    await symlink('../main.py', join(src, 'nested/link'));
    const before = await manifest(src);

    const put = await cli('cp', src, 'box:/tmp/work');
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const ls = await cli('exec', 'box', '--', 'sh', '-c', 'cd /tmp/work && find . | sort && cat main.py');
    expect(ls.stdout).toContain('./nested/deeper/empty\n');
    expect(ls.stdout).toContain('print("hi")');

    // Into an existing directory: the tree lands under its own name.
    expect((await cli('cp', src, 'box:/tmp')).code).toBe(0);
    expect((await cli('exec', 'box', '--', 'test', '-f', '/tmp/src/nested/data.bin')).code).toBe(0);

    const back = join(d.root, 'back');
    const get = await cli('cp', 'box:/tmp/work', back);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    expect(await manifest(back)).toEqual(before);

    await cli('exec', 'box', '--', 'sh', '-c', 'echo result=42 > /tmp/out.txt');
    const here = join(d.root, 'here');
    await mkdir(here);
    expect((await cli('cp', 'box:/tmp/out.txt', here)).code).toBe(0);
    expect(await readFile(join(here, 'out.txt'), 'utf8')).toBe('result=42\n');
  });

  it('copies into and out of a read-only root with a tmpfs (tar over exec), as the container user', async () => {
    await eventually('locked running', async () => {
      const r = await fetch(`${proc.server}${API}/instances/locked`).catch(() => undefined);
      const s = r?.ok ? ((await r.json()) as { status?: { containerId?: string; phase?: string } }).status : undefined;
      return s?.containerId && s.phase !== 'Creating' ? true : undefined;
    }, 60_000);
    const src = join(d.root, 'src');
    const before = await manifest(src);
    const put = await cli('cp', src, 'locked:/tmp/work');
    expect(put.stderr).toBe('');
    const owner = await cli('exec', 'locked', '--', 'sh', '-c', 'stat -c %u /tmp/work/main.py');
    expect(owner.stdout.trim()).toBe('65534');
    const back = join(d.root, 'back-locked');
    expect((await cli('cp', 'locked:/tmp/work', back)).code).toBe(0);
    expect(await manifest(back)).toEqual(before);
    const ro = await cli('cp', join(src, 'main.py'), 'locked:/etc/main.py');
    expect(ro.code).toBe(1);
    expect(ro.stderr).toMatch(/Read-only file system|Permission denied/i);
  });

  it('works on a claimed pool member addressed as <pool>-<member>', async () => {
    const claimed = await cli('claim', 'boxes', '--ttl', '5m');
    expect(claimed.code, claimed.stderr).toBe(0);
    const member = await eventually('the bound member', async () => {
      const r = await fetch(`${proc.server}${API}/instanceclaims`);
      const items = ((await r.json()) as { items: Array<{ status?: { instance?: string } }> }).items;
      return items.find((c) => c.status?.instance)?.status?.instance;
    }, 30_000);
    const file = join(d.root, 'job.sh');
    await writeFile(file, 'echo from-the-host\n');
    expect((await cli('cp', file, `${member}:/tmp/job.sh`)).code).toBe(0);
    expect((await cli('exec', member, '--', 'sh', '/tmp/job.sh')).stdout).toBe('from-the-host\n');
    await cli('exec', member, '--', 'sh', '-c', 'echo done > /tmp/report.txt');
    expect((await cli('cp', `${member}:/tmp/report.txt`, join(d.root, 'report.txt'))).code).toBe(0);
    expect(await readFile(join(d.root, 'report.txt'), 'utf8')).toBe('done\n');
  });

  it('refuses traversal entries in an upload, and writes nothing', async () => {
    for (const [entries, message] of [
      [[{ name: 'ok.txt', body: 'fine' }, { name: '../../etc/evil', body: 'x' }], 'entry "../../etc/evil" contains ".."'],
      [[{ name: '/etc/evil', body: 'x' }], 'entry "/etc/evil" has an absolute path'],
      [[{ name: 'l', type: 'symlink', linkname: '/etc' }], 'entry "l" links to the absolute path "/etc", outside the copied tree'],
    ] as const) {
      const r = await fetch(`${proc.server}${API}/instances/box/archive?path=/tmp`, { method: 'PUT', headers: { 'Content-Type': 'application/x-tar' }, body: await rawTar(entries as never) });
      expect(r.status).toBe(400);
      expect(((await r.json()) as { message: string }).message).toContain(message);
    }
    expect((await cli('exec', 'box', '--', 'sh', '-c', 'test ! -e /tmp/ok.txt && test ! -e /etc/evil && test ! -e /tmp/l')).code).toBe(0);
  });

  it('refuses a container archive with a link out of the tree, and never writes through links locally', async () => {
    await cli('exec', 'box', '--', 'sh', '-c', 'mkdir -p /tmp/hostile && ln -sf /etc /tmp/hostile/escape && echo x > /tmp/hostile/f');
    const dest = join(d.root, 'hostile-dest');
    const r = await cli('cp', 'box:/tmp/hostile', dest);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('entry "hostile/escape" links to the absolute path "/etc", outside the copied tree');
    await expect(stat(dest)).rejects.toThrow(/ENOENT/);
  });

  it('refuses oversize archives both ways with a clear error', async () => {
    const big = join(d.root, 'big.bin');
    await writeFile(big, Buffer.alloc(LIMIT + 1));
    const up = await cli('cp', '--max-size', '10Mi', big, 'box:/tmp/big.bin');
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/RequestEntityTooLarge.*larger than the limit of 262144 bytes/);
    expect((await cli('exec', 'box', '--', 'test', '!', '-e', '/tmp/big.bin')).code).toBe(0);

    await cli('exec', 'box', '--', 'sh', '-c', `head -c ${LIMIT + 1} /dev/zero > /tmp/big.out`);
    const down = await cli('cp', 'box:/tmp/big.out', join(d.root, 'big.out'));
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/RequestEntityTooLarge.*the archive of \/tmp\/big.out is larger than the limit of 262144 bytes/);
  });

  it('clear errors: a missing path, a missing parent, a missing instance', async () => {
    const missing = await cli('cp', 'box:/nope/x', join(d.root, 'x'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no such file or directory: /nope/x in instance "box"');
    const parent = await cli('cp', join(d.root, 'report.txt'), 'box:/nope/deeper/x');
    expect(parent.stderr).toContain('the directory /nope/deeper does not exist in the container');
    const nobody = await cli('cp', join(d.root, 'report.txt'), 'ghost:/tmp');
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toMatch(/NotFound/);
  });
});
