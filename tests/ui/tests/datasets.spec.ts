import { expect, test } from './fixtures';
import * as fs from 'fs';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true, project: 'cellar' });

const CSV =
  'name,alcohol,quality\n' +
  'barolo,13.5,7\n' +
  '<img src=x onerror=alert(1)>,12.1,5\n' +
  'riesling,11.2,6\n';

test('drop a CSV, preview it, upload a second version, copy the key, download', async ({
  page,
  context
}, testInfo) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const lab = new MLLabSidebar(page);
  await lab.open();
  const panel = page.locator('.jp-mllab-datasets');
  await expect(panel.locator('.jp-mllab-dropzone')).toBeVisible();

  await lab.dropFile('wine.csv', CSV);
  const item = panel.locator('.jp-mllab-dataset[data-name="wine"]');
  await expect(item.locator('.jp-mllab-dataset-latest')).toHaveText('v1');
  // the new version opens in the main area with its preview
  const view = page.locator('.jp-mllab-dataset-view[data-key="cellar/wine@1"]');
  const preview = view.locator('.jp-mllab-preview');
  await expect(view.locator('h2')).toHaveText('cellar/wine@1');
  await expect(preview.locator('th').first()).toContainText('name');
  await expect(preview.locator('tbody tr')).toHaveCount(3);
  // an HTML-looking cell is shown as text, never rendered
  await expect(
    preview.locator('tbody tr').nth(1).locator('td').first()
  ).toHaveText('<img src=x onerror=alert(1)>');
  await expect(preview.locator('img')).toHaveCount(0);
  await expect(preview).toContainText('3 rows');

  await lab.dropFile('wine.csv', CSV + 'merlot,13.0,6\n');
  await expect(item.locator('.jp-mllab-dataset-latest')).toHaveText('v2');
  await expect(item.locator('.jp-mllab-version')).toHaveCount(2);
  await expect(item.locator('.jp-mllab-dataset-meta')).toContainText(
    '2 versions'
  );
  const view2 = page.locator(
    '.jp-mllab-dataset-view[data-key="cellar/wine@2"]'
  );
  await expect(view2.locator('.jp-mllab-preview tbody tr')).toHaveCount(4);
  await expect(view2).toContainText('mllab.load_dataset("cellar/wine@2")');
  await lab.shot(testInfo, 'datasets');

  await item
    .locator('.jp-mllab-version[data-version="2"] .jp-mllab-copy-key')
    .click();
  await expect(
    page.locator('.Toastify__toast').filter({ hasText: 'Copied cellar/wine@2' })
  ).toBeVisible();
  const copied = await page.evaluate(() =>
    navigator.clipboard.readText().catch(() => null)
  );
  if (copied !== null) {
    expect(copied).toBe('cellar/wine@2');
  }

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    item
      .locator('.jp-mllab-version[data-version="1"] .jp-mllab-download')
      .click()
  ]);
  expect(download.suggestedFilename()).toBe('wine.csv');
  const file = await download.path();
  expect(fs.readFileSync(file!, 'utf-8')).toBe(CSV);

  // statistics, computed on the server in the background
  await item
    .locator('.jp-mllab-version[data-version="1"] .jp-mllab-version-number')
    .click();
  await expect(view).toBeVisible();
  await preview.getByRole('button', { name: 'Statistics' }).click();
  // a worker process starts and imports pandas first: allow it time on a busy machine
  await expect(preview.locator('.jp-mllab-stats-table')).toContainText(
    'alcohol',
    { timeout: 60_000 }
  );
  await expect(preview.locator('.jp-mllab-stats-table')).toContainText('12.27');
  await lab.shot(testInfo, 'datasets-stats');
});

test('upload as dataset from the file browser', async ({ page, tmpPath }) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  await page.contents.uploadContent(CSV, 'text', `${tmpPath}/reds.csv`);
  await page.sidebar.openTab('filebrowser');
  await page.filebrowser.refresh();
  await page
    .locator('.jp-DirListing-item[title^="Name: reds.csv"]')
    .click({ button: 'right' });
  await page.locator('.lm-Menu-item', { hasText: 'Upload as Dataset' }).click();
  await expect(
    page.locator('.Toastify__toast').filter({ hasText: 'Added cellar/reds@1' })
  ).toBeVisible();
  await lab.open();
  await expect(
    page.locator('.jp-mllab-dataset[data-name="reds"] .jp-mllab-dataset-latest')
  ).toHaveText('v1');
});
