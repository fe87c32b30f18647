/** Reading the beat state file (`celeriac-beat-1`) that celeriac beat writes with `-s`. */
import { readFileSync } from "fs";

export interface BeatStateEntry {
  last_run_at: string;
  total_run_count: number;
}

export interface BeatState {
  __version__: string;
  tz: string;
  utc_enabled: boolean;
  entries: { [name: string]: BeatStateEntry };
}

/** The beat state file at `file`, parsed. */
export function readBeatState(file: string): BeatState {
  return JSON.parse(readFileSync(file, "utf8")) as BeatState;
}
