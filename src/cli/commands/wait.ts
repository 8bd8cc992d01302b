// `berth wait TYPE/NAME --for=condition=Ready [--timeout=30s]`: watch-based,
// exit 0 once the condition holds, 1 on timeout with the last state seen.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { KINDS } from '../../spec/schema.js';
import { ApiStatusError, UnreachableError } from '../client.js';
import { addClientOptions, addNamespaceOptions, clientOf, ioOf, namespaceOf } from '../context.js';
import { parseDuration } from '../../spec/duration.js';
import { CliError } from '../errors.js';
import { collectionPath, objectName, objectPath, parseTarget } from '../kinds.js';
import type { ApiObject } from '../objects.js';
import { evaluateWait, parseWaitFor, type WaitState } from '../wait-condition.js';

/** The controller is still loading its sources (503): ask again, as when it is away. */
const isLoading = (e: unknown): boolean => e instanceof ApiStatusError && e.httpStatus === 503;

/** Pause before watching again when the stream ends or the controller is briefly away. */
const RECONNECT_MS = 1000;

export function register(program: Command): void {
  const cmd = program
    .command('wait')
    .description('wait until a resource meets a condition (or is deleted)')
    .argument('<target>', 'TYPE/NAME, e.g. instance/web')
    .argument('[name]', 'name, when TYPE is given on its own')
    .requiredOption('--for <condition>', 'condition=NAME[=STATUS] (STATUS defaults to True), or delete')
    .option('--timeout <duration>', 'give up after this long (e.g. 60s, 2m); an object that does not exist yet, or a controller not answering yet, is waited for within it', '30s');
  addNamespaceOptions(cmd);
  addClientOptions(cmd).action(async (target: string, nameArg: string | undefined, flags: { for: string; timeout: string }, cmd: Command) => {
    const io = ioOf(cmd);
    const { kind, name } = parseTarget(target, nameArg);
    if (name === undefined) throw new CliError(`which one: berth wait ${target}/NAME --for=${flags.for}`);
    const want = parseWaitFor(flags.for);
    let timeoutMs: number;
    try {
      timeoutMs = parseDuration(flags.timeout);
    } catch (e) {
      throw new CliError(`--timeout: ${(e as Error).message}`);
    }
    const namespace = namespaceOf(cmd) ?? 'default';
    const client = await clientOf(cmd);
    const shown = `${KINDS[kind].singular}/${name}`;

    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), timeoutMs);
    io.interrupted?.addEventListener('abort', () => stop.abort(), { once: true });

    // An object that does not exist yet (a spec file just written, a controller still starting) is waited for.
    let state: WaitState = evaluateWait(undefined, want);
    let unreachable = false;
    try {
      state = evaluateWait(await client.get<ApiObject>(objectPath(kind, namespace, name), undefined, stop.signal), want);
    } catch (e) {
      if (e instanceof UnreachableError || isLoading(e)) unreachable = e instanceof UnreachableError;
      else if (!stop.signal.aborted && !(e instanceof ApiStatusError && e.httpStatus === 404)) {
        clearTimeout(timer);
        throw e;
      }
    }
    try {
      // Without a resourceVersion the watch opens with the object's current state, so nothing falls between GET and watch.
      while (!state.met && !stop.signal.aborted) {
        try {
          await client.watch<ApiObject>(
            collectionPath(kind, namespace),
            { fieldSelector: `metadata.name=${name}` },
            (e) => {
              unreachable = false;
              state = evaluateWait(e.type === 'DELETED' ? undefined : e.object, want);
              if (state.met) stop.abort();
            },
            stop.signal,
          );
        } catch (e) {
          if (!(e instanceof UnreachableError) && !isLoading(e)) throw e;
          unreachable = e instanceof UnreachableError; // the controller may be starting or restarting: keep trying until the timeout
        }
        if (!state.met && !stop.signal.aborted) await sleep(RECONNECT_MS, undefined, { signal: stop.signal }).catch(() => undefined);
      }
    } finally {
      clearTimeout(timer);
    }
    if (!state.met) {
      const why = unreachable ? `${state.summary}; the controller stopped answering` : state.summary;
      throw new CliError(`timed out waiting for the condition on ${shown} (${why})`);
    }
    io.out(`${objectName(kind, name)} condition met\n`);
  });
}
