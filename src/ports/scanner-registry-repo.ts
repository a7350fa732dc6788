import type { NameMatch } from './catalog-repos.js';
import type { Page } from './page.js';

/** Harbor's scanner adapter authentication: none, Basic, Bearer or the API key header. */
export type ScannerAuth = '' | 'Basic' | 'Bearer' | 'X-ScannerAdapter-API-Key';

/** A scanner registration as stored; the credential stays sealed until a request needs it. */
export interface ScannerRegistrationRecord {
  id: number;
  uuid: string;
  name: string;
  description: string;
  url: string;
  auth: ScannerAuth;
  /** the access credential sealed by the SecretSealer; '' when there is none */
  credentialSealed: string;
  disabled: boolean;
  isDefault: boolean;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
  /** Berth's own scanner: always present, never updated or deleted */
  builtin: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ScannerFilter {
  name?: NameMatch;
  description?: NameMatch;
  url?: NameMatch;
}

export interface ScannerSort {
  by: 'name' | 'url' | 'createdAt' | 'id';
  desc: boolean;
}

export interface NewScannerRegistration {
  uuid: string;
  name: string;
  description: string;
  url: string;
  auth: ScannerAuth;
  credentialSealed: string;
  disabled: boolean;
  skipCertVerify: boolean;
  useInternalAddr: boolean;
  now: number;
}

export interface ScannerRegistryRepo {
  /** throws CONFLICT when the name or the URL is taken */
  create(r: NewScannerRegistration): Promise<ScannerRegistrationRecord>;
  getByUuid(uuid: string): Promise<ScannerRegistrationRecord | undefined>;
  getById(id: number): Promise<ScannerRegistrationRecord | undefined>;
  /** the registration marked default (there is at most one) */
  getDefault(): Promise<ScannerRegistrationRecord | undefined>;
  getBuiltin(): Promise<ScannerRegistrationRecord | undefined>;
  list(filter: ScannerFilter, page: { offset: number; limit: number; sort?: ScannerSort }): Promise<Page<ScannerRegistrationRecord>>;
  /** throws CONFLICT when the new name or URL is taken; false when absent */
  update(
    id: number,
    patch: Omit<NewScannerRegistration, 'uuid' | 'now'> & { now: number },
  ): Promise<boolean>;
  /** makes `id` the only default registration; false when absent */
  setDefault(id: number, now: number): Promise<boolean>;
  /** deletes the registration (project choices of it go with it); false when absent */
  delete(id: number): Promise<boolean>;
  /** the registration a project chose, when it chose one */
  projectChoice(projectId: number): Promise<ScannerRegistrationRecord | undefined>;
  setProjectChoice(projectId: number, registrationId: number, now: number): Promise<void>;
}
