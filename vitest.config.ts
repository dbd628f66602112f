import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Fixtures register their own cleanup (test/helpers/cleanup.ts); this runs the file-level part.
    setupFiles: ['test/helpers/setup.ts'],
    // Generous: many tests spawn the CLI or `serve` (node start-up, RSA keys), which a loaded machine slows
    // several fold; a deadline that matters is asserted in the test itself.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: '.test-results/vitest.json' },
  },
});
