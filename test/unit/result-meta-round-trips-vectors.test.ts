import {
  buildResultMeta,
  dateDone,
  decodeGroupMeta,
  decodeResultMeta,
  encodeResultMeta,
  groupResultTuple,
  parseDateDone,
  type ResultMeta,
} from "../../src/protocol/result-meta";
import type { WireValue } from "../../src/protocol/message";
import { pyJsonDumps } from "../../src/protocol/serializers/json";
import { isoformatUtc } from "../../src/protocol/isotime";
import { loadVector, vectorNames } from "../support/vectors";

// JS cannot tell 3.0 from 3 (documented loss): compare with Python's integral floats unwrapped.
const dropIntegralFloatZero = (s: string): string => s.replace(/(\d)\.0(?=[,\]}])/g, "$1");

const metaVectors = vectorNames("backend-redis-").filter((n) => {
  const v = loadVector(n);
  return typeof v.raw === "string" && (v.decoded as { status?: unknown }).status !== undefined;
});

describe("result meta", () => {
  test.each(metaVectors)("%s decodes to `decoded` and re-encodes byte for byte", (name) => {
    const v = loadVector(name);
    const meta = decodeResultMeta(v.raw as string);
    expect(meta).toEqual(v.decoded);
    expect(encodeResultMeta(meta)).toBe(dropIntegralFloatZero(v.raw as string));
    expect(encodeResultMeta(decodeResultMeta(Buffer.from(v.raw as string)))).toBe(encodeResultMeta(meta));
  });

  test.each(metaVectors)("%s is rebuilt by buildResultMeta with Celery's key order", (name) => {
    const d = loadVector(name).decoded as ResultMeta;
    const built = buildResultMeta({
      taskId: d.task_id,
      status: d.status,
      result: d.result,
      traceback: d.traceback,
      children: d.children,
      groupId: d.group_id,
      parentId: d.parent_id,
      extended:
        d.name !== undefined
          ? { name: d.name as string, args: d.args as WireValue[], kwargs: d.kwargs as { [k: string]: WireValue }, worker: d.worker as string, retries: d.retries as number, queue: d.queue as string }
          : null,
      dateDone: d.date_done,
    });
    expect(encodeResultMeta(built)).toBe(dropIntegralFloatZero(loadVector(name).raw as string));
  });

  test("date_done is aware UTC, in the form Celery 5.7 stores with timezone UTC", () => {
    const at = new Date(Date.UTC(2026, 10, 22, 1, 41, 12, 89));
    expect(dateDone(at)).toBe("2026-11-22T01:41:12.089000+00:00");
    // the captured form: the same digits, with microseconds, and the +00:00 offset
    const captured = (loadVector("backend-redis-date-done-celery57-utc").decoded as ResultMeta).date_done as string;
    const shape = (s: string): string => s.replace(/\d/g, "9");
    expect(shape(dateDone(at))).toBe(shape(captured));
    // Celery 5.2 wrote it naive (UTC); the newest writes it in the app's timezone: read as that instant
    const naive = (loadVector("backend-redis-date-done-celery52-utc").decoded as ResultMeta).date_done as string;
    expect(naive).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$/);
    const berlin = (loadVector("backend-redis-date-done-celery57-europe-berlin").decoded as ResultMeta).date_done as string;
    expect(berlin.endsWith("+01:00")).toBe(true);
    expect(parseDateDone(berlin)?.getTime()).toBe((parseDateDone(berlin.slice(0, -6)) as Date).getTime() - 3_600_000);
  });

  test("date_done is isoformat's text for every millisecond, within a second and across seconds, years and eras", () => {
    const at = Date.UTC(2026, 11, 31, 23, 59, 59, 0);
    for (const ms of [at, at + 1, at + 9, at + 10, at + 99, at + 100, at + 999, at + 1000, at + 1001, at, 0, -1, -1000, -1001, Date.parse("0001-01-01T00:00:00Z"), Date.UTC(9999, 11, 31, 23, 59, 59, 999)]) {
      expect(dateDone(new Date(ms))).toBe(isoformatUtc(new Date(ms), true));
    }
    expect(() => dateDone(new Date(NaN))).toThrow("Invalid Date");
    expect(() => dateDone(new Date(Date.parse("0001-01-01T00:00:00Z") - 1))).toThrow("out of range");
  });

  test("a meta is encoded as pyJsonDumps writes it: any keys, in their order, unencodable ones skipped", () => {
    const metas: object[] = [
      { status: "SUCCESS", result: { "caf\u00e9": [1, 2.5, null, 'x"y'], at: new Date(0), raw: Buffer.from([255]) }, traceback: "tb\n", children: [[["id", null], null]], date_done: null, task_id: "t" },
      { task_id: "t", "sn\u2603w": NaN, gone: undefined, fn: () => 1, big: 12345678901234567890n, result: [], status: "PENDING" },
      { result: [[]] },
      {},
    ];
    for (const meta of metas) expect(encodeResultMeta(meta as ResultMeta)).toBe(pyJsonDumps(meta));
    const cyclic: { [k: string]: unknown } = { status: "SUCCESS" };
    cyclic.result = cyclic;
    expect(() => encodeResultMeta(cyclic as ResultMeta)).toThrow(expect.objectContaining({ name: "EncodeError", message: "Circular reference detected" }) as Error);
  });

  test("date_done is set only for ready states", () => {
    expect(buildResultMeta({ taskId: "t", status: "SUCCESS", result: 1 }).date_done).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(buildResultMeta({ taskId: "t", status: "STARTED", result: null }).date_done).toBeNull();
    expect(buildResultMeta({ taskId: "t", status: "RETRY", result: null }).date_done).toBeNull();
    expect((loadVector("backend-redis-started").decoded as ResultMeta).date_done).toBeNull();
    expect((loadVector("backend-redis-retry").decoded as ResultMeta).date_done).toBeNull();
  });

  test("parseDateDone reads naive (5.2) and aware (5.5+) values", () => {
    const t = Date.UTC(2026, 10, 22, 1, 41, 12, 89);
    expect(parseDateDone("2026-11-22T01:41:12.089114")?.getTime()).toBe(t);
    expect(parseDateDone("2026-11-22T02:41:12.089114+01:00")?.getTime()).toBe(t);
    expect(parseDateDone(null)).toBeNull();
    expect(parseDateDone("garbage")).toBeNull();
  });

  test("missing optional fields get defaults", () => {
    expect(decodeResultMeta('{"status": "SUCCESS", "result": 4, "task_id": "x"}')).toEqual({
      status: "SUCCESS",
      result: 4,
      task_id: "x",
      traceback: null,
      children: [],
      date_done: null,
    });
    expect(() => decodeResultMeta("[1]")).toThrow();
  });

  test("a traceback that is not text (celery-node stores the result there) is read as its JSON text", () => {
    expect(decodeResultMeta('{"status": "SUCCESS", "result": 4, "traceback": 4, "task_id": "x"}').traceback).toBe("4");
    expect(decodeResultMeta('{"status": "FAILURE", "result": null, "traceback": {}, "task_id": "x"}').traceback).toBe("{}");
  });

  test("a field of the wrong type is refused, not passed on as a ResultMeta", () => {
    expect(() => decodeResultMeta('{"status": "SUCCESS", "result": 4, "date_done": 3, "task_id": "x"}')).toThrow("malformed date_done");
    expect(() => decodeResultMeta('{"status": "SUCCESS", "result": 4, "children": [["x"]], "task_id": "x"}')).toThrow("malformed children");
    expect(() => decodeResultMeta('{"status": "SUCCESS", "result": 4}')).toThrow("malformed task_id");
    expect(decodeResultMeta('{"status": "SUCCESS", "result": 4, "task_id": "x", "queue": null}').queue).toBeNull();
  });

  test("group meta (backend-redis-group-save) round-trips", () => {
    const v = loadVector("backend-redis-group-save");
    const g = decodeGroupMeta(v.raw as string);
    const [[gid], members] = g.result;
    const ids = (members ?? []).map((m) => m[0][0]);
    expect(encodeResultMeta({ result: groupResultTuple(gid, ids) })).toBe(v.raw);
  });
});
