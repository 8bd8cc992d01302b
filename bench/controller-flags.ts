// The node flags the image's ENTRYPOINT (and `npm start`) start the
// controller with: the bench measures the controller as shipped, both the
// `berth controller` child processes and the scale simulation's worker.
// --max-semi-space-size=2: V8's young generation stays at 2 MiB semi-spaces
// instead of growing to 16 during a converge and staying in RSS.
export const CONTROLLER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
