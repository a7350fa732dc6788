import { tryParseDigest } from './digest.js';
import { manifestInvalid, RegistryError } from './errors.js';
import { essence, isForeignLayer, MediaType } from './media-types.js';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: Platform;
  urls?: string[];
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

/** What the registry needs to know about a manifest it stores: its type and its edges. */
export interface ParsedManifest {
  mediaType: string;
  /** the referrers API's artifactType: `artifactType`, else the config's media type (images) */
  artifactType?: string;
  config?: Descriptor;
  /** blobs that must be present in the repository (config and distributable layers) */
  blobs: Descriptor[];
  /** manifests an index points at; they must be present in the repository */
  children: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

const GENERIC_TYPES = new Set(['application/json', 'application/octet-stream']);

/**
 * Parses and validates a manifest body. `contentType` is the request's Content-Type; the
 * dist-spec says the body's `mediaType`, when present, must agree with it.
 */
export function parseManifest(body: Uint8Array, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch {
    throw manifestInvalid('body is not valid JSON');
  }
  if (!isObject(doc)) throw manifestInvalid('body is not a JSON object');

  const declared = doc['mediaType'];
  if (declared !== undefined && typeof declared !== 'string') throw manifestInvalid('mediaType must be a string');
  const header = essence(contentType);
  const headerType = header && !GENERIC_TYPES.has(header) ? header : undefined;
  if (declared !== undefined && headerType !== undefined && declared !== headerType) {
    throw manifestInvalid(`Content-Type ${headerType} does not match the manifest's mediaType ${declared}`, {
      contentType: headerType,
      mediaType: declared,
    });
  }
  const mediaType = declared ?? headerType ?? inferMediaType(doc);
  if (mediaType === MediaType.DockerSchema1 || mediaType === MediaType.DockerSchema1Signed) {
    throw manifestInvalid('Docker schema 1 manifests are not supported; push schema 2 or OCI');
  }
  if (doc['schemaVersion'] !== 2) throw manifestInvalid('schemaVersion must be 2');

  switch (mediaType) {
    case MediaType.OciManifest:
    case MediaType.DockerManifest:
      return parseImageManifest(doc, mediaType);
    case MediaType.OciIndex:
    case MediaType.DockerManifestList:
      return parseIndex(doc, mediaType);
    default:
      throw manifestInvalid(`unsupported manifest media type ${String(mediaType).slice(0, 200)}`);
  }
}

function inferMediaType(doc: Record<string, unknown>): string {
  // image-spec: mediaType SHOULD be set; without it the shape decides
  if (Array.isArray(doc['manifests'])) return MediaType.OciIndex;
  if (isObject(doc['config'])) return MediaType.OciManifest;
  throw manifestInvalid('cannot tell the manifest type: no mediaType, Content-Type, config or manifests');
}

function parseImageManifest(doc: Record<string, unknown>, mediaType: string): ParsedManifest {
  if (doc['manifests'] !== undefined) throw manifestInvalid('an image manifest has no "manifests" field');
  const config = descriptor(doc['config'], 'config');
  const layersRaw = doc['layers'];
  if (!Array.isArray(layersRaw)) throw manifestInvalid('layers must be an array');
  const layers = layersRaw.map((l, i) => descriptor(l, `layers[${i}]`));
  const artifactType = optionalString(doc, 'artifactType');
  if (mediaType === MediaType.DockerManifest && artifactType !== undefined) {
    throw manifestInvalid('artifactType is not a field of Docker schema 2 manifests');
  }
  const subject = doc['subject'] === undefined ? undefined : descriptor(doc['subject'], 'subject');
  // image-spec: a manifest with artifactType set MUST have its config be ... any; without it
  // the referrers API reports the config media type instead.
  return {
    mediaType,
    artifactType: artifactType ?? config.mediaType,
    config,
    blobs: [config, ...layers.filter((l) => !(isForeignLayer(l.mediaType) && l.urls?.length))],
    children: [],
    ...(subject ? { subject } : {}),
    ...annotationsOf(doc),
  };
}

function parseIndex(doc: Record<string, unknown>, mediaType: string): ParsedManifest {
  if (doc['layers'] !== undefined || doc['config'] !== undefined) {
    throw manifestInvalid('an index has no "config" or "layers" field');
  }
  const raw = doc['manifests'];
  if (!Array.isArray(raw)) throw manifestInvalid('manifests must be an array');
  const children = raw.map((m, i) => descriptor(m, `manifests[${i}]`));
  const artifactType = optionalString(doc, 'artifactType');
  const subject = doc['subject'] === undefined ? undefined : descriptor(doc['subject'], 'subject');
  return {
    mediaType,
    ...(artifactType !== undefined ? { artifactType } : {}),
    blobs: [],
    children,
    ...(subject ? { subject } : {}),
    ...annotationsOf(doc),
  };
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw manifestInvalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || mediaType.length === 0 || mediaType.length > 255) {
    throw manifestInvalid(`${where}.mediaType must be a non-empty string`);
  }
  if (typeof digest !== 'string' || !tryParseDigest(digest)) {
    throw new RegistryError('MANIFEST_INVALID', `manifest invalid: ${where}.digest is not a valid digest`, {
      digest: typeof digest === 'string' ? digest.slice(0, 200) : digest,
    });
  }
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw manifestInvalid(`${where}.size must be a non-negative integer`);
  }
  const d: Descriptor = { mediaType, digest, size };
  if (typeof v['artifactType'] === 'string') d.artifactType = v['artifactType'];
  if (isStringMap(v['annotations'])) d.annotations = v['annotations'];
  if (isObject(v['platform'])) d.platform = v['platform'] as unknown as Platform;
  if (Array.isArray(v['urls']) && v['urls'].every((u) => typeof u === 'string')) d.urls = v['urls'] as string[];
  return d;
}

function annotationsOf(doc: Record<string, unknown>): { annotations?: Record<string, string> } {
  const a = doc['annotations'];
  if (a === undefined) return {};
  if (!isStringMap(a)) throw manifestInvalid('annotations must map strings to strings');
  return { annotations: a };
}

function optionalString(doc: Record<string, unknown>, key: string): string | undefined {
  const v = doc[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw manifestInvalid(`${key} must be a non-empty string`);
  return v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringMap(v: unknown): v is Record<string, string> {
  return isObject(v) && Object.values(v).every((x) => typeof x === 'string');
}
