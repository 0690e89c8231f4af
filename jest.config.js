/** Jest runs two projects: fast unit tests next to the code, and e2e tests
 *  under test/ that talk to a real Postgres and real sockets. */
const moduleNameMapper = {
  '^@ensemble/llm$': '<rootDir>/libs/llm/src',
  '^@ensemble/llm/(.*)$': '<rootDir>/libs/llm/src/$1',
  '^@ensemble/agents$': '<rootDir>/libs/agents/src',
  '^@ensemble/agents/(.*)$': '<rootDir>/libs/agents/src/$1',
};
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.spec.json', diagnostics: false }],
};
const common = { moduleFileExtensions: ['js', 'json', 'ts'], testEnvironment: 'node', transform, moduleNameMapper };

module.exports = {
  testSequencer: '<rootDir>/jest.sequencer.js',
  projects: [
    { ...common, displayName: 'unit', rootDir: __dirname, testMatch: ['<rootDir>/{apps,libs}/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      rootDir: __dirname,
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/timeouts.ts'],
    },
  ],
};
