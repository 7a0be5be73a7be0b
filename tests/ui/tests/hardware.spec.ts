import { expect, test } from './fixtures';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true });
test.setTimeout(120_000);

const NAP = {
  cells: [
    {
      cell_type: 'code',
      metadata: { tags: ['parameters'] },
      source: 'seconds = 15',
      outputs: [],
      execution_count: null
    },
    {
      cell_type: 'code',
      metadata: {},
      source:
        'import time\nblock = bytearray(200 * 2**20)\nfor i in range(0, len(block), 4096):\n    block[i] = 1\ntime.sleep(seconds)',
      outputs: [],
      execution_count: null
    }
  ],
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3' } },
  nbformat: 4,
  nbformat_minor: 5
};

test('the Hardware panel: moving charts, and a running job with its usage', async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  // give the Hardware panel the room
  await lab.sectionTitle('Datasets').click();
  const panel = page.locator('#jp-mllab-hardware');
  await expect(panel.locator('.jp-mllab-hw-now')).toContainText('CPU');
  await expect(panel.locator('.jp-mllab-timechart')).toHaveCount(4);
  await expect(panel.locator('.jp-mllab-hw-nogpu')).toBeVisible();
  const charts = panel.locator('.jp-mllab-hw-charts');
  await expect
    .poll(async () => Number(await charts.getAttribute('data-points')))
    .toBeGreaterThan(1);
  const before = Number(await charts.getAttribute('data-points'));
  await page.waitForTimeout(2500);
  const after = Number(await charts.getAttribute('data-points'));
  expect(after).toBeGreaterThan(before); // the charts move

  // a running job shows its usage
  await page.evaluate(async nb => {
    const app = (window as any).jupyterapp;
    await app.serviceManager.contents.save('nap.ipynb', {
      type: 'notebook',
      format: 'json',
      content: nb
    });
    void app.commands.execute('mllab:run-experiment', { path: 'nap.ipynb' });
  }, NAP);
  await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept').click();
  const job = panel.locator('.jp-mllab-hw-jobs li', { hasText: 'nap.ipynb' });
  await expect(job).toBeVisible({ timeout: 60_000 });
  await expect(job.locator('.jp-mllab-job-detail')).toContainText('MB', {
    timeout: 30_000
  });
  await expect(page.locator('.jp-mllab-statusbar')).toContainText('CPU');
  await lab.sectionTitle('Experiments').click(); // the room to the Hardware panel
  await lab.sectionTitle('Models').click();
  await expect(job).toBeVisible();
  await lab.shot(testInfo, 'hardware-panel');
});
