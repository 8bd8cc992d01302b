// metav1.Status bodies and field errors, shaped like the ones
// k8s.io/apimachinery/pkg/api/errors and .../util/validation/field produce.

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code: number;
}

/** A request that ends with a metav1.Status failure. */
export class ApiError extends Error {
  constructor(
    readonly status: Status,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
  }
  get code(): number {
    return this.status.code;
  }
}

/** group + plural, as the errors name resources ("pods", "instances.berth.dev"). */
export interface GroupResource {
  group: string;
  resource: string;
}

export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function cleanDetails(d: StatusDetails): StatusDetails | undefined {
  const out: StatusDetails = {};
  if (d.name) out.name = d.name;
  if (d.group) out.group = d.group;
  if (d.kind) out.kind = d.kind;
  if (d.uid) out.uid = d.uid;
  if (d.causes && d.causes.length > 0) out.causes = d.causes;
  if (d.retryAfterSeconds !== undefined) out.retryAfterSeconds = d.retryAfterSeconds;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function failure(code: number, reason: string, message: string, details: StatusDetails = {}): Status {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  const d = cleanDetails(details);
  if (d) status.details = d;
  return status;
}

export function apiError(code: number, reason: string, message: string, details: StatusDetails = {}, headers: Record<string, string> = {}): ApiError {
  return new ApiError(failure(code, reason, message, details), headers);
}

export const notFound = (gr: GroupResource, name: string): ApiError =>
  apiError(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, { name, group: gr.group, kind: gr.resource });

export const alreadyExists = (gr: GroupResource, name: string): ApiError =>
  apiError(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, { name, group: gr.group, kind: gr.resource });

export const conflict = (gr: GroupResource, name: string, why: string): ApiError =>
  apiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, { name, group: gr.group, kind: gr.resource });

export const CONFLICT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

export const badRequest = (message: string): ApiError => apiError(400, 'BadRequest', message);

export const methodNotAllowed = (): ApiError => apiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

export const unsupportedMediaType = (message: string): ApiError => apiError(415, 'UnsupportedMediaType', message);

export const expired = (message: string): ApiError => apiError(410, 'Expired', message);

export const notAcceptableError = (message: string): ApiError => apiError(406, 'NotAcceptable', message);

export const resourceNotFound = (): ApiError => apiError(404, 'NotFound', 'the server could not find the requested resource');

export const forbidden = (gr: GroupResource, name: string, why: string): ApiError =>
  apiError(403, 'Forbidden', `${qualifiedResource(gr)} "${name}" is forbidden: ${why}`, { name, group: gr.group, kind: gr.resource });

// ---- field errors (k8s.io/apimachinery/pkg/util/validation/field) ----

export type FieldErrorType = 'Required' | 'Invalid' | 'TypeInvalid' | 'NotSupported' | 'Forbidden' | 'Duplicate' | 'TooLong' | 'TooMany';

export interface FieldError {
  type: FieldErrorType;
  field: string;
  value?: unknown;
  detail?: string;
}

const CAUSE_REASON: Record<FieldErrorType, string> = {
  Required: 'FieldValueRequired',
  Invalid: 'FieldValueInvalid',
  TypeInvalid: 'FieldValueTypeInvalid',
  NotSupported: 'FieldValueNotSupported',
  Forbidden: 'FieldValueForbidden',
  Duplicate: 'FieldValueDuplicate',
  TooLong: 'FieldValueTooLong',
  TooMany: 'FieldValueTooMany',
};

const TYPE_TEXT: Record<FieldErrorType, string> = {
  Required: 'Required value',
  Invalid: 'Invalid value',
  TypeInvalid: 'Invalid value',
  NotSupported: 'Unsupported value',
  Forbidden: 'Forbidden',
  Duplicate: 'Duplicate value',
  TooLong: 'Too long',
  TooMany: 'Too many',
};

/** How field.Error prints a bad value: strings quoted, the rest as JSON. */
export function valueText(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return '""';
  return JSON.stringify(v);
}

/** field.Error.ErrorBody(). */
export function errorBody(e: FieldError): string {
  let s: string;
  switch (e.type) {
    case 'Required':
    case 'Forbidden':
    case 'TooLong':
      s = TYPE_TEXT[e.type];
      break;
    default:
      s = `${TYPE_TEXT[e.type]}: ${valueText(e.value)}`;
  }
  if (e.detail) s += `: ${e.detail}`;
  return s;
}

/** 422 Invalid, e.g. `Instance.berth.dev "x" is invalid: spec.image: Required value`. */
export function invalid(kind: string, group: string, name: string, errs: FieldError[]): ApiError {
  const qualifiedKind = group ? `${kind}.${group}` : kind;
  const texts = errs.map((e) => `${e.field}: ${errorBody(e)}`);
  const aggregate = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  return apiError(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${aggregate}`, {
    name,
    group,
    kind,
    causes: errs.map((e) => ({ reason: CAUSE_REASON[e.type], message: errorBody(e), field: e.field })),
  });
}

/** A Success status (DELETE of a collection etc.). */
export function success(details: StatusDetails = {}): Status {
  const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 200 };
  const d = cleanDetails(details);
  if (d) s.details = d;
  return s;
}
