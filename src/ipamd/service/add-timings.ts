/** Small pure helpers of an ADD: where its time went (for its log line), the pod it names. */
import type { PodRef } from '../../rpc/protocol.js';

/** performance.now() marks of one ADD: start, address in hand, checkpoint on disk. */
export interface AddMarks {
  readonly started: number;
  readonly acquired?: number;
  readonly saved?: number;
}

/** Where an ADD's time went, in ms, for its log line. */
export function addTimings(marks: AddMarks, datapathStart: number, end: number): Record<string, number> {
  const { started, acquired, saved } = marks;
  return {
    ...(acquired === undefined ? {} : { pool: round(acquired - started) }),
    ...(acquired === undefined || saved === undefined ? {} : { checkpoint: round(saved - acquired) }),
    datapath: round(end - datapathStart),
    total: round(end - started),
  };
}

export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export function podRefOf(ref: PodRef): PodRef {
  return {
    ...(ref.podNamespace === undefined ? {} : { podNamespace: ref.podNamespace }),
    ...(ref.podName === undefined ? {} : { podName: ref.podName }),
  };
}
