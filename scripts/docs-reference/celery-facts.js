/**
 * What the reference pages say of Celery itself, read from Celery 5.7.0 (celery/app/defaults.py
 * and the click commands of celery/bin/). interop-tests/reference-pages-state-celery-as-it-is.test.ts
 * checks both tables against the newest Celery installed in interop-tests/.venv.
 */
"use strict";

/**
 * Settings whose default in Celery differs from celeriac's (`DEFAULTS`), with Celery's default as
 * Python writes it and what it means there. Every other setting Celery has, it has with celeriac's default.
 */
const CELERY_DEFAULTS_DIFFER = {
  broker: { celery: "None", means: "amqp://guest@localhost//" },
  taskRoutes: { celery: "None", means: "no routes" },
  taskRejectOnWorkerLost: { celery: "None", means: "not requeued" },
  workerConcurrency: { celery: "None", means: "the number of CPUs" },
  brokerConnectionRetryOnStartup: { celery: "None", means: "broker_connection_retry decides" },
  beatMaxLoopInterval: { celery: "0", means: "the scheduler's own: 300 s" },
  beatScheduleFilename: { celery: "'celerybeat-schedule'", means: "a shelve file" },
};

/** The options and arguments of Celery's commands (`celery <command> --help`), and the global ones. */
const CELERY_CLI = {
  global: ["--app", "--broker", "--config", "--loader", "--no-color", "--quiet", "--result-backend", "--skip-checks", "--version", "--workdir", "-A", "-C", "-b", "-q"],
  commands: {
    worker: ["--autoscale", "--beat", "--concurrency", "--detach", "--disable-prefetch", "--discard", "--events", "--exclude-queues", "--executable", "--gid", "--heartbeat-interval", "--hostname", "--include", "--logfile", "--loglevel", "--max-memory-per-child", "--max-tasks-per-child", "--optimization", "--pidfile", "--pool", "--pool-start-method", "--prefetch-multiplier", "--purge", "--queues", "--schedule", "--schedule-filename", "--scheduler", "--soft-time-limit", "--statedb", "--task-events", "--time-limit", "--uid", "--umask", "--without-gossip", "--without-heartbeat", "--without-mingle", "-B", "-D", "-E", "-I", "-O", "-P", "-Q", "-S", "-X", "-c", "-f", "-l", "-n", "-s"],
    beat: ["--detach", "--enable-remote-control", "--executable", "--gid", "--hostname", "--logfile", "--loglevel", "--max-interval", "--no-enable-remote-control", "--pidfile", "--schedule", "--scheduler", "--uid", "--umask", "-S", "-f", "-l", "-n", "-s"],
    inspect: ["--destination", "--json", "--list", "--timeout", "-d", "-j", "-t", "command"],
    control: ["--destination", "--json", "--list", "--timeout", "-d", "-j", "-t", "command"],
    status: ["--destination", "--json", "--timeout", "-d", "-j", "-t"],
    events: ["--camera", "--detach", "--dump", "--executable", "--freq", "--frequency", "--gid", "--logfile", "--loglevel", "--maxrate", "--pidfile", "--uid", "--umask", "-F", "-c", "-d", "-f", "-l", "-r"],
    call: ["--args", "--countdown", "--eta", "--exchange", "--expires", "--kwargs", "--queue", "--routing-key", "--serializer", "-a", "-k", "name"],
    result: ["--task", "--traceback", "-t", "task_id"],
    purge: ["--exclude-queues", "--force", "--queues", "-Q", "-X", "-f"],
  },
};

module.exports = { CELERY_DEFAULTS_DIFFER, CELERY_CLI };
