import { MAX_TIMEOUT_MS, setLongTimeout } from "../../src/worker/long-timer";

const DAY = 24 * 3600 * 1000;

describe("setLongTimeout holds delays past Node's 24.8-day setTimeout limit", () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date("2026-12-06T00:00:00Z") }));
  afterEach(() => jest.useRealTimers());

  test("a 30-day delay fires after 30 days, not at once (a plain setTimeout would overflow)", () => {
    const fn = jest.fn();
    setLongTimeout(fn, 30 * DAY);
    jest.advanceTimersByTime(1000);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(MAX_TIMEOUT_MS);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(30 * DAY - MAX_TIMEOUT_MS - 1001);
    expect(fn).not.toHaveBeenCalled();
    jest.advanceTimersByTime(2);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  test("an ETA in year 9999 is re-armed chunk by chunk and can be cleared", () => {
    const fn = jest.fn();
    const timer = setLongTimeout(fn, new Date("9999-12-31T23:59:59Z").getTime() - Date.now());
    jest.advanceTimersByTime(5 * MAX_TIMEOUT_MS);
    expect(fn).not.toHaveBeenCalled();
    expect(jest.getTimerCount()).toBe(1);
    timer.clear();
    expect(jest.getTimerCount()).toBe(0);
  });

  test("short and zero delays behave as setTimeout", () => {
    const fn = jest.fn();
    setLongTimeout(fn, 0);
    setLongTimeout(fn, 50);
    jest.advanceTimersByTime(0);
    expect(fn).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(50);
    expect(fn).toHaveBeenCalledTimes(2);
  });
});
