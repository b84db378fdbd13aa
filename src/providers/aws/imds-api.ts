/**
 * The instance metadata reads the AWS provider makes (IMDSv2's `/latest/meta-data/…`), as it wants
 * them: ImdsClient (imds-client.ts) implements this over HTTP (session token, retries, timeouts), and an
 * in-process view of the emulator's IMDS stands in for it in the churn simulators.
 */
export interface ImdsApi {
  /**
   * GETs a metadata path (`/latest/meta-data/instance-id`) and returns the body trimmed. Read-only;
   * throws ImdsError (error-mapping.ts) with the HTTP status when IMDS answers anything but 200
   * (404: no such key), and with no status when it does not answer.
   */
  get(path: string): Promise<string>;
  /** {@link get} of a newline-separated list; empty lines dropped. Throws as {@link get}. */
  getLines(path: string): Promise<string[]>;
}
