import { Locator } from '@playwright/test';

import { expect, test } from './fixtures';
import { MLLabSidebar } from './mllab';

// a project of its own, so that the runs table shows this run alone
test.use({ autoGoto: true, project: 'nan-demo' });
test.setTimeout(240_000);

/**
 * A notebook that logs a normal curve (`loss`) and one that goes NaN (`diverged`: a
 * number, NaN, a number, then NaN last, so that the caption's latest value is NaN too).
 */
const NOTEBOOK = {
  type: 'notebook',
  content: {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3',
        language: 'python'
      }
    },
    cells: [
      {
        cell_type: 'code',
        metadata: {},
        source: [
          'import jupyter_mllab as mllab\n',
          'for step in range(6):\n',
          "    mllab.log_metric('loss', 1 / (step + 1), step=step)\n",
          "    mllab.log_metric('diverged', float('nan') if step % 2 else step / 10, step=step)\n",
          'mllab.flush()'
        ].join(''),
        outputs: [],
        execution_count: null
      }
    ]
  }
};

/** How many pixels of a canvas are painted (the chart drew something). */
async function paintedPixels(canvas: Locator): Promise<number> {
  return canvas.evaluate(el => {
    const c = el as HTMLCanvasElement;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) {
      n += data[i] > 0 ? 1 : 0;
    }
    return n;
  });
}

test('a run that logs a NaN metric still shows its page and charts', async ({
  page
}, testInfo) => {
  // what the page throws (a view that cannot draw a null point throws while rendering);
  // Chromium's benign ResizeObserver notice is not one of ours
  const errors: string[] = [];
  page.on('pageerror', error => {
    if (!/ResizeObserver/.test(error.message)) {
      errors.push(error.message);
    }
  });
  const lab = new MLLabSidebar(page);
  await lab.open();
  expect(
    (
      await page.request.put('/api/contents/nan_metric.ipynb', {
        data: NOTEBOOK
      })
    ).ok()
  ).toBe(true);
  const job = await lab.runToCompletion(
    { notebook: 'nan_metric.ipynb', project: 'nan-demo' },
    120_000
  );

  // the metrics route answers valid JSON (JSON.parse refuses a bare NaN): NaN is null
  const reply = await page.request.get(`/mllab/api/jobs/${job.id}/metrics`);
  expect(reply.ok()).toBe(true);
  const { metrics } = JSON.parse(await reply.text());
  expect(metrics.loss).toHaveLength(6);
  expect(
    metrics.diverged.map((p: { value: number | null }) => p.value)
  ).toEqual([0, null, 0.2, null, 0.4, null]);

  // the run's page: its status, both charts, the normal curve drawn
  await page.evaluate(async id => {
    await (window as any).jupyterapp.commands.execute('mllab:open-job', { id });
  }, job.id);
  const runPage = page.locator('.jp-mllab-job-page');
  await expect(runPage.locator('.jp-mllab-job-status')).toHaveText('COMPLETED');
  const loss = runPage.locator('.jp-mllab-chart[data-metric="loss"]');
  const diverged = runPage.locator('.jp-mllab-chart[data-metric="diverged"]');
  await expect(loss.locator('canvas')).toBeVisible();
  await expect(diverged.locator('canvas')).toBeVisible();
  await expect(loss.locator('figcaption')).toContainText('0.1667');
  await expect(diverged.locator('figcaption')).toContainText('–');
  await expect
    .poll(() => paintedPixels(loss.locator('canvas')))
    .toBeGreaterThan(100);
  // the numbers of the NaN curve are drawn too (its NaN points are left out)
  await expect
    .poll(() => paintedPixels(diverged.locator('canvas')))
    .toBeGreaterThan(100);
  await lab.shot(testInfo, 'nan-metric-run-page');

  // the runs table lists the run: its NaN metric as a dash, the normal one as a number
  await page
    .locator('#jp-mllab-experiments button', { hasText: 'Runs table' })
    .click();
  const view = page.locator('.jp-mllab-runs');
  const row = view.locator('.jp-mllab-runs-table tbody tr');
  await expect(row).toHaveCount(1);
  await expect(view.locator('thead')).toContainText('diverged');
  await expect(view.locator('.jp-mllab-error')).toHaveCount(0);
  const heads = (await view.locator('thead th').allInnerTexts()).map(h =>
    h.trim()
  );
  const column = (name: string) => heads.findIndex(h => h.startsWith(name));
  expect(column('diverged')).toBeGreaterThan(0);
  expect(column('loss')).toBeGreaterThan(0);
  await expect(row.locator('td').nth(column('diverged'))).toHaveText('–');
  await expect(row.locator('td').nth(column('loss'))).toHaveText('0.1667');
  await lab.shot(testInfo, 'nan-metric-runs-table');

  expect(errors).toEqual([]);
});
