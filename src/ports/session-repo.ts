export interface SessionRecord {
  /** sha256 of the cookie value */
  id: string;
  userId: number;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export interface SessionRepo {
  create(s: SessionRecord): Promise<void>;
  get(id: string): Promise<SessionRecord | undefined>;
  /** slides the expiry of an active session */
  touch(id: string, expiresAt: number): Promise<void>;
  delete(id: string): Promise<boolean>;
  /** every session of the user, but `exceptId` when given */
  deleteForUser(userId: number, exceptId?: string): Promise<number>;
  deleteExpired(now: number): Promise<number>;
}
