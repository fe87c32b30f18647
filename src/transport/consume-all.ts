/** Consume a queue of control/reply messages: no ack, no prefetch limit (Celery's no_ack consumers). */
import type { Consumer, Delivery, Transport } from "./types";

/** Every delivery is settled at once and handed to `onDelivery`. */
export function consumeAll(
  transport: Transport,
  queue: string,
  onDelivery: (delivery: Delivery) => void,
  onTransportError?: (error: Error) => void,
): Promise<Consumer> {
  return transport.consume({
    queues: [queue],
    noAck: true,
    hasCapacity: () => true,
    capacity: () => 100,
    prefetch: 100,
    onDelivery: (d) => {
      void d.ack().catch(() => undefined);
      onDelivery(d);
    },
    onTransportError,
  });
}
