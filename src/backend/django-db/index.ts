/**
 * `django-db`: the result backend of django-celery-results, on the database Django uses:
 * PostgreSQL (`pg`), SQLite (`better-sqlite3`) or MySQL/MariaDB (`mysql2`), each an optional
 * package loaded when this backend is first used (dialect.ts; postgres.ts, sqlite.ts, mysql.ts).
 * It writes and reads the rows django-celery-results' DatabaseBackend does (rows.ts), so Django's
 * `AsyncResult`, the admin and `TaskResult.objects` see Node results; a chord header member joins
 * the chord through django-celery-results' `ChordCounter`, as a Python worker's does, and a chord
 * sent from Node creates that `ChordCounter` first, as a Python client's does.
 *
 * The tables are Django's: `python manage.py migrate django_celery_results` creates them.
 */
import type { ResultBackend } from "../types";
import { waitOnce } from "../waiter";
import { connectionFailure } from "../../connectivity/errors";
import { isResultTupleList, READY_STATES, type GroupMeta, type ResultMeta, type ResultTuple } from "../../protocol/result-meta";
import type { WireValue } from "../../protocol/message";
import type { SerializerName } from "../../protocol/serializers";
import { pyJsonDumps, pyJsonLoads } from "../../protocol/serializers/json";
import { sanitizeUrl, URL_MASK } from "../../redact";
import { MissingDriverError, type SqlDialect, type SqlValue } from "./dialect";
import { MysqlDialect } from "./mysql";
import { PostgresDialect } from "./postgres";
import { SqliteDialect } from "./sqlite";
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

// The columns a store writes on a stored task (django-celery-results' get_or_create, then save:
// date_done is auto_now, date_started is set by a STARTED state only). Dates are this process's
// clock, as Django's auto_now takes the clock of the process that saves.
const TASK_UPDATE = ["status", "content_type", "content_encoding", "result", "traceback", "meta", "periodic_task_name", "task_name", "task_args", "task_kwargs", "worker", "date_done", "date_started"];

const GET_SQL = `SELECT status, content_type, content_encoding, result, traceback, meta, date_done, task_name, worker FROM ${TASKS} WHERE task_id = ?`;

/** The dialect of `target`'s database. */
function dialectOf(target: DatabaseTarget): SqlDialect {
  if (target.kind === "sqlite") return new SqliteDialect(target);
  return target.kind === "mysql" ? new MysqlDialect(target) : new PostgresDialect(target);
}

/** The django-db result backend. */
export class DjangoDbBackend implements ResultBackend {
  readonly name = "django-db";
  private readonly target: DatabaseTarget;
  private readonly dialect: SqlDialect;
  private readonly pollIntervalMs: number;

  constructor(database: DjangoDatabaseSettings | null, private readonly options: DjangoDbBackendOptions) {
    this.target = databaseTarget(database);
    this.dialect = dialectOf(this.target);
    this.pollIntervalMs = options.pollIntervalMs ?? 200;
  }

  /** A missing table is explained: Django's migrations have not run on this database. */
  private explain(err: unknown): unknown {
    if (!this.dialect.isMissingTable(err)) return err;
    return new Error(`${(err as Error).message}: the django-db result backend uses django-celery-results' tables (python manage.py migrate django_celery_results)`, { cause: err });
  }

  /** `fn` on the database, a missing table explained. */
  private async sql<T>(fn: (db: SqlDialect) => Promise<T>): Promise<T> {
    try {
      return await fn(this.dialect);
    } catch (err) {
      throw this.explain(err);
    }
  }

  async connect(): Promise<void> {
    try {
      await this.dialect.row("SELECT 1 AS one", []);
    } catch (err) {
      if (err instanceof MissingDriverError) throw err;
      throw connectionFailure(this.target.url, err);
    }
  }

  async close(): Promise<void> {
    await this.dialect.close();
  }

  async store(taskId: string, meta: ResultMeta): Promise<void> {
    const row = taskResultRow({ ...meta, task_id: taskId }, this.options.serializer);
    const now = new Date();
    const values: Record<string, SqlValue> = { ...row, date_created: now, date_done: now, date_started: row.status === "STARTED" ? now : null };
    await this.sql((db) => db.upsert({ table: TASKS, key: "task_id", values, update: TASK_UPDATE, keepIfNull: ["date_started"], unlessSuccess: true }));
  }

  async get(taskId: string): Promise<ResultMeta | null> {
    // date_done as the driver gives it (a Date, or SQLite's text), made a Date by the dialect
    const row = await this.sql((db) => db.row<Omit<StoredTaskResult, "date_done"> & { date_done: unknown }>(GET_SQL, [taskId]));
    return row ? metaOfRow(taskId, { ...row, date_done: this.dialect.dateOf(row.date_done) }, this.options.accept) : null;
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
    await this.sql((db) => db.run(`DELETE FROM ${TASKS} WHERE task_id = ?`, [taskId]));
  }

  async saveGroup(groupId: string, meta: GroupMeta): Promise<void> {
    const content = groupResultContent(meta, this.options.serializer);
    const now = new Date();
    const values = { group_id: groupId, content_type: content.contentType, content_encoding: content.contentEncoding, result: content.text, date_created: now, date_done: now };
    await this.sql((db) => db.upsert({ table: GROUPS, key: "group_id", values, update: ["content_type", "content_encoding", "result", "date_done"] }));
  }

  async restoreGroup(groupId: string): Promise<GroupMeta | null> {
    const row = await this.sql((db) =>
      db.row<{ content_type: string; content_encoding: string; result: string | null }>(`SELECT content_type, content_encoding, result FROM ${GROUPS} WHERE group_id = ?`, [groupId]),
    );
    return row ? groupMetaOfRow(row.result, row.content_type, row.content_encoding, this.options.accept) : null;
  }

  async deleteGroup(groupId: string): Promise<void> {
    await this.sql((db) => db.run(`DELETE FROM ${GROUPS} WHERE group_id = ?`, [groupId]));
  }

  /**
   * A chord sent from here (django-celery-results' apply_chord): its ChordCounter row, made before
   * the header is sent: the group id, the members' result tuples as `json.dumps` writes them, and
   * the count of members left. Header members then join through it (onChordPartReturn here, or a
   * Python worker's on_chord_part_return).
   */
  async applyChord(groupId: string, header: ResultTuple[]): Promise<void> {
    await this.sql((db) => db.run(`INSERT INTO ${CHORDS} (group_id, sub_tasks, count) VALUES (?, ?, ?)`, [groupId, pyJsonDumps(header), header.length]));
  }

  /**
   * One finished chord header member (django-celery-results' on_chord_part_return): the group's
   * ChordCounter is decremented in one short transaction (SELECT ... FOR UPDATE; SQLite: BEGIN IMMEDIATE); the member that brings it to 0 deletes
   * it and gets every member's state and result, in header order (`[1, id, state, result]` JSON,
   * as canvas.ts reads them). No ChordCounter (the chord was not applied through this backend): not
   * complete, as Python logs "Can't find ChordCounter" and returns.
   */
  async onChordPartReturn(groupId: string, _groupIndex: number | null, member: string): Promise<{ complete: boolean; members: string[] }> {
    const subTasks = await this.sql((db) =>
      db.transaction(async (tx) => {
        const counter = await tx.row<{ sub_tasks: string; count: number }>(`SELECT sub_tasks, count FROM ${CHORDS} WHERE group_id = ?${db.lockForUpdate}`, [groupId]);
        if (!counter) return null;
        const left = Number(counter.count) - 1;
        if (left !== 0) await tx.run(`UPDATE ${CHORDS} SET count = ? WHERE group_id = ?`, [left, groupId]);
        else await tx.run(`DELETE FROM ${CHORDS} WHERE group_id = ?`, [groupId]);
        return left === 0 ? counter.sub_tasks : null;
      }),
    );
    if (subTasks === null) return { complete: false, members: [] };
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
