/**
 * Optional packages: the libraries only some users need (bzip2, lzma, zstd on an older Node,
 * solar schedules) are optional peer dependencies, not installed with celeriac. They are required
 * on first use; when one is not installed, the error says which package to install and for what.
 */

/** A feature was used whose optional package is not installed. */
export class MissingOptionalPackageError extends Error {
  /**
   * @param packageName the npm package to install
   * @param feature what needs it, as the message names it ("bzip2 compression")
   */
  constructor(
    readonly packageName: string,
    readonly feature: string,
  ) {
    super(`install ${packageName} to use ${feature} (npm install ${packageName}): it is an optional dependency of celeriac`);
    this.name = "MissingOptionalPackageError";
  }
}

/** True when `err` says `packageName` itself cannot be found (not a module it requires). */
function isMissing(err: unknown, packageName: string): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e.code === "MODULE_NOT_FOUND" && typeof e.message === "string" && e.message.startsWith(`Cannot find module '${packageName}'`);
}

/**
 * `require(packageName)`, or MissingOptionalPackageError naming the package and `feature` when it
 * is not installed. Any other failure (the package is there but broken) is thrown as it is.
 */
export function requireOptional<T>(packageName: string, feature: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use only (an optional peer dependency)
    return require(packageName) as T;
  } catch (err) {
    if (isMissing(err, packageName)) throw new MissingOptionalPackageError(packageName, feature);
    throw err;
  }
}
