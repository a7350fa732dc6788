import { S3ServiceException } from '@aws-sdk/client-s3';

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** NoSuchKey from GET, a bodiless 404 (`NotFound`) from HEAD. */
export function isNotFound(e: unknown): boolean {
  if (e instanceof S3ServiceException && (e.name === 'NoSuchKey' || e.name === 'NotFound')) return true;
  return status(e) === 404 && (e as Error).name !== 'NoSuchBucket';
}

/** 416: a range that starts at or past the end of the object. */
export function isInvalidRange(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'InvalidRange' || status(e) === 416;
}

export function isNoSuchUpload(e: unknown): boolean {
  return (e as Error | undefined)?.name === 'NoSuchUpload' || status(e) === 404;
}
