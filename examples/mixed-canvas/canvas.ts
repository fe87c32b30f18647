// canvas.ts: a Node program that runs canvases across both workers and prints their results.
// Build: npx tsc; run: node dist/canvas.js
import { Celery, chain, chord, group } from "celeriac/client";

const app = new Celery("pipeline", { broker: "redis://127.0.0.1:6379/0", backend: "redis://127.0.0.1:6379/1" });
// The same routes as both workers: every step is sent to the queue of the worker that has it.
app.configFromObject("./celeryconfig.json");

// Each task by name and types, whichever language runs it (the Python ones live in pipeline.py).
const extract = app.remoteTask<[n: number], number[]>("py.extract");
const transform = app.remoteTask<[rows: number[]], number[]>("node.transform");
const load = app.remoteTask<[rows: number[]], string>("py.load");
const square = app.remoteTask<[x: number], number>("py.square");
const cube = app.remoteTask<[x: number], number>("node.cube");
const total = app.remoteTask<[values: number[]], number>("node.total");

async function main(): Promise<void> {
  // Python -> Node -> Python: each step's result is the next step's first argument.
  const etl = await chain(extract.s(4), transform.s(), load.s()).applyAsync();
  console.log(`chain: ${await etl.get({ timeout: 30_000 })}`);

  // Both languages at once; results in the order of the group.
  const both = await group(square.s(3), cube.s(3)).applyAsync();
  console.log(`group: ${JSON.stringify(await both.get({ timeout: 30_000 }))}`);

  // A chord: six parts on both workers, then the body (Node) gets all their results.
  const parts = [1, 2, 3].flatMap((x) => [square.s(x), cube.s(x)]);
  const sums = await chord(parts, total.s()).applyAsync();
  console.log(`chord: ${await sums.get({ timeout: 30_000 })}`);
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => app.close());
