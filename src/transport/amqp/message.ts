/**
 * RawMessage ⇄ AMQP basic properties (docs/protocol.md §2.2, §6.2).
 *
 * Publish: content_type, content_encoding, headers (every integer explicitly typed, see
 * header-types.ts), delivery_mode (default 2), priority (target's, else the message's),
 * correlation_id, reply_to, expiration (string ms); message_id, timestamp, type, user_id, app_id
 * only when the message carries them. Nothing else (Celery sends no message_id/timestamp/...).
 * Redis-only properties (delivery_info, body_encoding, delivery_tag) are never sent.
 */
import type { Options } from "amqplib";
import type { RawMessage, TaskProperties, WireValue } from "../../protocol/message";
import { decodeFieldTable, encodeFieldTable } from "./header-types";
import { tableDecoderInstalled } from "./table-decoder";

/** amqplib publish options for a RawMessage. */
export function publishProperties(message: RawMessage, priority?: number): Options.Publish {
  const p = message.properties ?? {};
  const out: Options.Publish = {
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    headers: encodeFieldTable(message.headers),
    deliveryMode: typeof p.delivery_mode === "number" ? p.delivery_mode : 2,
  };
  const prio = priority ?? p.priority;
  if (typeof prio === "number") out.priority = Math.max(0, Math.min(255, Math.trunc(prio)));
  if (p.correlation_id !== undefined && p.correlation_id !== null) out.correlationId = String(p.correlation_id);
  if (p.reply_to !== undefined && p.reply_to !== null) out.replyTo = String(p.reply_to);
  if (p.expiration !== undefined && p.expiration !== null) out.expiration = String(p.expiration);
  if (typeof p.message_id === "string") out.messageId = p.message_id;
  if (typeof p.timestamp === "number") out.timestamp = p.timestamp;
  if (typeof p.type === "string") out.type = p.type;
  if (typeof p.user_id === "string") out.userId = p.user_id;
  if (typeof p.app_id === "string") out.appId = p.app_id;
  return out;
}

/** The parts of an amqplib message we read. */
export interface AmqpMessageLike {
  content: Buffer;
  properties: {
    contentType?: unknown;
    contentEncoding?: unknown;
    headers?: unknown;
    deliveryMode?: unknown;
    priority?: unknown;
    correlationId?: unknown;
    replyTo?: unknown;
    expiration?: unknown;
    messageId?: unknown;
    timestamp?: unknown;
    type?: unknown;
    userId?: unknown;
    appId?: unknown;
  };
}

/** A delivered amqplib message → RawMessage (headers unwrapped to plain values). */
export function rawMessageFrom(msg: AmqpMessageLike): RawMessage {
  const p = msg.properties;
  const properties: TaskProperties = {};
  // One test per property, in the order kombu lists them (no table to walk per message).
  if (p.correlationId !== undefined && p.correlationId !== null) properties.correlation_id = p.correlationId as string;
  if (p.replyTo !== undefined && p.replyTo !== null) properties.reply_to = p.replyTo as string;
  if (p.deliveryMode !== undefined && p.deliveryMode !== null) properties.delivery_mode = p.deliveryMode as number;
  if (p.priority !== undefined && p.priority !== null) properties.priority = p.priority as number;
  if (p.expiration !== undefined && p.expiration !== null) properties.expiration = p.expiration as string;
  if (p.messageId !== undefined && p.messageId !== null) properties.message_id = p.messageId as WireValue;
  if (p.timestamp !== undefined && p.timestamp !== null) properties.timestamp = p.timestamp as WireValue;
  if (p.type !== undefined && p.type !== null) properties.type = p.type as WireValue;
  if (p.userId !== undefined && p.userId !== null) properties.user_id = p.userId as WireValue;
  if (p.appId !== undefined && p.appId !== null) properties.app_id = p.appId as WireValue;
  const headers = p.headers as { [k: string]: unknown } | undefined;
  return {
    body: msg.content,
    contentType: typeof p.contentType === "string" ? p.contentType : "",
    contentEncoding: typeof p.contentEncoding === "string" ? p.contentEncoding : "",
    // Our table decoder gives plain values already; amqplib's own wraps timestamps and decimals.
    headers: tableDecoderInstalled() && headers ? (headers as RawMessage["headers"]) : decodeFieldTable(headers),
    properties,
  };
}
