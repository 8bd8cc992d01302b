// Follow-up work of a claim's bind (the pool's top-up, the claim's own
// reconcile, the Bound event and metrics) runs once the controller has let go
// of the CPU, not merely after the answer's promise continuations. A client on
// the same host (a sandbox service calling berth over loopback) is woken by
// the answer and is often scheduled on the controller's core (the kernel puts
// a wakee beside its waker): with setImmediate it waited there until the
// top-up reconcile was done, 0.8 ms at the median over warm claims timed on
// both sides (controller and client share CLOCK_MONOTONIC).
// So the work waits for the turn of the event loop that sends the answer to
// end (setImmediate: a claim that binds at once is answered in the same turn
// as its durable write), then 1 ms more, during which the loop sleeps and the
// client reads its answer at once (0.05 ms when the two are pinned apart,
// 0.2 ms at the median when not). The top-up starts 1 ms later, beside a
// container create of ~100 ms.
//
// The timer is Node's, not the Clock's (src/time/clock.ts): it yields the CPU
// to another process, as setImmediate yields a turn, and means nothing in the
// controller's own time, so a FakeClock must not hold it back.
const AFTER_ANSWER_MS = 1;

export function afterAnswer(work: () => void): void {
  setImmediate(() => setTimeout(work, AFTER_ANSWER_MS));
}
