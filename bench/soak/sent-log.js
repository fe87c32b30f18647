// Batches the Node producer's SADDs of sent/failed ids into the ledger (one pipeline per 100 ms).
class SentLog {
  constructor(ledger, k) {
    this.ledger = ledger;
    this.k = k;
    this.pending = [];
    this.timer = setInterval(() => void this.flush(), 100);
  }

  add(task, what, id) {
    this.pending.push([this.k.perTask(task, what), id]);
  }

  async flush() {
    const batch = this.pending.splice(0);
    if (!batch.length) return;
    const p = this.ledger.pipeline();
    for (const [key, id] of batch) p.sadd(key, id);
    await p.exec();
  }

  async close() {
    clearInterval(this.timer);
    await this.flush();
    this.ledger.disconnect();
  }
}

module.exports = { SentLog };
