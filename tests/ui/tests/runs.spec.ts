import { expect, test } from './fixtures';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true });
test.setTimeout(240_000);

test('the runs table: a sweep of three, filter it, select them, compare', async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  await lab.createProject('compare-demo');
  await expect.poll(() => lab.current()).toBe('compare-demo');

  // three runs of the example notebook, one grid, through the REST API
  await lab.runToCompletion({
    notebook: 'train_wine.ipynb',
    project: 'compare-demo',
    parameters: { n_estimators: { values: [10, 20, 40] }, max_depth: 3 }
  });

  // the Experiments panel's "Runs table": the sweep and its three runs, newest first
  await page
    .locator('#jp-mllab-experiments button', { hasText: 'Runs table' })
    .click();
  const view = page.locator('.jp-mllab-runs');
  const rows = view.locator('.jp-mllab-runs-table tbody tr');
  await expect(rows).toHaveCount(4);
  await expect(view.locator('.jp-mllab-pager')).toContainText('1–4 of 4');
  await expect(view.locator('thead')).toContainText('n_estimators');
  await expect(view.locator('thead')).toContainText('accuracy');
  // each run's resources, from the hardware sampler (no GPU column without a GPU)
  await expect(view.locator('thead')).toContainText('peak RSS MB');
  await expect(view.locator('thead')).toContainText('mean CPU %');
  await expect(view.locator('thead')).not.toContainText('peak GPU MB');

  // sort by n_estimators, then filter with MLflow's syntax
  await view.locator('thead th', { hasText: 'n_estimators' }).click(); // descending
  await expect(rows.first()).toContainText('40');
  await view
    .locator('input[aria-label="filter"]')
    .fill("params.n_estimators != '20'");
  await view.locator('button', { hasText: 'Apply' }).click();
  await expect(rows).toHaveCount(2);
  await view.locator('input[aria-label="filter"]').fill('metrics.accuracy >');
  await view.locator('button', { hasText: 'Apply' }).click();
  await expect(view.locator('.jp-mllab-error')).toContainText('Invalid clause');
  await view.locator('input[aria-label="filter"]').fill('');
  await view.locator('button', { hasText: 'Apply' }).click();
  // quick filter by tag: the sweep's runs carry mllab.sweep_id, its parent does not
  await view.locator('input[aria-label="tag"]').fill('mllab.sweep_id');
  await expect(rows).toHaveCount(3);
  await view.locator('input[aria-label="tag"]').fill('');
  await expect(rows).toHaveCount(4);

  // the sweep's own runs, all three selected
  await view.locator('.jp-mllab-chip', { hasText: 'sweep' }).first().click();
  await expect(rows).toHaveCount(3);
  for (const box of await rows.locator('input[type="checkbox"]').all()) {
    await box.check();
  }
  await lab.shot(testInfo, 'runs-table');

  // CSV of what the table shows
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    view.locator('button', { hasText: 'CSV' }).click()
  ]);
  expect(download.suggestedFilename()).toBe('compare-demo-runs.csv');

  // Compare: side by side, the best run marked, curves, parallel coordinates, scatter
  await view.locator('button', { hasText: 'Compare (3)' }).click();
  const compare = page.locator('.jp-mllab-compare');
  await expect(compare.locator('thead th')).toHaveCount(4);
  await expect(compare.locator('tr.jp-mllab-differs')).not.toHaveCount(0);
  await expect(compare.locator('.jp-mllab-best-badge')).toHaveCount(1);
  await expect(
    compare.locator('.jp-mllab-curves[data-metric="accuracy"] canvas')
  ).toBeVisible();
  await expect(compare.locator('.jp-mllab-parallel polyline')).toHaveCount(3);
  await expect(compare.locator('.jp-mllab-scatter circle')).toHaveCount(3);
  await lab.shot(testInfo, 'runs-compare');
});
