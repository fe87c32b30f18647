/** Whether a result backend URL is Celery's `rpc://` (apart from the backend, so checking loads none of it). */

/** True for a `rpc://` result backend URL. */
export function isRpcBackendUrl(url: string | null | undefined): boolean {
  return typeof url === "string" && /^rpc:\/\//i.test(url);
}
