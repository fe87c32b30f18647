/**
 * A chord sent from a Node client whose result backend is django-db (django-celery-results on the
 * test PostgreSQL), in examples/django: the client creates the `ChordCounter` a Python client's
 * apply_chord would, so header members run by the Django (newest Celery) worker and by the
 * celeriac worker both join the chord through it, whichever finishes last sends the callback (on
 * either worker), and `applyAsync().get()` reads the callback's result from django-db. The Node
 * client takes its settings from the same file as the Node worker (`manage.py celeriac_config`).
 * Build first.
 */
import { Celery, chain, chord, type AsyncResult } from "../src";
import { applyCeleryConfig, readCeleryConfigFile } from "../src/config-file";
import { unique } from "../test/support/app";
import { startDjangoExample, type DjangoExample } from "../test/support/django-example";

jest.setTimeout(120_000);

let example: DjangoExample;
let app: Celery;

beforeAll(async () => {
  example = await startDjangoExample("nodechord", 13);
  app = new Celery("client");
  applyCeleryConfig(app, await readCeleryConfigFile(example.configFile));
}, 240_000);

afterAll(async () => {
  await app?.close();
  await example?.stop();
});

/** The header's GroupResult of a chord's result (`r.parent`, as in Celery). */
function headerOf(r: AsyncResult): { id: string; results: { id: string }[] } {
  return (r as AsyncResult & { parent: { id: string; results: { id: string }[] } }).parent;
}

/** ChordCounter rows of `groupId` left in the database. */
async function counters(groupId: string): Promise<number> {
  const out = await example.djangoShell(`
import json
from django_celery_results.models import ChordCounter
print(json.dumps({"n": ChordCounter.objects.filter(group_id=${JSON.stringify(groupId)}).count()}))
`);
  return out.n as number;
}

test("the ChordCounter is the row a Python client's apply_chord creates: group id, json.dumps of the header's result tuples, its size", async () => {
  // Sent to a queue no worker consumes: the row stays as the client made it.
  const idle = unique("idle");
  const header = [1, 2, 3].map((i) => app.signature("node.double", [i], {}, { queue: idle }));
  const r = await chord(header, app.signature("demo.tasks.tsum")).applyAsync();
  const gid = headerOf(r).id;
  const ids = headerOf(r).results.map((m) => m.id);
  const out = await example.djangoShell(`
import json
from celery.result import GroupResult, AsyncResult
from proj.celery import app
from django_celery_results.models import ChordCounter
cc = ChordCounter.objects.get(group_id=${JSON.stringify(gid)})
expected = json.dumps([AsyncResult(i, app=app).as_tuple() for i in ${JSON.stringify(ids)}])
print(json.dumps({"count": cc.count, "same": cc.sub_tasks == expected, "ids": [x.id for x in cc.group_result(app=app).results]}))
cc.delete()
`);
  expect(out).toEqual({ count: 3, same: true, ids });
});

test("header on the Django worker, callback on the celeriac worker: Python's on_chord_part_return completes a Node-made chord", async () => {
  const header = [[1, 2], [3, 4]].map((args) => app.signature("demo.tasks.add", args));
  const r = await chord(header, app.signature("node.tag")).applyAsync();
  expect(await r.get({ timeout: 60_000 })).toBe("node:[3,7]");
  expect(await counters(headerOf(r).id)).toBe(0);
});

test("header on the celeriac worker, callback on the Django worker: the celeriac join sends the Python body", async () => {
  const header = [1, 2, 3].map((i) => app.signature("node.double", [i]));
  const r = await chord(header, app.signature("demo.tasks.tsum")).applyAsync();
  expect(await r.get({ timeout: 60_000 })).toBe(12);
  expect(await counters(headerOf(r).id)).toBe(0);
});

test("header on both workers: the callback on either worker gets the results in header order", async () => {
  const header = [app.signature("node.double", [5]), app.signature("demo.tasks.add", [2, 3]), app.signature("node.double", [20])];
  const tagged = await chord(header, app.signature("node.tag")).applyAsync();
  const summed = await chord(header, app.signature("demo.tasks.tsum")).applyAsync();
  expect(await tagged.get({ timeout: 60_000 })).toBe("node:[10,5,40]");
  expect(await summed.get({ timeout: 60_000 })).toBe(55);
  expect(await counters(headerOf(tagged).id)).toBe(0);
  expect(await counters(headerOf(summed).id)).toBe(0);
});

test("a failing header member fails the callback with Celery's ChordError, whichever worker joins", async () => {
  const header = [app.signature("node.fail", ["too far"]), app.signature("demo.tasks.add", [1, 1])];
  const r = await chord(header, app.signature("demo.tasks.tsum")).applyAsync();
  // django-celery-results' trigger_callback says repr(exc); celeriac's join, as Redis's, "Dependency <id> raised repr(exc)".
  await expect(r.get({ timeout: 60_000 })).rejects.toMatchObject({ name: "ChordError", message: expect.stringContaining("RangeError('too far')") as string });
  expect(await counters(headerOf(r).id)).toBe(0);
});

test("a header member that is not a task signature is refused before anything is recorded or sent", async () => {
  const header = [app.signature("node.double", [1]), chain(app.signature("node.double", [2]), app.signature("node.double"))];
  await expect(chord(header, app.signature("demo.tasks.tsum")).applyAsync()).rejects.toThrow("a chord on the django-db backend takes task signatures as header members (not a chain)");
  const out = await example.djangoShell(`
import json
from django_celery_results.models import ChordCounter
print(json.dumps({"n": ChordCounter.objects.count()}))
`);
  expect(out.n).toBe(0);
});
