/* global jest -- a setupFilesAfterEnv file: jest provides the global */
// Jest 29 ignores testTimeout inside a project config; integration/interop tests set it here.
jest.setTimeout(Number(process.env.CELERIAC_TEST_TIMEOUT_MS || 120000));
