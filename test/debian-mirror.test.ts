// scripts/debian-mirror.sh: image builds take the mirror from this machine's apt sources.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../scripts/debian-mirror.sh', import.meta.url));

describe('debian-mirror.sh', () => {
  let root: string;
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function mirror(files: Record<string, string>, env: Record<string, string> = {}): Promise<string> {
    root = await mkdtemp(join(tmpdir(), 'berth-apt-'));
    await mkdir(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    for (const [path, text] of Object.entries(files)) await writeFile(join(root, path), text);
    const { BERTH_DEBIAN_MIRROR: _, ...rest } = process.env;
    return execFileSync('bash', [SCRIPT], { env: { ...rest, APT_ROOT: root, ...env }, encoding: 'utf8' }).trim();
  }

  it('reads deb822 .sources, skipping security and disabled stanzas', async () => {
    const sources = [
      'Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\nComponents: main\n',
      'Types: deb\nEnabled: no\nURIs: http://disabled.example/debian\nSuites: bookworm\n',
      '# a comment\nTypes: deb deb-src\nURIs: http://mirror.internal:3142/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n',
    ].join('\n');
    expect(await mirror({ 'etc/apt/sources.list.d/debian.sources': sources })).toBe('http://mirror.internal:3142/debian');
  });

  it('reads the one-line format with options, sources.list first', async () => {
    expect(
      await mirror({
        'etc/apt/sources.list': '# deb http://commented.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] http://ftp.fr.debian.org/debian bookworm main\n',
        'etc/apt/sources.list.d/other.sources': 'Types: deb\nURIs: http://later.example/debian\n',
      }),
    ).toBe('http://ftp.fr.debian.org/debian');
  });

  it('ignores non-Debian repositories, falls back to deb.debian.org, and the environment wins', async () => {
    expect(await mirror({ 'etc/apt/sources.list.d/node.list': 'deb https://deb.nodesource.com/node_20.x nodistro main\n' })).toBe('http://deb.debian.org/debian');
    expect(await mirror({ 'etc/apt/sources.list': 'deb http://a.example/debian bookworm main\n' }, { BERTH_DEBIAN_MIRROR: 'http://override.example/debian/' })).toBe('http://override.example/debian');
  });
});
