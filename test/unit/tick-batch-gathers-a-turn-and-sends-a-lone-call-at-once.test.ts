/**
 * TickBatch gathers the calls of one turn of the event loop into one send. With `eagerWhenLone`
 * (the Redis backend's result stores), a call that finds the last send held a single item goes
 * out at once, not after the rest of its turn: a lone task's result reaches Redis sooner, while a
 * burst still costs one send for all but its first call.
 */
import { TickBatch } from "../../src/transport/tick-batch";

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

function recorder(eager: boolean): { batch: TickBatch<string>; sends: string[][] } {
  const sends: string[][] = [];
  const batch = new TickBatch<string>(
    (items) => {
      sends.push(items);
      return Promise.resolve();
    },
    1000,
    false,
    eager,
  );
  return { batch, sends };
}

describe("TickBatch", () => {
  it("sends the calls of one turn together, after the turn", async () => {
    const { batch, sends } = recorder(false);
    const done = [batch.add("a"), batch.add("b"), batch.add("c")];
    expect(sends).toEqual([]);
    await Promise.all(done);
    expect(sends).toEqual([["a", "b", "c"]]);
  });

  it("without eagerWhenLone, a lone call still waits for the end of its turn", async () => {
    const { batch, sends } = recorder(false);
    await batch.add("a");
    await nextTurn();
    const p = batch.add("b");
    expect(sends).toEqual([["a"]]);
    await p;
    expect(sends).toEqual([["a"], ["b"]]);
  });

  it("with eagerWhenLone, a call after a lone send goes out at once, and the rest of its turn is gathered", async () => {
    const { batch, sends } = recorder(true);
    // The first call has no history: gathered as usual.
    await batch.add("a");
    expect(sends).toEqual([["a"]]);
    await nextTurn();
    // The last send held one item: this one is sent within add(), before add() returns.
    const lone = batch.add("b");
    expect(sends).toEqual([["a"], ["b"]]);
    await lone;
    await nextTurn();
    // A burst after lone calls: its first call at once, the others in one send after the turn.
    const burst = [batch.add("c"), batch.add("d"), batch.add("e")];
    expect(sends).toEqual([["a"], ["b"], ["c"]]);
    await Promise.all(burst);
    expect(sends).toEqual([["a"], ["b"], ["c"], ["d", "e"]]);
    await nextTurn();
    // The last send held two: the next call is gathered again.
    const after = batch.add("f");
    expect(sends).toHaveLength(4);
    await after;
    expect(sends).toEqual([["a"], ["b"], ["c"], ["d", "e"], ["f"]]);
  });

  it("with eagerWhenLone, a send that throws rejects the call's promise", async () => {
    let fail = false;
    const batch = new TickBatch<string>(
      () => {
        if (fail) throw new Error("connection closed");
        return Promise.resolve();
      },
      1000,
      false,
      true,
    );
    await batch.add("a");
    await nextTurn();
    fail = true;
    await expect(batch.add("b")).rejects.toThrow("connection closed");
  });
});
