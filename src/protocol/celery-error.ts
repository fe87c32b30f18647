/** `CeleryError`: an exception as it crosses the wire (docs/protocol.md §7.3), the base of every error class celeriac gives for one. */
import type { WireValue } from "./message";
import type { ExceptionInfo } from "./result-meta";
import { PyTuple, pyRepr } from "./repr";

/** Module reported for errors raised by JS code: not importable by Python (docs/protocol.md §7.3). */
export const JS_EXC_MODULE = "celeriac.js";

/** Python `str(arg)` for one exception argument. */
function pyStr(v: WireValue): string {
  return typeof v === "string" ? v : pyRepr(v);
}

/** Python `str(exc)`: "" for no args, str(arg) for one, the args tuple repr otherwise. */
export function excStr(args: readonly WireValue[]): string {
  if (args.length === 0) return "";
  if (args.length === 1) return pyStr(args[0]);
  return pyRepr(new PyTuple(args));
}

/** An exception that came from (or is meant for) the wire; `name` is the exc_type. */
export class CeleryError extends Error {
  readonly excType: string;
  readonly excMessage: WireValue[];
  readonly excModule: string;
  traceback: string | null;

  constructor(excType: string, excMessage: WireValue[] = [], excModule: string = JS_EXC_MODULE, traceback: string | null = null) {
    super(excStr(excMessage));
    this.name = excType.split(".").pop() || excType;
    this.excType = excType;
    this.excMessage = excMessage;
    this.excModule = excModule;
    this.traceback = traceback;
  }

  toExceptionInfo(): ExceptionInfo {
    return { exc_type: this.excType, exc_message: this.excMessage, exc_module: this.excModule };
  }
}

