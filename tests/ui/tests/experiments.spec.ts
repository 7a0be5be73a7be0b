import { expect, test } from './fixtures';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true });
test.setTimeout(240_000);

test('run the example notebook as a 2x2 grid, watch it, open an output notebook', async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  await page.evaluate(async () => {
    await (window as any).jupyterapp.commands.execute('docmanager:open', {
      path: 'train_wine.ipynb',
      factory: 'Notebook'
    });
  });
  const notebook = page.locator('.jp-NotebookPanel').first();
  await expect(notebook.locator('.jp-Cell')).toHaveCount(5);

  // the parameters cell: its toolbar button shows it is marked; it toggles the tag
  await notebook.locator('.jp-Cell').nth(1).click();
  const mark = notebook.locator(
    '.jp-cell-toolbar [data-command="mllab:toggle-parameters-cell"]'
  );
  await expect(mark).toHaveAttribute('aria-pressed', 'true');
  await mark.click();
  await expect(mark).toHaveAttribute('aria-pressed', 'false');
  await mark.click();
  await expect(mark).toHaveAttribute('aria-pressed', 'true');

  // Run as experiment: a typed form from the parameters cell
  await notebook
    .locator('.jp-Toolbar [data-command="mllab:run-experiment"]')
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-mllab-run-params tbody tr')).toHaveCount(4);
  await expect(dialog.locator('input[aria-label="n_estimators"]')).toHaveValue(
    '50'
  );
  await expect(dialog.locator('.jp-mllab-run-count')).toHaveText(
    'This makes 1 run.'
  );
  await dialog
    .locator('select[aria-label="n_estimators mode"]')
    .selectOption('list');
  await dialog
    .locator('input[aria-label="n_estimators values"]')
    .fill('10, 20');
  await dialog
    .locator('select[aria-label="max_depth mode"]')
    .selectOption('list');
  await dialog.locator('input[aria-label="max_depth values"]').fill('2, 3');
  // the count is the server's plan of the submit (POST jobs/plan), with its first runs
  await expect(dialog.locator('.jp-mllab-run-count')).toHaveText(
    'This makes 4 runs (a grid).'
  );
  await expect(dialog.locator('ol[aria-label="first runs"] li')).toHaveText([
    'n_estimators=10, max_depth=2',
    'n_estimators=10, max_depth=3',
    'n_estimators=20, max_depth=2',
    'n_estimators=20, max_depth=3'
  ]);
  // a value of the wrong type is caught before it goes
  await dialog.locator('input[aria-label="max_depth values"]').fill('2, deep');
  await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(page.locator('.jp-Dialog .jp-mllab-error')).toContainText(
    'max_depth'
  );
  await page
    .locator('.jp-Dialog input[aria-label="max_depth values"]')
    .fill('2, 3');
  await expect(page.locator('.jp-Dialog .jp-mllab-run-count')).toHaveText(
    'This makes 4 runs (a grid).'
  );
  await lab.shot(testInfo, 'experiments-run-dialog');
  await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept').click();
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);

  // the sweep in the Experiments panel, its four runs complete
  const panel = page.locator('#jp-mllab-experiments');
  const sweep = panel.locator('.jp-mllab-job-row').first();
  await expect(sweep).toContainText('train_wine.ipynb');
  await sweep.click(); // expand
  const runs = panel.locator('.jp-mllab-job-child .jp-mllab-job-row');
  await expect(runs).toHaveCount(4, { timeout: 30_000 });

  // the first run's page, watched live: once it finishes, its bar is full (measured
  // against its track as soon as the page says COMPLETED, as a person sees it)
  await runs.first().click();
  const runPage = page.locator('.jp-mllab-job-page');
  await expect(runPage.locator('.jp-mllab-job-status')).toHaveText(
    'COMPLETED',
    { timeout: 180_000 }
  );
  const bar = await runPage.locator('.jp-mllab-progress').evaluate(track => ({
    track: track.getBoundingClientRect().width,
    bar: track.firstElementChild!.getBoundingClientRect().width,
    cells: document.querySelector('.jp-mllab-job-facts dd')!.textContent
  }));
  expect(bar.cells).toMatch(/^(\d+) of \1$/); // 6 of 6 with the injected parameters
  expect(bar.track).toBeGreaterThan(100);
  expect(bar.bar).toBeCloseTo(bar.track, 0);
  await expect(sweep).toHaveAttribute('data-status', 'COMPLETED', {
    timeout: 180_000
  });
  await expect(
    panel.locator(
      '.jp-mllab-job-child .jp-mllab-job-row[data-status="COMPLETED"]'
    )
  ).toHaveCount(4);
  await expect(panel.locator('.jp-mllab-job-child').first()).toContainText(
    'n_estimators=10, max_depth=2'
  );
  await lab.shot(testInfo, 'experiments-panel');

  // the run's page, then its output notebook
  await runs.first().click();
  await expect(runPage.locator('.jp-mllab-job-status')).toHaveText('COMPLETED');
  await expect(runPage.locator('.jp-mllab-log')).toContainText('accuracy =');
  await expect(runPage).toContainText('n_estimators = 10');
  await lab.shot(testInfo, 'experiments-run-page');
  await runPage.locator('button', { hasText: 'Open output notebook' }).click();
  const output = page.locator('.jp-NotebookPanel').last();
  await expect(
    output.locator('.jp-OutputArea-output', { hasText: 'accuracy =' })
  ).toBeVisible({ timeout: 30_000 });
  await expect(output.locator('.jp-Cell')).toHaveCount(6); // + injected parameters
  await lab.shot(testInfo, 'experiments-output-notebook');
});
