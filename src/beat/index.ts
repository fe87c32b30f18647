/** Periodic tasks: Celery's beat (schedules, scheduler, state stores, run-time entries). */
export { Beat, resolveTimezone, describeEntry } from "./beat";
export type { BeatOptions, BeatSender, BeatEntryInfo } from "./beat";
export { BeatEntries, beatEntries } from "./admin";
export { makeEntry, entryToJSON, normalizeOptions } from "./entry";
export type { BeatEntry, BeatEntryJSON, BeatEntryOptions, BeatEntrySpec, BeatSchedule } from "./entry";
export {
  crontab,
  Crontab,
  CrontabParser,
  ParseException,
  schedule,
  IntervalSchedule,
  solar,
  Solar,
  maybeSchedule,
  scheduleFromJSON,
  humanizeSeconds,
} from "./schedules";
export type { Schedule, ScheduleContext, ScheduleJSON, ScheduleState, CronSpec, CrontabFields, SolarEvent } from "./schedules";
export { FileStore, RedisStore, RedisEntryAdmin, DEFAULT_KEY_PREFIX, DEFAULT_LEASE_TIMEOUT } from "./store";
export type { BeatStore, EntryState, StoreMeta, LeaseResult, RedisStoreOptions } from "./store";
