/**
 * The README's tutorial, done through the UI as a newcomer does it: create a project,
 * drop a CSV on Datasets and copy its key, open the wine example from the launcher, run
 * it as a 2x3 grid, watch the sweep, compare the six runs, open the best, register its
 * model, deploy it, try it, and call the service as the README's curl does. It saves the
 * README's screenshots (docs/images/walkthrough-*.png), so they never go stale.
 */
import * as fs from 'fs';
import * as path from 'path';

import { Locator } from '@playwright/test';

import { expect, test } from './fixtures';
import { MLLabSidebar } from './mllab';

// a step that cannot happen fails in 30 s, not at the test's end
test.use({ autoGoto: true, actionTimeout: 30_000 });
test.setTimeout(300_000);

const PROJECT = 'wine-walkthrough';
const MODEL = 'wine-quality';
const DEMO = path.resolve(__dirname, '../../../demo');

/** The page area around some elements (page pixels), padded, for a README screenshot. */
async function around(
  locators: Locator[],
  pad = 8
): Promise<{ x: number; y: number; width: number; height: number }> {
  const boxes = [];
  for (const l of locators) {
    const box = await l.boundingBox();
    if (!box) {
      throw new Error(`not on screen: ${l}`);
    }
    boxes.push(box);
  }
  const x = Math.max(0, Math.min(...boxes.map(b => b.x)) - pad);
  const y = Math.max(0, Math.min(...boxes.map(b => b.y)) - pad);
  const right = Math.min(
    1280,
    Math.max(...boxes.map(b => b.x + b.width)) + pad
  );
  const bottom = Math.min(
    800,
    Math.max(...boxes.map(b => b.y + b.height)) + pad
  );
  return { x, y, width: right - x, height: bottom - y };
}

/** The numbers of one metric row of the Compare table, in the runs' order. */
async function metricRow(compare: Locator, metric: string): Promise<number[]> {
  const cells = compare
    .locator('.jp-mllab-compare-table tbody tr', {
      has: compare.page().locator(`th:text-is("${metric}")`)
    })
    .locator('td');
  return (await cells.allInnerTexts()).map(Number);
}

test('the tutorial: project, dataset, example, 2x3 grid, compare, register, deploy, predict', async ({
  page,
  context
}, testInfo) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  const lab = new MLLabSidebar(page);
  await lab.open();

  // 1. a project, from the sidebar's picker: "New project"
  await lab.root.locator('.jp-mllab-new-project').click();
  const newProject = page.locator('.jp-Dialog');
  await newProject.locator('.jp-mllab-form-name').fill(PROJECT);
  await newProject
    .locator('.jp-mllab-form-description')
    .fill('Wine, from a CSV to a REST service');
  await lab.readmeShot(
    testInfo,
    'walkthrough-1-project',
    await around([newProject.locator('.jp-Dialog-content')])
  );
  await newProject.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect.poll(() => lab.current()).toBe(PROJECT);
  await expect(lab.root.locator('.jp-mllab-picker-description')).toHaveText(
    'Wine, from a CSV to a REST service'
  );
  await expect(
    page.locator('.jp-mllab-datasets .jp-mllab-dropzone')
  ).toBeVisible();

  // 2. a dataset: the demo's wine CSV dropped on the Datasets panel; copy its key
  const csv = fs.readFileSync(path.join(DEMO, 'data/wine.csv'), 'utf-8');
  await lab.dropFile('wine.csv', csv);
  const key = `${PROJECT}/wine@1`;
  const item = lab.root.locator('.jp-mllab-dataset[data-name="wine"]');
  await expect(item.locator('.jp-mllab-dataset-latest')).toHaveText('v1');
  const datasetView = page.locator(`.jp-mllab-dataset-view[data-key="${key}"]`);
  await expect(datasetView.locator('h2')).toHaveText(key);
  await expect(datasetView.locator('.jp-mllab-preview')).toContainText(
    '178 rows'
  );
  await expect(
    datasetView.locator('.jp-mllab-preview th').first()
  ).toContainText('alcohol');
  await item
    .locator('.jp-mllab-version[data-version="1"] .jp-mllab-copy-key')
    .click();
  await expect(
    page.locator('.Toastify__toast').filter({ hasText: `Copied ${key}` })
  ).toBeVisible();
  const copied = await page.evaluate(() =>
    navigator.clipboard.readText().catch(() => null)
  );
  if (copied !== null) {
    expect(copied).toBe(key);
  }
  await expect(page.locator('.Toastify__toast')).toHaveCount(0, {
    timeout: 15_000
  });
  await lab.readmeShot(testInfo, 'walkthrough-2-dataset');

  // 3. the wine example, from the launcher's ML Lab section: a new notebook in the
  // file browser's folder, with the project's dataset key in its parameters cell
  await page.locator('.lm-TabBar-tab', { hasText: 'Launcher' }).click();
  const section = page
    .locator('.jp-Launcher:visible .jp-Launcher-section')
    .filter({
      has: page.locator('.jp-Launcher-sectionTitle', { hasText: 'ML Lab' })
    });
  // the wine card: "Tabular regression (wine, ElasticNet)"
  const card = section.locator('.jp-LauncherCard', { hasText: /wine/i });
  await expect(section.locator('.jp-LauncherCard')).toHaveCount(4);
  await section.scrollIntoViewIfNeeded();
  await expect(page.locator('.Toastify__toast')).toHaveCount(0, {
    timeout: 15_000
  });
  await lab.readmeShot(
    testInfo,
    'walkthrough-3-launcher',
    await around([section])
  );
  await card.click();
  await expect(
    page.locator('.lm-TabBar-tab.lm-mod-current', {
      hasText: 'wine_regression.ipynb'
    })
  ).toBeVisible();
  const notebook = page.locator('.jp-NotebookPanel:visible');
  await expect(
    notebook.locator('.jp-CodeCell .cm-content', { hasText: 'data = ' })
  ).toContainText(`data = "${key}"`);

  // 4. Run as experiment: alpha x l1_ratio, 2 x 3
  await notebook
    .locator('.jp-Toolbar [data-command="mllab:run-experiment"]')
    .click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('input[aria-label="data"]')).toHaveValue(key);
  await dialog.locator('select[aria-label="alpha mode"]').selectOption('list');
  await dialog.locator('input[aria-label="alpha values"]').fill('0.01, 0.5');
  await dialog
    .locator('select[aria-label="l1_ratio mode"]')
    .selectOption('list');
  await dialog
    .locator('input[aria-label="l1_ratio values"]')
    .fill('0.1, 0.5, 0.9');
  await expect(dialog.locator('.jp-mllab-run-count')).toHaveText(
    'This makes 6 runs (a grid).'
  );
  await expect(dialog.locator('ol[aria-label="first runs"] li')).toHaveCount(6);
  // the grid's parameters at the top, the plan (count and runs) at the foot
  await dialog
    .locator('.jp-mllab-run-params tbody tr', {
      has: page.locator('input[aria-label="alpha values"]')
    })
    .evaluate(row => row.scrollIntoView({ block: 'start' }));
  await lab.readmeShot(
    testInfo,
    'walkthrough-4-run-form',
    await around([dialog.locator('.jp-Dialog-content')])
  );
  await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);

  // 5. the sweep in the Experiments panel: its progress, then six completed runs
  // (a click on the sidebar's tab as the dialog goes may fold the sidebar: click again)
  await expect(async () => lab.open()).toPass({ timeout: 30_000 });
  for (const name of ['Datasets', 'Hardware', 'Models & Services']) {
    await lab.sectionTitle(name).click(); // fold it: room for the sweep
  }
  const panel = page.locator('#jp-mllab-experiments');
  const sweep = panel.locator('.jp-mllab-job-row').first();
  await expect(sweep).toContainText('wine_regression');
  await expect(sweep.locator('.jp-mllab-job-detail')).toContainText(
    /\d\/6 done/
  );
  await expect(
    panel.getByRole('progressbar', { name: 'Sweep progress' }).first()
  ).toBeVisible();
  await sweep.click(); // expand
  const runs = panel.locator('.jp-mllab-job-child .jp-mllab-job-row');
  await expect(runs).toHaveCount(6, { timeout: 30_000 });
  await expect(sweep).toHaveAttribute('data-status', 'COMPLETED', {
    timeout: 180_000
  });
  await expect(sweep.locator('.jp-mllab-job-detail')).toHaveText('6/6 done');
  await expect(
    panel.getByRole('progressbar', { name: 'Sweep progress' }).first()
  ).toHaveAttribute('aria-valuenow', '100');
  await expect(
    panel.locator(
      '.jp-mllab-job-child .jp-mllab-job-row[data-status="COMPLETED"]'
    )
  ).toHaveCount(6, { timeout: 30_000 });
  await expect(panel).toContainText('alpha=0.01, l1_ratio=0.1');
  await lab.readmeShot(
    testInfo,
    'walkthrough-5-sweep',
    await around([
      lab.root.locator('.jp-mllab-project-select'),
      panel.locator('.jp-mllab-jobs').first()
    ])
  );

  // 6. Compare the six runs: the runs table, the sweep's runs, all selected
  await panel.locator('button', { hasText: 'Runs table' }).click();
  const table = page.locator('.jp-mllab-runs');
  const rows = table.locator('.jp-mllab-runs-table tbody tr');
  await expect(rows).toHaveCount(7); // the sweep and its six runs
  await table.locator('.jp-mllab-chip', { hasText: 'sweep' }).first().click();
  await expect(rows).toHaveCount(6);
  for (const box of await rows.locator('input[type="checkbox"]').all()) {
    await box.check();
  }
  await table.locator('button', { hasText: 'Compare (6)' }).click();
  const compare = page.locator('.jp-mllab-compare');
  await expect(compare.locator('thead th')).toHaveCount(7);
  await compare.locator('select[aria-label="metric"]').selectOption('rmse');
  const best = compare.locator('thead th.jp-mllab-best');
  await expect(best).toHaveCount(1);
  await expect(best).toContainText('★ best');
  // the star is on the run with the lowest rmse of the row
  const rmse = await metricRow(compare, 'rmse');
  expect(rmse).toHaveLength(6);
  rmse.forEach(v => expect(Number.isFinite(v)).toBe(true));
  const headers = compare.locator('thead th');
  const bestIndex =
    (await headers.evaluateAll(ths =>
      ths.findIndex(th => th.classList.contains('jp-mllab-best'))
    )) - 1;
  expect(rmse[bestIndex]).toBe(Math.min(...rmse));
  const bestName = (
    await best.evaluate(th => th.childNodes[1]?.textContent ?? '')
  ).trim();
  // (the README names it: the data and the seeds are fixed)
  expect(bestName).toContain('alpha=0.01, l1_ratio=0.9');
  // the table has the room of the whole lab: the sidebar folded away
  await page.sidebar.close('left');
  await expect(compare.locator('.jp-mllab-parallel polyline')).toHaveCount(6);
  await lab.readmeShot(testInfo, 'walkthrough-6-compare');
  await page.sidebar.open('left');

  // 7. open the best run (its name in the runs table), register the model it logged
  await page.locator('.lm-TabBar-tab', { hasText: 'Runs' }).first().click();
  await table
    .locator('.jp-mllab-runname button', { hasText: bestName })
    .click();
  const runPage = page.locator('.jp-mllab-job-page');
  await expect(runPage.locator('.jp-mllab-job-status')).toHaveText('COMPLETED');
  const logged = runPage.locator(
    '.jp-mllab-run-model-logged[data-artifact-path="model"]'
  );
  await expect(logged).toContainText('not registered');
  await logged.locator('.jp-mllab-register-model').click();
  const register = page.locator('.jp-Dialog');
  await register.locator('input.jp-mllab-register-name').fill(MODEL);
  await register.locator('input.jp-mllab-register-alias').fill('champion');
  await register.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(page.locator('.jp-Dialog')).toHaveCount(0, { timeout: 60_000 });
  const modelPage = page.locator(
    `.jp-mllab-model-page[data-key="${PROJECT}/${MODEL}"]`
  );
  const version = modelPage.locator(
    '.jp-mllab-version-detail[data-version="1"]'
  );
  await expect(version).toBeVisible();
  await expect(
    modelPage.locator('.jp-mllab-model-version-header h3')
  ).toContainText(`${PROJECT}/${MODEL}@1`);
  await expect(version.locator('.jp-mllab-lineage-notebook')).toContainText(
    'wine_regression'
  );
  await expect(version).toContainText(`${rmse[bestIndex]}`.slice(0, 4));
  await expect(page.locator('.Toastify__toast')).toHaveCount(0, {
    timeout: 15_000
  });
  await lab.readmeShot(testInfo, 'walkthrough-7-model');

  // 8. Deploy; Try it predicts through the lab
  await modelPage.locator('.jp-mllab-deploy-version').click();
  const service = page.locator(`.jp-mllab-service-page[data-name="${MODEL}"]`);
  await expect(service).toHaveAttribute('data-ready', 'true', {
    timeout: 120_000
  });
  await expect(service.locator('.jp-mllab-service-header')).toContainText(
    'running · healthy'
  );
  await expect(service.locator('.jp-mllab-service-serving')).toContainText(
    `${MODEL}@1`
  );
  const tryit = service.locator('.jp-mllab-tryit');
  await expect(tryit.locator('thead')).toContainText('malic_acid');
  await tryit.locator('.jp-mllab-tryit-predict').click();
  const answer = tryit.locator('.jp-mllab-tryit-answer');
  await expect(answer).toHaveAttribute('data-status', '200');
  const shown = JSON.parse(
    await answer.locator('.jp-mllab-tryit-output').innerText()
  );
  const rowsSent = await tryit.locator('tbody tr').count();
  expect(shown.predictions).toHaveLength(rowsSent);
  // the first wine of the input example: the README's curl shows this answer
  expect(shown.predictions[0]).toBeCloseTo(13.4944, 3);
  await lab.readmeShot(testInfo, 'walkthrough-8-service-try-it');

  // 9. the curl the page shows, sent straight to the service with its token
  const curl = await service.locator('.jp-mllab-curl-command').innerText();
  const url = curl.match(/curl -X POST (\S+)/)![1];
  const token = curl.match(/Authorization: Bearer ([^'\s]+)/)![1];
  const body = curl.match(/-d '(.*)'\s*$/s)![1];
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/invocations$/);
  const direct = await page.request.post(url, {
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json'
    },
    data: body
  });
  expect(direct.status()).toBe(200);
  expect((await direct.json()).predictions).toEqual(shown.predictions);
  // without the token the service refuses
  const anonymous = await page.request.post(url, {
    headers: { 'Content-Type': 'application/json' },
    data: body
  });
  expect(anonymous.status()).toBe(401);

  // done: remove the service (it asks first); no process of the test outlives it
  await service.locator('.jp-mllab-service-remove').click();
  const confirm = page.locator('.jp-Dialog');
  await expect(confirm).toContainText(`Remove service ${MODEL}?`);
  await confirm.locator('.jp-Dialog-button.jp-mod-warn').click();
  await expect(service).toHaveCount(0, { timeout: 30_000 });
  await expect(
    page.locator(`.jp-mllab-service-row[data-name="${MODEL}"]`)
  ).toHaveCount(0);
});
