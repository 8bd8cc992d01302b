// `berth cp SRC DST`, like kubectl cp / docker cp: one side is INSTANCE:PATH
// (an Instance, or a claimed pool member `<pool>-<member>`), the other a local
// path. Files and directories travel as a tar through the controller's API
// (.../instances/{name}/archive), checked at both ends (src/archive).
import { posix } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_ARCHIVE_LIMIT_BYTES } from '../../archive/limits.js';
import { parseMemory } from '../../spec/quantity.js';
import { addClientOptions, addNamespaceOptions, clientOf, namespaceOf } from '../context.js';
import { CliError } from '../errors.js';
import { objectPath } from '../kinds.js';
import { extractLocal, packLocal } from '../local-archive.js';

export interface RemotePath {
  instance: string;
  path: string;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** "runner-x:/work" -> {instance, path}; a local path (./a, /a, a, C:\a) -> undefined. */
export function parseRemote(arg: string): RemotePath | undefined {
  const i = arg.indexOf(':');
  if (i <= 0) return undefined;
  const name = arg.slice(0, i);
  if (!NAME.test(name) || name.length === 1) return undefined; // "c:\x" is a drive, not an instance
  const path = arg.slice(i + 1);
  if (path === '') throw new CliError(`${arg}: give a path in the container after the colon, e.g. ${name}:/work`);
  return { instance: name, path };
}

/** Relative container paths are relative to / (the API takes absolute ones). */
const absolute = (p: string): string => posix.normalize(p.startsWith('/') ? p : `/${p}`);

export function register(program: Command): void {
  const cmd = program
    .command('cp')
    .description('copy files and directories in and out of a container: berth cp ./src runner-x:/work, berth cp runner-x:/work/out.txt .')
    .argument('<src>', 'a local path, or INSTANCE:PATH')
    .argument('<dst>', 'a local path, or INSTANCE:PATH')
    .option('--max-size <quantity>', 'refuse archives larger than this (the controller has its own --max-copy-size)', '64Mi');
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (src: string, dst: string, flags: { maxSize: string }, cmd: Command) => {
    const maxBytes = parseMemory(flags.maxSize) ?? DEFAULT_ARCHIVE_LIMIT_BYTES;
    const from = parseRemote(src);
    const to = parseRemote(dst);
    if (from && to) throw new CliError('copying between two containers is not supported: copy to a local directory first');
    if (!from && !to) throw new CliError('one of SRC and DST must be INSTANCE:PATH (e.g. berth cp ./src runner-x:/work)');
    const namespace = namespaceOf(cmd) ?? 'default';
    const client = await clientOf(cmd);
    if (to) {
      const { archive } = await packLocal(src, maxBytes);
      await client.requestBytes('PUT', objectPath('Instance', namespace, to.instance, 'archive'), {
        query: { path: absolute(to.path) },
        body: archive,
        contentType: 'application/x-tar',
      });
      return;
    }
    const remote = from!;
    const { body } = await client.requestBytes('GET', objectPath('Instance', namespace, remote.instance, 'archive'), { query: { path: absolute(remote.path) } });
    await extractLocal(body, dst, maxBytes, `the archive of ${remote.instance}:${remote.path}`);
  });
}
