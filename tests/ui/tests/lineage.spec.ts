import { expect, test } from './fixtures';

import { MLLabSidebar, pythonNotebook } from './mllab';

const PROJECT = 'lineage-demo';
test.use({ autoGoto: true, project: PROJECT });
test.setTimeout(240_000);

/** A notebook that stores a CSV, then a cleaned copy derived from it (in its run). */
function preparingNotebook(): Record<string, unknown> {
  return pythonNotebook([
    { source: 'target_name = "raw-clean"', parameters: true },
    {
      source: [
        'import jupyter_mllab as mllab',
        'with open("raw.csv", "w") as f:',
        '    f.write("a,b\\n1,2\\n1,2\\n")',
        'raw = mllab.upload_dataset("raw.csv", name="raw")',
        'frame = mllab.load_dataset(raw["key"]).drop_duplicates()',
        'frame.to_csv("clean.csv", index=False)',
        'mllab.upload_dataset("clean.csv", name=target_name, derived_from=[raw["key"]])'
      ].join('\n')
    }
  ]);
}

test("a derived version's page names its parent and the run that made it", async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  const put = await page.request.put('/api/contents/prepare.ipynb', {
    data: { type: 'notebook', format: 'json', content: preparingNotebook() }
  });
  expect(put.ok()).toBeTruthy();
  const job = await lab.runToCompletion({
    notebook: 'prepare.ipynb',
    project: PROJECT
  });
  const runId = (
    await (await page.request.get(`/mllab/api/jobs/${job.id}`)).json()
  ).mlflow_run_id;
  expect(runId).toMatch(/^[0-9a-f]{32}$/);

  // the Datasets panel lists both; the derived version's page shows its lineage
  const panel = page.locator('.jp-mllab-datasets');
  const item = panel.locator('.jp-mllab-dataset[data-name="raw-clean"]');
  await expect(item).toBeVisible({ timeout: 30_000 });
  await item.locator('.jp-mllab-dataset-row').click();
  await item
    .locator('.jp-mllab-version[data-version="1"] .jp-mllab-version-number')
    .click();
  const view = page.locator(
    `.jp-mllab-dataset-view[data-key="${PROJECT}/raw-clean@1"]`
  );
  await expect(view.locator('h2')).toHaveText(`${PROJECT}/raw-clean@1`);
  await expect(view).toContainText(
    `Derived from ${PROJECT}/raw@1 by run ${runId}`
  );
  await lab.shot(testInfo, 'datasets-lineage');

  // the parent has no lineage of its own
  const parent = panel.locator('.jp-mllab-dataset[data-name="raw"]');
  await parent.locator('.jp-mllab-dataset-row').click();
  await parent
    .locator('.jp-mllab-version[data-version="1"] .jp-mllab-version-number')
    .click();
  const parentView = page.locator(
    `.jp-mllab-dataset-view[data-key="${PROJECT}/raw@1"]`
  );
  await expect(parentView.locator('h2')).toHaveText(`${PROJECT}/raw@1`);
  await expect(parentView).not.toContainText('Derived from');
});
