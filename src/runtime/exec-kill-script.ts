// The exec timeout kill, shared by the Docker and Pod runtimes (neither engine
// can kill an exec): run as `sh -c KILL_SCRIPT BERTH_EXEC_ID <marker>`.
//
// Kills every process (but itself) whose environment carries the marker.
// Each match is stopped (SIGSTOP) as soon as it is found and killed only when
// no new one appears: killing a child first would let its parent shell run on
// (a `cmd; echo more` would print). environ is NUL-separated and busybox grep
// ends a line at the first NUL, hence tr. kill is a shell builtin.
export const KILL_SCRIPT = [
  'm="$0=$1"; self=$$; pids=',
  'for pass in 1 2 3 4 5; do',
  '  new=',
  '  for d in /proc/[0-9]*; do',
  '    p=${d#/proc/}',
  '    [ "$p" = "$self" ] && continue',
  '    case " $pids " in *" $p "*) continue ;; esac',
  '    if tr "\\0" "\\n" <"$d/environ" 2>/dev/null | grep -qxF "$m"; then kill -STOP "$p" 2>/dev/null; new="$new $p"; fi',
  '  done',
  '  [ -n "$new" ] || break',
  '  pids="$pids$new"',
  'done',
  '[ -z "$pids" ] || kill -9 $pids 2>/dev/null',
  'exit 0',
].join('\n');
