/**
 * What a structured (JSON) log line written here should carry about the task running here: its id
 * and name (Celery's `task_id` / `task_name` of its task log format) and, when it is traced, the
 * `trace_id` and `span_id` of its `run/<task>` span (or of the active span inside it), as
 * OpenTelemetry's log correlation names them. A JSON log formatter merges `taskLogFields()` into
 * each line; outside a task it gives `{}`.
 */
import { currentTask } from "../current-task";
import { otelApi } from "./otel-api";

/** The log fields of the task running here (see the module's comment). */
export interface TaskLogFields {
  task_id?: string;
  task_name?: string;
  trace_id?: string;
  span_id?: string;
}

/** The fields for a log line written now (`{}` outside a task and a trace). */
export function taskLogFields(): TaskLogFields {
  const out: TaskLogFields = {};
  const task = currentTask();
  if (task) {
    out.task_id = task.id;
    if (task.name) out.task_name = task.name;
  }
  const api = otelApi();
  if (!api) return out;
  const span = api.trace.getSpan(api.context.active()) ?? (task?.traceContext ? api.trace.getSpan(task.traceContext) : undefined);
  const sc = span?.spanContext();
  if (sc && api.trace.isSpanContextValid(sc)) {
    out.trace_id = sc.traceId;
    out.span_id = sc.spanId;
  }
  return out;
}
