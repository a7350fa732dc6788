/**
 * Every failure a service can report, as a code. The HTTP layer owns the one table that maps a
 * code to a status (src/http/error-status.ts); the domain never speaks HTTP.
 *
 * The first group are the OCI distribution-spec codes, spelled as the spec spells them. The
 * second are the Harbor API codes (`/api/v2.0` answers `{"errors":[{"code","message"}]}`). The
 * rest are Berth's, for statuses the spec names without giving them a code.
 */
export const ERROR_CODES = [
  // dist-spec "Error Codes" table
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  // Harbor API codes
  'BAD_REQUEST',
  'NOT_FOUND',
  'CONFLICT',
  'FORBIDDEN',
  'PRECONDITION',
  'METHOD_NOT_ALLOWED',
  'UNPROCESSABLE_ENTITY',
  // Harbor's code for a pull refused by the project's vulnerability policy (412)
  'PROJECTPOLICYVIOLATION',
  // Berth: statuses the dist-spec names (416, 413) and server-side failures
  'RANGE_NOT_SATISFIABLE',
  'PAYLOAD_TOO_LARGE',
  'UNAVAILABLE',
  'INTERNAL_ERROR',
  // a Harbor API operation that Berth does not implement (yet)
  'NOT_IMPLEMENTED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class RegistryError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail?: unknown,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export const isRegistryError = (e: unknown): e is RegistryError => e instanceof RegistryError;

// Constructors for the errors raised in more than one place. Messages follow the dist-spec's
// wording where it gives one.
export const blobUnknown = (digest: string) =>
  new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
export const blobUploadUnknown = (uuid: string) =>
  new RegistryError('BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', { uuid });
export const blobUploadInvalid = (reason: string, detail?: unknown) =>
  new RegistryError('BLOB_UPLOAD_INVALID', `blob upload invalid: ${reason}`, detail);
export const digestInvalid = (reason: string, detail?: unknown) =>
  new RegistryError('DIGEST_INVALID', `provided digest did not match uploaded content: ${reason}`, detail);
export const digestAlgorithmUnsupported = (algorithm: string) =>
  new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${algorithm.slice(0, 50)}; use sha256 or sha512`, {
    algorithm: algorithm.slice(0, 50),
  });
export const manifestUnknown = (reference: string) =>
  new RegistryError('MANIFEST_UNKNOWN', 'manifest unknown to registry', { reference });
export const manifestInvalid = (reason: string, detail?: unknown) =>
  new RegistryError('MANIFEST_INVALID', `manifest invalid: ${reason}`, detail);
export const manifestBlobUnknown = (digest: string) =>
  new RegistryError('MANIFEST_BLOB_UNKNOWN', 'manifest references a blob unknown to registry', { digest });
export const nameInvalid = (reason: string, name?: string) =>
  new RegistryError('NAME_INVALID', `invalid repository name: ${reason}`, name === undefined ? undefined : { name });
export const nameUnknown = (name: string, message = 'repository name not known to registry') =>
  new RegistryError('NAME_UNKNOWN', message, { name });
export const sizeInvalid = (reason: string, detail?: unknown) =>
  new RegistryError('SIZE_INVALID', `provided length did not match content length: ${reason}`, detail);
export const unauthorized = (message = 'authentication required', detail?: unknown) =>
  new RegistryError('UNAUTHORIZED', message, detail);
export const denied = (message = 'requested access to the resource is denied', detail?: unknown) =>
  new RegistryError('DENIED', message, detail);
export const unsupported = (message = 'the operation is unsupported') => new RegistryError('UNSUPPORTED', message);
export const rangeNotSatisfiable = (message: string, detail?: unknown) =>
  new RegistryError('RANGE_NOT_SATISFIABLE', message, detail);
export const payloadTooLarge = (limit: number) =>
  new RegistryError('PAYLOAD_TOO_LARGE', `payload exceeds the limit of ${limit} bytes`, { limit });
export const badRequest = (message: string, detail?: unknown) => new RegistryError('BAD_REQUEST', message, detail);
export const notFound = (message: string, detail?: unknown) => new RegistryError('NOT_FOUND', message, detail);
export const conflict = (message: string, detail?: unknown) => new RegistryError('CONFLICT', message, detail);
export const forbidden = (message: string, detail?: unknown) => new RegistryError('FORBIDDEN', message, detail);
export const projectPolicyViolation = (message: string, detail?: unknown) =>
  new RegistryError('PROJECTPOLICYVIOLATION', message, detail);
export const preconditionFailed = (message: string, detail?: unknown) =>
  new RegistryError('PRECONDITION', message, detail);
