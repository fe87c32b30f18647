/**
 * `django-db`: the result backend of django-celery-results, on the database Django uses
 * (PostgreSQL, through the optional `pg` package, loaded when this backend is first used). It
 * writes and reads the rows django-celery-results' DatabaseBackend does (rows.ts), so Django's
 * `AsyncResult`, the admin and `TaskResult.objects` see Node results; a chord header member joins
 * the chord through django-celery-results' `ChordCounter`, as a Python worker's does, and a chord
 * sent from Node creates that `ChordCounter` first, as a Python client's does.
 *
 * The tables are Django's: `python manage.py migrate django_celery_results` creates them.
 */
import type * as Pg from "pg";
import type { ResultBackend } from "../types";
import { waitOnce } from "../waiter";
import { connectionFailure } from "../../connectivity/errors";
import { isResultTupleList, READY_STATES, type GroupMeta, type ResultMeta, type ResultTuple } from "../../protocol/result-meta";
import type { WireValue } from "../../protocol/message";
import type { SerializerName } from "../../protocol/serializers";
import { pyJsonDumps, pyJsonLoads } from "../../protocol/serializers/json";
import { sanitizeUrl, URL_MASK } from "../../redact";
import { databaseTarget, type DatabaseTarget, type DjangoDatabaseSettings } from "./settings";
import { groupMetaOfRow, groupResultContent, metaOfRow, taskResultRow, type StoredTaskResult } from "./rows";

export type { DjangoDatabaseSettings } from "./settings";

const TASKS = "django_celery_results_taskresult";
const GROUPS = "django_celery_results_groupresult";
const CHORDS = "django_celery_results_chordcounter";

/** Options of the django-db backend (the app's settings). */
export interface DjangoDbBackendOptions {
  /** result_serializer: how results, metas, args and group tuples are encoded. */
  serializer: SerializerName;
  /** accept_content plus the result serializer: what stored results may be read as. */
  accept: readonly string[];
  /** How often `waitForReady` reads the row (ms; Celery's database backends poll every 500 ms). */
  pollIntervalMs?: number;
}

/** `pg`, required on first use: an optional peer dependency. */
function loadPg(): typeof Pg {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- an optional peer dependency, loaded when django-db is used
    return require("pg") as typeof Pg;
  } catch (err) {
    throw new Error("the django-db result backend on PostgreSQL needs the pg package: npm install pg", { cause: err });
  }
}

// The INSERT of a store, or, for a stored task, its UPDATE (django-celery-results' get_or_create,
// then save: date_done is auto_now, date_started is set by a STARTED state only). A stored
// SUCCESS is never overwritten (the ResultBackend contract).
const STORE_SQL = `
INSERT INTO ${TASKS} AS t (task_id, status, content_type, content_encoding, result, traceback, meta,
  periodic_task_name, task_name, task_args, task_kwargs, worker, date_created, date_done, date_started)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now(), now(), CASE WHEN $13 THEN now() END)
ON CONFLICT (task_id) DO UPDATE SET status = EXCLUDED.status, content_type = EXCLUDED.content_type,
  content_encoding = EXCLUDED.content_encoding, result = EXCLUDED.result, traceback = EXCLUDED.traceback,
  meta = EXCLUDED.meta, periodic_task_name = EXCLUDED.periodic_task_name, task_name = EXCLUDED.task_name,
  task_args = EXCLUDED.task_args, task_kwargs = EXCLUDED.task_kwargs, worker = EXCLUDED.worker, date_done = now(),
  date_started = CASE WHEN $13 THEN now() ELSE t.date_started END
WHERE t.status <> 'SUCCESS'`;

const GET_SQL = `SELECT status, content_type, content_encoding, result, traceback, meta, date_done, task_name, worker FROM ${TASKS} WHERE task_id = $1`;

const SAVE_GROUP_SQL = `
INSERT INTO ${GROUPS} (group_id, content_type, content_encoding, result, date_created, date_done)
VALUES ($1, $2, $3, $4, now(), now())
ON CONFLICT (group_id) DO UPDATE SET content_type = EXCLUDED.content_type,
  content_encoding = EXCLUDED.content_encoding, result = EXCLUDED.result, date_done = now()`;

/** A table is missing: Django's migrations have not run on this database. */
function explain(err: unknown): unknown {
  if ((err as { code?: string } | null)?.code === "42P01") {
    return new Error(`${(err as Error).message}: the django-db result backend uses django-celery-results' tables (python manage.py migrate django_celery_results)`, { cause: err });
  }
  return err;
}

/** The django-db result backend on PostgreSQL. */
export class DjangoDbBackend implements ResultBackend {
  readonly name = "django-db";
  private readonly target: DatabaseTarget;
  private pool: Pg.Pool | null = null;
  private readonly pollIntervalMs: number;

  constructor(database: DjangoDatabaseSettings | null, private readonly options: DjangoDbBackendOptions) {
    this.target = databaseTarget(database);
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
  }

  private db(): Pg.Pool {
    if (!this.pool) {
      const { Pool } = loadPg();
      const t = this.target;
      this.pool = new Pool({ host: t.host, port: t.port, user: t.user, password: t.password, database: t.database, max: 4 });
      // An idle client's error (the server went away) is not the pool's crash: the next query reconnects.
      this.pool.on("error", () => undefined);
    }
    return this.pool;
  }

  private async query<R extends Pg.QueryResultRow>(sql: string, values: unknown[]): Promise<Pg.QueryResult<R>> {
    try {
      return await this.db().query<R>(sql, values);
    } catch (err) {
      throw explain(err);
    }
  }

  async connect(): Promise<void> {
    try {
      await this.db().query("SELECT 1");
    } catch (err) {
      throw connectionFailure(this.target.url, err);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.end();
  }

  async store(taskId: string, meta: ResultMeta): Promise<void> {
    const row = taskResultRow({ ...meta, task_id: taskId }, this.options.serializer);
    await this.query(STORE_SQL, [
      row.task_id, row.status, row.content_type, row.content_encoding, row.result, row.traceback, row.meta,
      row.periodic_task_name, row.task_name, row.task_args, row.task_kwargs, row.worker, row.status === "STARTED",
    ]);
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    const res = await this.query<StoredTaskResult>(GET_SQL, [taskId]);
    const row = res.rows[0];
    return row ? metaOfRow(taskId, row, this.options.accept) : null;
  }

  /** Reads the row every `pollIntervalMs` until the task is ready (a database has no subscription). */
  waitForReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta> {
    let timer: NodeJS.Timeout | null = null;
    const timeout = (): Error => Object.assign(new Error(`The operation timed out waiting for the result of task ${taskId} (${timeoutMs ?? 0} ms)`), { name: "TimeoutError" });
    return waitOnce(timeoutMs, timeout, () => timer && clearTimeout(timer), (waiter) => {
      const poll = (): void => {
        this.get(taskId).then(
          (meta) => {
            if (waiter.done()) return;
            if (meta && READY_STATES.has(meta.status)) waiter.resolve(meta);
            else timer = setTimeout(poll, this.pollIntervalMs);
          },
          (err: unknown) => waiter.reject(err instanceof Error ? err : new Error(String(err))),
        );
      };
      poll();
    });
  }

  async forget(taskId: string): Promise<void> {
    await this.query(`DELETE FROM ${TASKS} WHERE task_id = $1`, [taskId]);
  }

  async saveGroup(groupId: string, meta: GroupMeta): Promise<void> {
    const content = groupResultContent(meta, this.options.serializer);
    await this.query(SAVE_GROUP_SQL, [groupId, content.contentType, content.contentEncoding, content.text]);
  }

  async restoreGroup(groupId: string): Promise<GroupMeta | null> {
    const res = await this.query<{ content_type: string; content_encoding: string; result: string | null }>(
      `SELECT content_type, content_encoding, result FROM ${GROUPS} WHERE group_id = $1`,
      [groupId],
    );
    const row = res.rows[0];
    return row ? groupMetaOfRow(row.result, row.content_type, row.content_encoding, this.options.accept) : null;
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.query(`DELETE FROM ${GROUPS} WHERE group_id = $1`, [groupId]);
  }

  /**
   * A chord sent from here (django-celery-results' apply_chord): its ChordCounter row, made before
   * the header is sent: the group id, the members' result tuples as `json.dumps` writes them, and
   * the count of members left. Header members then join through it (onChordPartReturn here, or a
   * Python worker's on_chord_part_return).
   */
  async applyChord(groupId: string, header: ResultTuple[]): Promise<void> {
    await this.query(`INSERT INTO ${CHORDS} (group_id, sub_tasks, count) VALUES ($1, $2, $3)`, [groupId, pyJsonDumps(header), header.length]);
  }

  /**
   * One finished chord header member (django-celery-results' on_chord_part_return): the group's
   * ChordCounter is decremented under SELECT ... FOR UPDATE; the member that brings it to 0 deletes
   * it and gets every member's state and result, in header order (`[1, id, state, result]` JSON,
   * as canvas.ts reads them). No ChordCounter (the chord was not applied through this backend): not
   * complete, as Python logs "Can't find ChordCounter" and returns.
   */
  async onChordPartReturn(groupId: string, _groupIndex: number | null, member: string): Promise<{ complete: boolean; members: string[] }> {
    const client = await this.db().connect();
    let subTasks: string;
    try {
      await client.query("BEGIN");
      const res = await client.query<{ sub_tasks: string; count: number }>(`SELECT sub_tasks, count FROM ${CHORDS} WHERE group_id = $1 FOR UPDATE`, [groupId]);
      const counter = res.rows[0];
      if (!counter) {
        await client.query("ROLLBACK");
        return { complete: false, members: [] };
      }
      const left = counter.count - 1;
      if (left !== 0) await client.query(`UPDATE ${CHORDS} SET count = $2 WHERE group_id = $1`, [groupId, left]);
      else await client.query(`DELETE FROM ${CHORDS} WHERE group_id = $1`, [groupId]);
      await client.query("COMMIT");
      if (left !== 0) return { complete: false, members: [] };
      subTasks = counter.sub_tasks;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw explain(err);
    } finally {
      client.release();
    }
    const self = pyJsonLoads(member) as WireValue[];
    const tuples = pyJsonLoads(subTasks);
    if (!isResultTupleList(tuples)) throw new Error(`ChordCounter of group ${groupId}: sub_tasks is not a list of result tuples`);
    const ids = tuples.map((tuple) => tuple[0][0]);
    const members: string[] = [];
    for (const id of ids) {
      if (id === self[1]) {
        members.push(member);
        continue;
      }
      const meta = await this.get(id);
      members.push(pyJsonDumps([1, id, meta?.status ?? "PENDING", meta?.result ?? null]));
    }
    return { complete: true, members };
  }

  /** The database, its password masked (for logs and banners). */
  toString(): string {
    return sanitizeUrl(this.target.url, URL_MASK);
  }
}
