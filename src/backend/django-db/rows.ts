/**
 * django-celery-results' rows (models.py: TaskResult, GroupResult; backends/database.py): what
 * its DatabaseBackend writes for a state, and the meta it reads back. Pure: no I/O.
 */
import { isWireObject, type WireValue } from "../../protocol/message";
import { argsRepr, kwargsRepr } from "../../protocol/repr";
import { isoformatUtc } from "../../protocol/isotime";
import { isResultTuple, isResultTupleList, type GroupMeta, type ResultMeta } from "../../protocol/result-meta";
import { deserialize, serialize, type SerializerName } from "../../protocol/serializers";

/** A value as the backend's `encode_content` stores it: text, base64 for a binary serializer. */
export interface EncodedContent {
  contentType: string;
  contentEncoding: string;
  text: string;
}

/** The columns of `django_celery_results_taskresult` one store writes (dates are set by SQL). */
export interface TaskResultRow {
  task_id: string;
  status: string;
  content_type: string;
  content_encoding: string;
  result: string;
  traceback: string | null;
  meta: string;
  periodic_task_name: string | null;
  task_name: string | null;
  task_args: string | null;
  task_kwargs: string | null;
  worker: string | null;
}

/** The columns read back. */
export interface StoredTaskResult {
  status: string;
  content_type: string;
  content_encoding: string;
  result: string | null;
  traceback: string | null;
  meta: string | null;
  date_done: Date | null;
  task_name: string | null;
  worker: string | null;
}

/** Celery's `encode_content`: the serializer's text; `binary` (msgpack) content as base64. */
export function encodeContent(value: WireValue, serializer: SerializerName): EncodedContent {
  const { body, contentType, contentEncoding } = serialize(value, serializer);
  return { contentType, contentEncoding, text: contentEncoding === "binary" ? body.toString("base64") : body.toString("utf8") };
}

/** Celery's `decode_content`: null for empty content, as Python's `if content:`. */
export function decodeContent(text: string | null, contentType: string, contentEncoding: string, accept: readonly string[]): WireValue {
  if (!text) return null;
  const body = contentEncoding === "binary" ? Buffer.from(text, "base64") : Buffer.from(text, "utf8");
  return deserialize(body, contentType, contentEncoding, accept);
}

/**
 * The row DatabaseBackend._store_result writes for `meta`: the result and `meta` (`{"children":
 * [...]}`) encoded by the result serializer; with result_extended (the meta has `name`) the task
 * name, the worker and the args and kwargs as their encoded repr (Celery stores the message's
 * argsrepr/kwargsrepr; here they are rebuilt from the args as Celery's saferepr writes them).
 */
export function taskResultRow(meta: ResultMeta, serializer: SerializerName): TaskResultRow {
  const result = encodeContent(meta.result, serializer);
  const extended = meta.name !== undefined;
  const reprOf = (text: string | null): string | null => (text === null ? null : encodeContent(text, serializer).text);
  return {
    task_id: meta.task_id,
    status: meta.status,
    content_type: result.contentType,
    content_encoding: result.contentEncoding,
    result: result.text,
    traceback: meta.traceback,
    meta: encodeContent({ children: meta.children }, serializer).text,
    periodic_task_name: null,
    task_name: extended ? (meta.name ?? null) : null,
    task_args: extended ? reprOf(meta.args ? argsRepr(meta.args) : null) : null,
    task_kwargs: extended ? reprOf(meta.kwargs ? kwargsRepr(meta.kwargs) : null) : null,
    worker: extended ? (meta.worker ?? null) : null,
  };
}

/** The meta of a stored row (`_get_task_meta_for`): children from its `meta` column, an aware date_done. */
export function metaOfRow(taskId: string, row: StoredTaskResult, accept: readonly string[]): ResultMeta {
  const decode = (text: string | null): WireValue => decodeContent(text, row.content_type, row.content_encoding, accept);
  const extra = decode(row.meta);
  const children = isWireObject(extra) && isResultTupleList(extra.children) ? extra.children : [];
  const meta: ResultMeta = {
    status: row.status,
    result: decode(row.result),
    traceback: row.traceback,
    children,
    date_done: row.date_done ? isoformatUtc(row.date_done, true) : null,
    task_id: taskId,
  };
  if (row.task_name !== null) {
    meta.name = row.task_name;
    meta.worker = row.worker;
  }
  return meta;
}

/** A group's row content: the GroupResult tuple (`as_tuple()`), encoded. */
export function groupResultContent(meta: GroupMeta, serializer: SerializerName): EncodedContent {
  return encodeContent(meta.result, serializer);
}

/** The group meta of a stored GroupResult row; null when its result is not a GroupResult tuple. */
export function groupMetaOfRow(text: string | null, contentType: string, contentEncoding: string, accept: readonly string[]): GroupMeta | null {
  const value = decodeContent(text, contentType, contentEncoding, accept);
  return isResultTuple(value) ? { result: value } : null;
}
