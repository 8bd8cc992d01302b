// The few commands a memory container answers when no test scripted its exec:
// the ones the runtime contract and typical exec probes use. Anything else is
// "not found" (127), as a shell says; tests script the rest (onExec).

export interface ExecAnswer {
  exitCode: number;
  stdout?: string;
  stderr?: string;
}

/** `sh -c "exit N"`, `true`, `false`, `echo ...`, `cat` (echoes stdin); else 127. */
export function builtinExec(command: readonly string[], stdin: string): ExecAnswer {
  const [program, ...args] = command;
  if ((program === 'sh' || program === '/bin/sh') && args[0] === '-c' && args.length === 2) {
    const exit = /^\s*exit\s+(\d{1,3})\s*$/.exec(args[1]!);
    if (exit) return { exitCode: Number(exit[1]) & 0xff };
  }
  switch (program) {
    case 'true':
      return { exitCode: 0 };
    case 'false':
      return { exitCode: 1 };
    case 'echo':
      return { exitCode: 0, stdout: `${args.join(' ')}\n` };
    case 'cat':
      if (args.length === 0) return { exitCode: 0, stdout: stdin };
      break;
  }
  return { exitCode: 127, stderr: `sh: ${program ?? ''}: not found\n` };
}

/** A container whose command is `sh -c "exit N"` ends at once with N, as on a real engine; others run until stopped. */
export function builtinExitCode(command: readonly string[]): number | undefined {
  if (command.length !== 3 || (command[0] !== 'sh' && command[0] !== '/bin/sh') || command[1] !== '-c') return undefined;
  const exit = /^\s*exit\s+(\d{1,3})\s*$/.exec(command[2]!);
  return exit ? Number(exit[1]) & 0xff : undefined;
}
