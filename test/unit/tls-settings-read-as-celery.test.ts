/**
 * broker_use_ssl, redis_backend_use_ssl and the URLs' ssl_* parameters read as Celery 5.2/5.7,
 * kombu, redis-py and py-amqp read them (celery/backends/redis.py `_params_from_url`,
 * kombu/utils/url.py `parse_url`, kombu/transport/pyamqp.py, redis/connection.py SSLConnection,
 * amqp/transport.py `_wrap_socket_sni`), and where celeriac is stricter.
 */
import { amqpTlsPlan, redisTlsPlan } from "../../src/connectivity/tls-settings";
import { parseAmqpUrl } from "../../src/transport/amqp/url";

const FILES = { ssl_ca_certs: "/etc/ca.pem", ssl_certfile: "/etc/client.pem", ssl_keyfile: "/etc/client.key" };

describe("Redis (redis-py's keys)", () => {
  test("plain redis:// without settings is not TLS", () => {
    expect(redisTlsPlan("redis://h:6379/0", "broker_use_ssl", false)).toBeNull();
    expect(redisTlsPlan("redis://h:6379/0", "redis_backend_use_ssl", null)).toBeNull();
  });

  test("URL parameters, percent-decoded, give the CA, the client certificate and cert_reqs", () => {
    const url = `rediss://:pw@h:6380/0?ssl_cert_reqs=required&ssl_ca_certs=${encodeURIComponent("/my dir/ca.pem")}&ssl_certfile=%2Fc.pem&ssl_keyfile=%2Fc.key`;
    expect(redisTlsPlan(url, "broker_use_ssl", false)).toMatchObject({
      verify: true,
      checkHostname: true,
      caFile: "/my dir/ca.pem",
      caAddsToSystem: true, // redis-py: create_default_context() + load_verify_locations
      certFile: "/c.pem",
      keyFile: "/c.key",
    });
  });

  test("the setting's keys, with URL parameters winning", () => {
    const plan = redisTlsPlan("rediss://h/0?ssl_ca_certs=%2Furl-ca.pem", "redis_backend_use_ssl", { ...FILES, ssl_cert_reqs: "CERT_REQUIRED" });
    expect(plan).toMatchObject({ caFile: "/url-ca.pem", certFile: "/etc/client.pem", keyFile: "/etc/client.key", setting: "redis_backend_use_ssl" });
  });

  test.each([
    ["required", true], ["CERT_REQUIRED", true], [2, true],
    // a client with CERT_OPTIONAL verifies the server as with CERT_REQUIRED (Python's ssl docs)
    ["optional", true], ["CERT_OPTIONAL", true], [1, true],
    ["none", false], ["CERT_NONE", false], [0, false],
  ])("ssl_cert_reqs %p verifies the server: %p", (value, verify) => {
    const plan = redisTlsPlan("rediss://h/0", "broker_use_ssl", { ssl_cert_reqs: value });
    expect(plan?.verify).toBe(verify);
    expect(plan?.checkHostname).toBe(verify);
  });

  test("a bad ssl_cert_reqs is refused with the values Celery takes", () => {
    expect(() => redisTlsPlan("rediss://h/0?ssl_cert_reqs=maybe", "broker_use_ssl", false)).toThrow(/ssl_cert_reqs must be required, optional or none \(CERT_REQUIRED/);
  });

  test("rediss:// alone verifies the server (kombu's broker would not, Celery's backend refuses it)", () => {
    expect(redisTlsPlan("rediss://h/0", "broker_use_ssl", false)).toMatchObject({ verify: true, checkHostname: true });
    expect(redisTlsPlan("rediss://h/0", "redis_backend_use_ssl", null)).toMatchObject({ verify: true });
  });

  test("ssl_check_hostname=false (redis-py; kombu parses it from the URL) keeps verifying the chain only", () => {
    expect(redisTlsPlan("rediss://h/0?ssl_check_hostname=false", "broker_use_ssl", false)).toMatchObject({ verify: true, checkHostname: false });
    expect(redisTlsPlan("rediss://h/0", "broker_use_ssl", { ssl_check_hostname: false })).toMatchObject({ checkHostname: false });
  });

  test("the setting makes redis:// TLS (kombu; Celery 5.3+ for the backend)", () => {
    expect(redisTlsPlan("redis://h/0", "broker_use_ssl", FILES)).toMatchObject({ caFile: "/etc/ca.pem" });
    expect(redisTlsPlan("redis://h/0", "broker_use_ssl", true)).toMatchObject({ verify: true });
    expect(redisTlsPlan("redis://h/0", "redis_backend_use_ssl", FILES)).toMatchObject({ caFile: "/etc/ca.pem" });
  });

  test("ssl_* parameters on a backend redis:// URL are refused with Celery's words; kombu's broker turns TLS on", () => {
    expect(() => redisTlsPlan("redis://h/0?ssl_cert_reqs=required", "redis_backend_use_ssl", null)).toThrow(
      "SSL connection parameters have been provided but the specified URL scheme is redis://. A Redis SSL connection URL should use the scheme rediss://.",
    );
    expect(redisTlsPlan("redis://h/0?ssl_cert_reqs=required", "broker_use_ssl", false)).toMatchObject({ verify: true });
  });

  test("py-amqp's key names and unknown keys are refused, naming the right one", () => {
    expect(() => redisTlsPlan("rediss://h/0", "broker_use_ssl", { ca_certs: "/ca.pem" })).toThrow(
      "broker_use_ssl: unknown key ca_certs: that is the RabbitMQ (py-amqp) name, Redis takes ssl_ca_certs",
    );
    expect(() => redisTlsPlan("rediss://h/0?ssl_ciphers=x", "broker_use_ssl", false)).toThrow(/unknown URL parameter ssl_ciphers/);
  });
});

describe("RabbitMQ (py-amqp's keys)", () => {
  test("amqp:// without broker_use_ssl is not TLS; amqps:// and pyamqps:// are", () => {
    expect(amqpTlsPlan("amqp://g:g@h//", false)).toBeNull();
    expect(amqpTlsPlan("amqps://g:g@h//", false)).toMatchObject({ verify: true, checkHostname: true });
    expect(amqpTlsPlan("pyamqps://g:g@h//", false)).toMatchObject({ verify: true });
  });

  test("broker_use_ssl gives the CA (instead of the system's, as py-amqp), client certificate and server_hostname", () => {
    const plan = amqpTlsPlan("amqps://g:g@h//", { ca_certs: "/ca.pem", certfile: "/c.pem", keyfile: "/c.key", cert_reqs: 2, server_hostname: "rabbit.example" });
    expect(plan).toMatchObject({ caFile: "/ca.pem", caAddsToSystem: false, certFile: "/c.pem", keyFile: "/c.key", servername: "rabbit.example", verify: true });
  });

  test("broker_use_ssl makes amqp:// TLS on kombu's TLS port 5671 unless the URL has one", () => {
    expect(amqpTlsPlan("amqp://g:g@h//", { ca_certs: "/ca.pem" })).not.toBeNull();
    expect(amqpTlsPlan("amqp://g:g@h//", true)).not.toBeNull();
    expect(parseAmqpUrl("amqp://g:g@h//", true)).toMatchObject({ protocol: "amqps", port: 5671 });
    expect(parseAmqpUrl("amqp://g:g@h:5999//", true)).toMatchObject({ protocol: "amqps", port: 5999 });
  });

  test("cert_reqs none: no verification", () => {
    expect(amqpTlsPlan("amqps://h//", { cert_reqs: "CERT_NONE" })).toMatchObject({ verify: false, checkHostname: false });
  });

  test("ssl_* URL parameters are refused (kombu hands them to py-amqp, which raises TypeError)", () => {
    expect(() => amqpTlsPlan("amqps://h//?ssl_ca_certs=%2Fca.pem", false)).toThrow(/URL parameter ssl_ca_certs is not read for RabbitMQ .*broker_use_ssl/);
  });

  test("redis-py's key names are refused, naming py-amqp's", () => {
    expect(() => amqpTlsPlan("amqps://h//", { ssl_certfile: "/c.pem" })).toThrow(
      "broker_use_ssl: unknown key ssl_certfile: that is the Redis (redis-py) name, RabbitMQ takes certfile",
    );
  });
});
