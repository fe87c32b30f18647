// Batches the Node producer's records of sent/failed ids into the ledger (one pipeline per 100 ms).
class SentLog {
  constructor(ledger, k, producer) {
    this.producer = producer;
    this.ledger = ledger;
    this.k = k;
    this.pending = [];
    this.timer = setInterval(() => void this.flush(), 100);
  }

  add(task, what, id) {
    this.pending.push([task, what, id, Date.now()]);
  }

  async flush() {
    const batch = this.pending.splice(0);
    if (!batch.length) return;
    const p = this.ledger.pipeline();
    for (const [task, what, id, at] of batch) {
      p.sadd(this.k.perTask(task, what), id);
      if (what === "sent") p.zadd(this.k.perTask(task, "sent-at"), at, id).hset(this.k.perTask(task, "sent-by"), id, this.producer);
    }
    await p.exec();
  }

  async close() {
    clearInterval(this.timer);
    await this.flush();
    this.ledger.disconnect();
  }
}

module.exports = { SentLog };
