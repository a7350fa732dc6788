/** Authenticated encryption of small secrets kept in the database, with a key kept outside it. */
export interface SecretSealer {
  seal(plaintext: string): string;
  /** undefined when the sealed value was not made with this key, or was altered */
  open(sealed: string): string | undefined;
}
