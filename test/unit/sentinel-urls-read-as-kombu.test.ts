/**
 * `sentinel://` URL lists and their transport options, read as kombu's SentinelChannel and
 * Celery's SentinelBackend read them: every URL is a sentinel, the first one's password, user and
 * database are the master's, the sentinels' own password comes from sentinel_kwargs only.
 */
import { isSentinelUrl, parseSentinelUrl, sentinelRedisOptions } from "../../src/connectivity/sentinel";
import { dbFromUrl } from "../../src/transport/redis/options";
import { maskUrl } from "../../src/connectivity/url";
import { connectionFailure } from "../../src/connectivity/errors";

const URL_LIST = "sentinel://:pw@h1:26380/2;sentinel://h2;sentinel://[::1]:26382/2";

test("every URL of the list is a sentinel (port 26379 by default); the first gives the master's password and database", () => {
  expect(isSentinelUrl(URL_LIST)).toBe(true);
  expect(isSentinelUrl("redis://h/0")).toBe(false);
  expect(parseSentinelUrl(URL_LIST)).toEqual({
    sentinels: [
      { host: "h1", port: 26380 },
      { host: "h2", port: 26379 },
      { host: "::1", port: 26382 },
    ],
    password: "pw",
    db: 2,
  });
  expect(parseSentinelUrl("sentinel://user:p%40ss@h1").username).toBe("user");
  expect(parseSentinelUrl("sentinel://user:p%40ss@h1").password).toBe("p@ss");
  expect(dbFromUrl(URL_LIST)).toBe(2);
});

test("master_name is required, sentinel_kwargs gives the sentinels' credentials and timeouts", () => {
  expect(() => sentinelRedisOptions(URL_LIST, {}, "broker_transport_options")).toThrow(/'master_name' transport option must be specified/);
  const o = sentinelRedisOptions(
    URL_LIST,
    { masterName: "mymaster", sentinelKwargs: { password: "spw", username: "su", socket_timeout: 0.5 } },
    "broker_transport_options",
  );
  expect(o).toMatchObject({
    name: "mymaster",
    role: "master",
    db: 2,
    password: "pw",
    sentinelPassword: "spw",
    sentinelUsername: "su",
    sentinelCommandTimeout: 500,
  });
  // the URL's password is the master's only
  expect(parseSentinelUrl("sentinel://h1").password).toBeUndefined();
});

test("options kombu has and celeriac cannot honour are refused by name, not ignored", () => {
  expect(() => sentinelRedisOptions(URL_LIST, { masterName: "m", minOtherSentinels: 1 }, "broker_transport_options")).toThrow(/minOtherSentinels/);
  expect(() =>
    sentinelRedisOptions(URL_LIST, { masterName: "m", sentinelKwargs: { ssl: true } as never }, "result_backend_transport_options"),
  ).toThrow(/result_backend_transport_options.sentinelKwargs.ssl is not supported/);
  expect(() => parseSentinelUrl("sentinel://:pw@h1;redis://h2")).toThrow(/every URL of the list must be sentinel/);
});

test("passwords are masked in every URL of the list, and errors name the sentinels as redis-py does", () => {
  expect(maskUrl("sentinel://:pw@h1:26380/0;sentinel://u:pw2@h2/0")).toBe("sentinel://:**@h1:26380/0;sentinel://u:**@h2/0");
  const err = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  expect(connectionFailure("sentinel://:pw@h1/0;sentinel://h2/0", err).message).toBe(
    "Cannot connect to sentinel://:**@h1/0;sentinel://h2/0: Error 111 connecting to h1:26379. Connection refused.",
  );
});
