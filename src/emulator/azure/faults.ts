/**
 * Failures a test can make the emulated ARM produce on the next write (`injectFault`). Each
 * becomes a one-shot rule of the emulator's fault plan (see arm-faults.ts), which knows these
 * kinds too, for any operation, by count or rate.
 */
export type AzureFault =
  /** The next write answers 429 SubscriptionRequestsThrottled with this Retry-After. */
  | { readonly kind: 'throttle'; readonly retryAfterSec: number }
  /** The next write answers 429 RetryableErrorDueToAnotherOperation with this Retry-After. */
  | { readonly kind: 'anotherOperation'; readonly retryAfterSec: number }
  /**
   * Just before the next NIC write is judged, another writer adds the IP configuration `name` to
   * that NIC (changing its ETag), as a person or another tool would between our read and our PUT.
   */
  | { readonly kind: 'concurrentWrite'; readonly name: string }
  /** The next accepted write's long-running operation ends Failed with this error. */
  | { readonly kind: 'failOperation'; readonly code: string; readonly message: string };
