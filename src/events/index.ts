export { LamportClock } from "./clock";
export { EventDispatcher, EVENT_EXCHANGE, eventRoutingKey, utcoffset } from "./dispatcher";
export type { CeleryEvent, EventDispatcherOptions } from "./dispatcher";
export { EventReceiver, decodeEvents } from "./receiver";
export type { EventReceiverOptions } from "./receiver";
export { WorkerEventPublisher, roundedLoadavg, SOFTWARE_INFO } from "./worker";
export type { WorkerEventOptions, WorkerEventSource } from "./worker";
