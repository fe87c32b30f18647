/**
 * Exchange names fixed by Celery and kombu (docs/protocol.md §10, §11): the one home of these wire
 * constants, used by the worker's pidbox, the remote-control client and the event dispatcher. Pure.
 */

/** kombu pidbox: the fanout exchange remote-control requests are broadcast on (`celery.pidbox`). */
export const PIDBOX_EXCHANGE = "celery.pidbox";

/** kombu pidbox: the direct exchange replies go to, routed by the client's oid (`reply.celery.pidbox`). */
export const REPLY_EXCHANGE = "reply.celery.pidbox";

/** Celery events: the topic exchange every task-* and worker-* event is published on (`celeryev`). */
export const EVENT_EXCHANGE = "celeryev";
