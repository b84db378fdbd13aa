/** Per-action counters of received and throttled calls, as the HTTP server and the in-process backend keep them. */
export class CallCounters {
  readonly calls = new Map<string, number>();
  readonly throttled = new Map<string, number>();

  bump(map: Map<string, number>, action: string): void {
    map.set(action, (map.get(action) ?? 0) + 1);
  }

  reset(): void {
    this.calls.clear();
    this.throttled.clear();
  }
}
