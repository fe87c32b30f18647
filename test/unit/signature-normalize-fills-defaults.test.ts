import { InvalidSignature, normalizeSignature, signatureDict } from "../../src/protocol/signature";
import { pyJsonDumps } from "../../src/protocol/serializers/json";
import { loadVector, type WireObject } from "../support/vectors";
import type { WireValue } from "../../src/protocol/message";

describe("signatures", () => {
  test("captured signatures are unchanged by normalizeSignature (same keys, same order)", () => {
    const body = (loadVector("redis-link-group-and-immutable").decoded as WireObject).body as WireValue[];
    for (const sig of (body[2] as WireObject).callbacks as WireValue[]) {
      expect(pyJsonDumps(normalizeSignature(sig))).toBe(pyJsonDumps(sig));
    }
  });

  test("missing keys are filled and extras (chord_size) kept after the core keys", () => {
    expect(normalizeSignature({ task: "t.x", chord_size: 3 })).toEqual({
      task: "t.x",
      args: [],
      kwargs: {},
      options: {},
      subtask_type: null,
      immutable: false,
      chord_size: 3,
    });
    expect(() => normalizeSignature({ args: [] })).toThrow(InvalidSignature);
    expect(() => normalizeSignature("t.x")).toThrow(InvalidSignature);
  });

  test("signatureDict serializes like Python's Signature", () => {
    // Celery 5.2's add.si(100, 1) as captured in redis-link-group-and-immutable (second link)
    const body = (loadVector("redis-link-group-and-immutable").decoded as WireObject).body as WireValue[];
    const captured = ((body[2] as WireObject).callbacks as WireValue[])[1];
    expect(pyJsonDumps(captured)).toBe('{"task": "tasks.add", "args": [100, 1], "kwargs": {}, "options": {}, "subtask_type": null, "immutable": true}');
    expect(pyJsonDumps(signatureDict("tasks.add", [100, 1], {}, {}, { immutable: true }))).toBe(pyJsonDumps(captured));
  });
});
