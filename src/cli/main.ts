#!/usr/bin/env node
// The `berth` command (bin/berth.js imports the built copy of this file).
// Each command lives in commands/<verb>.ts and exports register(program); add
// new ones to COMMANDS.
import { register as apply } from './commands/apply.js';
import { register as claim } from './commands/claim.js';
import { register as controller } from './commands/controller.js';
import { register as cp } from './commands/cp.js';
import { register as crds } from './commands/crds.js';
import { register as deleteCommand } from './commands/delete.js';
import { register as describe } from './commands/describe.js';
import { register as diff } from './commands/diff.js';
import { register as events } from './commands/events.js';
import { register as exec } from './commands/exec.js';
import { register as get } from './commands/get.js';
import { register as logs } from './commands/logs.js';
import { register as release } from './commands/release.js';
import { register as validate } from './commands/validate.js';
import { register as wait } from './commands/wait.js';
import { run, type Register } from './program.js';

const COMMANDS: readonly Register[] = [controller, apply, deleteCommand, get, describe, wait, diff, validate, claim, release, exec, cp, logs, events, crds];

// `berth get inst | head -1`: a closed pipe ends the output, not with a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

const code = await run(process.argv, COMMANDS);
// A command may also have set process.exitCode itself (diff does): never lower it.
if (code !== 0) process.exitCode = code;
