// The apiserver's refusal of a write made through berth's API, with its status
// code kept for the API's answer. Its own file, free of the Kubernetes client:
// the HTTP API checks for it in every mode, and importing the writer for it
// loaded @kubernetes/client-node (~70 MiB of RSS) into a standalone controller.
export class ApiServerRefusal extends Error {
  override readonly name = 'ApiServerRefusal';
  constructor(
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
