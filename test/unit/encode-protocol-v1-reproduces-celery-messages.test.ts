/**
 * `taskProtocol: 1` (Celery's task_protocol = 1): the legacy message of Celery's `as_task_v1`,
 * checked against the v1 messages captured from Celery 5.2.6 (redis-protocol-v1,
 * amqp-protocol-v1): the same body bytes, no task headers, the same properties.
 */
import { decodeTask } from "../../src/protocol/decode";
import { encodeTask } from "../../src/protocol/encode";
import type { WireObject } from "../../src/protocol/message";
import { loadVector, messagesOf } from "../support/vectors";

describe.each(["redis-protocol-v1", "amqp-protocol-v1"])("%s", (name) => {
  const [{ raw }] = messagesOf(loadVector(name));
  const sent = JSON.parse(raw.body.toString()) as WireObject;
  const t = decodeTask(raw, { accept: ["json"] });
  const message = encodeTask(
    {
      id: t.id,
      task: t.task,
      args: t.args,
      kwargs: t.kwargs,
      // as the capture sent it: add.apply_async((2, 2), countdown=10, expires=600)
      countdown: 10,
      expires: 600,
      origin: "ignored in v1",
      replyTo: raw.properties.reply_to ?? "",
    },
    { serializer: "json", protocol: 1, now: new Date(t.expires!.getTime() - 600_000) },
  );

  test("the body is byte for byte the one Celery sent (eta/expires at celeriac's millisecond precision)", () => {
    const ms = (iso: unknown) => (typeof iso === "string" ? iso.replace(/(\.\d{3})\d{3}/, "$1000") : iso);
    const expected = Buffer.from(raw.body.toString().replace(/"(eta|expires)": "([^"]+)"/g, (_m, k: string, v: string) => `"${k}": "${ms(v) as string}"`));
    expect(message.body.toString()).toBe(expected.toString());
    expect(Object.keys(JSON.parse(message.body.toString()) as object)).toEqual(Object.keys(sent));
  });

  test("no task headers; correlation_id, reply_to, delivery_mode, expiration and priority as Celery's", () => {
    expect(message.headers).toEqual({});
    expect(message.contentType).toBe("application/json");
    const { correlation_id, reply_to, delivery_mode, priority, expiration } = raw.properties;
    expect(message.properties).toEqual({ correlation_id, reply_to, delivery_mode, priority, expiration });
  });

  test("celeriac's decoder reads it as the task Celery sent", () => {
    const again = decodeTask(message, { accept: ["json"] });
    expect({ id: again.id, task: again.task, args: again.args, kwargs: again.kwargs, eta: again.eta, expires: again.expires }).toEqual({
      id: t.id,
      task: t.task,
      args: t.args,
      kwargs: t.kwargs,
      eta: t.eta,
      expires: t.expires,
    });
  });
});
