import { RunningList } from "../../src/worker/running-list";

describe("RunningList (the consumer's running requests)", () => {
  test("keeps the order things started in, and removes only what is there", () => {
    const list = new RunningList<{ id: number }>();
    const [a, b, c] = [{ id: 1 }, { id: 2 }, { id: 3 }];
    list.add(a);
    list.add(b);
    list.add(c);
    expect(list.delete(b)).toBe(true);
    expect(list.delete(b)).toBe(false);
    expect(list.delete({ id: 1 })).toBe(false); // another object with the same fields
    expect(list.toArray()).toEqual([a, c]);
    expect(list.size).toBe(2);
  });

  test("iterating while each item removes itself visits every item (as a Set would)", () => {
    const list = new RunningList<number>();
    for (let i = 0; i < 5; i++) list.add(i);
    const seen: number[] = [];
    for (const n of list) {
      seen.push(n);
      list.delete(n);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    expect(list.size).toBe(0);
  });

  test("toArray is a copy", () => {
    const list = new RunningList<string>();
    list.add("x");
    const copy = list.toArray();
    copy.push("y");
    expect(list.toArray()).toEqual(["x"]);
  });
});
