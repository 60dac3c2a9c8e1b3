/** Request latency and packet counters, as ZooKeeper's ServerStats keeps them. */
export class LatencyStats {
  min = Number.MAX_SAFE_INTEGER;
  max = 0;
  total = 0;
  count = 0;

  record(ms: number): void {
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    this.total += ms;
    this.count++;
  }

  get avg(): number {
    return this.count === 0 ? 0 : Math.round((this.total / this.count) * 10) / 10;
  }

  get minOrZero(): number {
    return this.count === 0 ? 0 : this.min;
  }

  reset(): void {
    this.min = Number.MAX_SAFE_INTEGER;
    this.max = 0;
    this.total = 0;
    this.count = 0;
  }
}

export class ServerCounters {
  packetsReceived = 0;
  packetsSent = 0;
  readonly latency = new LatencyStats();
  readonly readLatency = new LatencyStats();
  readonly updateLatency = new LatencyStats();
  readonly fsyncTime = new LatencyStats();
  commitCount = 0;
  connectionRejected = 0;
  connectionDropCount = 0;
  authFailedCount = 0;
  largeRequestsRejected = 0;
  bytesReceived = 0;
  staleSessionsExpired = 0;

  reset(): void {
    this.packetsReceived = 0;
    this.packetsSent = 0;
    this.latency.reset();
    this.readLatency.reset();
    this.updateLatency.reset();
  }
}
