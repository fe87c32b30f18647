/**
 * Four projects: unit (pure code), examples (a user's tests of their tasks, nothing else running),
 * integration (real Redis), interop (real Python Celery).
 */
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json", isolatedModules: true }] },
};
module.exports = {
  // Two test files at a time, each worker on servers of its own (test/services/slots.js).
  maxWorkers: Number(process.env.CELERIAC_TEST_WORKERS || 2),
  reporters: ["default", "<rootDir>/test/summary-reporter.js"],
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/test/unit/**/*.test.ts"] },
    { ...common, displayName: "examples", testMatch: ["<rootDir>/examples/**/*.test.ts"] },
    {
      ...common,
      displayName: "integration",
      testMatch: ["<rootDir>/test/integration/**/*.test.ts"],
      globalSetup: "<rootDir>/test/services/global-setup.js",
      setupFiles: ["<rootDir>/test/services/slot-env.js"],
      globalTeardown: "<rootDir>/test/services/global-teardown.js",
      setupFilesAfterEnv: ["<rootDir>/test/services/timeout-60s.js"],
    },
    {
      ...common,
      displayName: "interop",
      testMatch: ["<rootDir>/interop-tests/**/*.test.ts"],
      globalSetup: "<rootDir>/test/services/global-setup.js",
      setupFiles: ["<rootDir>/test/services/slot-env.js"],
      globalTeardown: "<rootDir>/test/services/global-teardown.js",
      setupFilesAfterEnv: ["<rootDir>/test/services/timeout-60s.js"],
    },
  ],
};
