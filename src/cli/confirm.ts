/** click's `confirm(text, abort=True)`, as `celery purge` asks before deleting. */
import { createInterface } from "node:readline";

/**
 * Ask `text [y/N]: ` on stdout and read stdin: "y"/"yes" (any case) confirms, "n"/"no", an
 * empty line or end of input is no, anything else is asked again after "Error: invalid input".
 * Resolves false after printing "Aborted!" to stderr, as click does before exiting 1.
 */
export function confirm(text: string): Promise<boolean> {
  return new Promise((resolve) => {
    process.stdout.write(`${text} [y/N]: `);
    const rl = createInterface({ input: process.stdin });
    let answered = false;
    const finish = (yes: boolean): void => {
      if (answered) return;
      answered = true;
      rl.close();
      if (!yes) process.stderr.write("Aborted!\n");
      resolve(yes);
    };
    rl.on("line", (line) => {
      const answer = line.trim().toLowerCase();
      if (["y", "yes"].includes(answer)) finish(true);
      else if (["", "n", "no"].includes(answer)) finish(false);
      else process.stdout.write(`Error: invalid input\n${text} [y/N]: `);
    });
    rl.on("close", () => {
      if (!answered) process.stdout.write("\n");
      finish(false);
    });
  });
}
