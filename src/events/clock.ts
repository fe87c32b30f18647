/** Lamport clock (Celery's `app.clock`): `forward()` on send, `adjust(received)` on receipt. */
export class LamportClock {
  constructor(public value = 0) {}

  /** Tick for a message sent: returns the new value. */
  forward(): number {
    this.value += 1;
    return this.value;
  }

  /** On receipt of `other`: value = max(own, other) + 1. */
  adjust(other: unknown): number {
    const n = typeof other === "number" && Number.isFinite(other) ? other : typeof other === "string" && /^\d+$/.test(other) ? Number(other) : 0;
    this.value = Math.max(this.value, n) + 1;
    return this.value;
  }
}
