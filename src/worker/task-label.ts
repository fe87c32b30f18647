/** How log lines name a task: `name[id]` as Celery prints it, with wire text escaped (logText). */
import { logText } from "../protocol/repr";

/** `name[id]` for a log line; control characters and non-printables in either are escaped. */
export function taskLabel(task: { readonly name: string; readonly id: string }): string {
  return `${logText(task.name)}[${logText(task.id)}]`;
}
