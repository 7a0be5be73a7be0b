/**
 * The README's screenshot (docs/images/lab.png), made from the lab as it is: a project
 * with a dataset, a finished tracked run with its page and curve, the hardware live, the
 * model it registered. Made by this test, it cannot go stale.
 */
import { expect, test } from './fixtures';
import * as fs from 'fs';
import * as path from 'path';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true });
test.setTimeout(300_000);

const PROJECT = 'wine-tasting';
const DEMO = path.resolve(__dirname, '../../../demo');
const README_IMAGE = path.resolve(__dirname, '../../../docs/images/lab.png');

/** The demo notebook, registering its forest as a model at the end of a tracked run. */
function notebookWithModel(): unknown {
  const nb = JSON.parse(
    fs.readFileSync(path.join(DEMO, 'train_wine.ipynb'), 'utf-8')
  );
  nb.cells.push({
    cell_type: 'code',
    metadata: {},
    source:
      "if tracked:\n    mllab.log_model(model, 'wine', sample=X_test[:5], alias='champion')",
    outputs: [],
    execution_count: null
  });
  return nb;
}

test('the README screenshot: a project, a dataset, a finished run, a model', async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  await lab.createProject(PROJECT, 'Which wines do people like, and why?');
  await expect.poll(() => lab.current()).toBe(PROJECT);

  // a dataset: the demo's CSV dropped on the Datasets panel
  const csv = fs.readFileSync(path.join(DEMO, 'data/wine.csv'), 'utf-8');
  await lab.dropFile('wine.csv', csv);
  const datasetView = page.locator(
    `.jp-mllab-dataset-view[data-key="${PROJECT}/wine@1"]`
  );
  await expect(
    datasetView.locator('.jp-mllab-preview tbody tr').first()
  ).toBeVisible();
  await expect(
    lab.root.locator('.jp-mllab-dataset[data-name="wine"] .jp-mllab-version')
  ).toHaveCount(1);
  // the upload refreshes the project's counts in the picker
  await expect(lab.select.locator('option:checked')).toHaveText(
    `${PROJECT} (1 dataset)`
  );

  // a tracked run of the demo notebook that registers its model
  const put = await page.request.put('/api/contents/train_wine_model.ipynb', {
    data: { type: 'notebook', format: 'json', content: notebookWithModel() }
  });
  expect(put.ok()).toBe(true);
  const job = await lab.runToCompletion({
    notebook: 'train_wine_model.ipynb',
    project: PROJECT,
    parameters: { n_estimators: 60 }
  });
  await page.evaluate(
    async id =>
      (window as any).jupyterapp.commands.execute('mllab:open-job', { id }),
    job.id
  );
  const runPage = page.locator('.jp-mllab-job-page');
  await expect(runPage.locator('.jp-mllab-job-status')).toHaveText('COMPLETED');
  await expect(runPage.locator('.uplot').first()).toBeVisible();

  // every panel shows what it holds: the run, the hardware, the model
  await expect(
    page.locator('#jp-mllab-experiments .jp-mllab-job-row').first()
  ).toHaveAttribute('data-status', 'COMPLETED');
  await expect(page.locator('#jp-mllab-models')).toContainText('wine', {
    timeout: 30_000
  });
  await expect(page.locator('#jp-mllab-sidebar .uplot').first()).toBeVisible({
    timeout: 30_000
  });
  await expect(page.locator('#jp-mllab-sidebar')).not.toContainText(
    'will appear here'
  );
  await expect(page.locator('.Toastify__toast')).toHaveCount(0, {
    timeout: 15_000
  });
  await lab.shot(testInfo, 'readme');
  fs.mkdirSync(path.dirname(README_IMAGE), { recursive: true });
  await page.screenshot({ path: README_IMAGE });

  // the same in the dark theme: colours come from JupyterLab's variables
  await page.theme.setDarkTheme();
  await lab.shot(testInfo, 'readme-dark');
  await page.theme.setLightTheme();
});
