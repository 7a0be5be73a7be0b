import { defineConfig } from 'vitest/config';

// Unit tests of the lab extension's pure logic (no browser, no JupyterLab): parsing,
// validation, formatting, query building. `jlpm test:unit`; `make unit` runs it.
export default defineConfig({
  test: {
    include: ['labextension/test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 5000
  }
});
