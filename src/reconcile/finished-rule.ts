// Rule 7 (finished runs): with restartPolicy Never (or OnFailure and a clean
// exit) an exited container is a finished run. A success is removed
// ttlSecondsAfterFinished after it finished, a failure failedRetentionSeconds
// after (kept for debugging until then; kept forever when unset). The remove
// carries `completed`, which the controller records so that the missing rule
// does not run the job again.
import { exitedWithFailure, hasExited } from './container.js';
import { isFinishedRun, NOTHING, type InstanceView, type RuleResult } from './rule.js';

export function finishedRule(view: InstanceView): RuleResult {
  const { container: c, desired, input } = view;
  if (!c || !hasExited(c)) return NOTHING;
  const failed = exitedWithFailure(c);
  if (!isFinishedRun(desired, failed)) return NOTHING;
  const keepSeconds = failed ? desired.spec.failedRetentionSeconds : desired.spec.ttlSecondsAfterFinished;
  const finishedAt = c.finishedAt;
  // Without a finish time there is no safe moment to remove: keep it.
  if (keepSeconds === undefined || finishedAt === undefined || !Number.isFinite(finishedAt)) return NOTHING;
  const dueAt = finishedAt + keepSeconds * 1000;
  if (input.now < dueAt) return { actions: [], deadline: dueAt };
  return {
    actions: [
      {
        type: 'remove',
        cause: failed ? 'failed retention expired' : 'ttl after finished expired',
        containerId: c.id,
        completed: {
          configHash: desired.hash.hash,
          hashVersion: desired.hash.version,
          exitCode: c.exitCode ?? -1,
          at: finishedAt,
        },
      },
    ],
  };
}
