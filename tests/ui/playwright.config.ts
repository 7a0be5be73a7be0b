/**
 * Browser tests: JupyterLab with the ML Lab extension, in Debian's Chromium.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// MLLAB_UI_PORT: another port, so that two checkouts can run their browser tests at once
const port = process.env.MLLAB_UI_PORT || '8899';

module.exports = {
  ...baseConfig,
  testDir: './tests',
  outputDir: './test-results',
  reporter: [['list'], ['html', { open: 'never', outputFolder: 'playwright-report' }]],
  workers: 1,
  retries: process.env.CI ? 1 : 0,
  timeout: 90_000,
  // CI machines are slower than a laptop: a panel's first query may take seconds there
  expect: { timeout: 15_000 },
  globalTimeout: 20 * 60_000,
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    viewport: { width: 1280, height: 800 },
    video: 'off',
    trace: 'off',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: 'npm start',
    url: `http://localhost:${port}/lab`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: 'ignore',
    stderr: 'pipe'
  }
};
