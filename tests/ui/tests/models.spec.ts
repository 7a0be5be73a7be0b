import { expect, test } from './fixtures';

import { MLLabSidebar } from './mllab';

// a fresh project: the model's first version is v1
test.use({ autoGoto: true, project: 'cellar' });
test.setTimeout(240_000);

/**
 * Train in the demo notebook (its random forest: a small scikit-learn model, faster in a
 * browser test than Keras), export it with the cell toolbar's "Export model", find the
 * version in the Models panel, open its page with its lineage, set an alias.
 */
test('export the demo notebook model from the cell toolbar, see it in the Models panel, set an alias', async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  const models = page.locator('#jp-mllab-models');
  // the room to the Models panel (a click on a title folds its section)
  await lab.sectionTitle('Experiments').click();
  await lab.sectionTitle('Hardware').click();
  // the empty state says how to export
  await expect(models.locator('.jp-mllab-models-empty')).toContainText(
    'mllab.log_model'
  );

  await page.evaluate(async () => {
    await (window as any).jupyterapp.commands.execute('docmanager:open', {
      path: 'train_wine.ipynb',
      factory: 'Notebook'
    });
  });
  const notebook = page.locator('.jp-NotebookPanel').first();
  await expect(notebook.locator('.jp-Cell')).toHaveCount(5);
  // the notebook toolbar has the button too
  await expect(
    notebook.locator(
      '.jp-NotebookPanel-toolbar [data-command="mllab:export-model"]'
    )
  ).toBeVisible();
  // train: run every cell in the notebook's own kernel
  await page.notebook.run();
  await expect(
    notebook.locator('.jp-OutputArea-output', { hasText: 'accuracy =' })
  ).toBeVisible({ timeout: 60_000 });

  // the cell toolbar of the training cell: the kernel is asked for its models
  await notebook.locator('.jp-Cell').nth(3).click();
  await notebook
    .locator('.jp-cell-toolbar [data-command="mllab:export-model"]')
    .click();
  const dialog = page.locator('.jp-Dialog');
  const variable = dialog.locator('select.jp-mllab-export-variable');
  await expect(variable).toBeVisible({ timeout: 30_000 });
  // only the model: not the DataFrames, the arrays, the class or the modules
  const names = await variable
    .locator('option')
    .evaluateAll(os => os.map(o => (o as HTMLOptionElement).value));
  expect(names).toEqual(['model']);
  await expect(dialog.locator('.jp-mllab-export-flavor')).toContainText(
    'sklearn'
  );
  await expect(dialog.locator('input.jp-mllab-export-name')).toHaveValue(
    'model'
  );
  // the kernel's exception (a name the registry refuses) shows in the dialog, which stays
  await dialog.locator('input.jp-mllab-export-name').fill('red/white');
  await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(dialog.locator('.jp-mllab-form-error')).toContainText(
    'BadRequest',
    { timeout: 60_000 }
  );
  await expect(dialog.locator('.jp-Dialog-button.jp-mod-accept')).toBeEnabled();
  await dialog.locator('input.jp-mllab-export-name').fill('wine');
  await expect(dialog.locator('select.jp-mllab-export-format')).toHaveValue(
    'mlflow'
  );
  await dialog
    .locator('textarea.jp-mllab-export-description')
    .fill('random forest on the demo wines');
  // a few rows of input, evaluated in the kernel: the version's signature and example
  await dialog.locator('input.jp-mllab-export-sample').fill('X_test[:5]');
  await lab.shot(testInfo, 'models-export-dialog');
  await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(page.locator('.jp-Dialog')).toHaveCount(0, { timeout: 90_000 });

  // the new version in the Models panel
  const row = models.locator('.jp-mllab-model-row[data-name="wine"]');
  await expect(row).toBeVisible();
  await expect(row.locator('.jp-mllab-dataset-latest')).toHaveText('v1');
  await expect(row).toContainText('1 version');

  // its page opened at that version, with its lineage
  const view = page.locator('.jp-mllab-model-page[data-key="cellar/wine"]');
  await expect(view.locator('h2')).toHaveText('cellar/wine');
  const detail = view.locator('.jp-mllab-version-detail[data-version="1"]');
  await expect(detail).toBeVisible();
  await expect(view.locator('.jp-mllab-model-version-header h3')).toContainText(
    'cellar/wine@1'
  );
  await expect(view).toContainText('sklearn');
  // the signature inferred from the sample: the wine columns with their types
  await expect(
    detail.locator('.jp-mllab-signature-table').first()
  ).toContainText('alcohol');
  await expect(view).toContainText('random forest on the demo wines');
  const lineage = detail.locator('.jp-mllab-lineage');
  await expect(lineage.locator('.jp-mllab-lineage-run')).toContainText(
    'MLflow run'
  );
  await expect(lineage.locator('.jp-mllab-lineage-notebook')).toContainText(
    'train_wine.ipynb'
  );
  await expect(lineage.locator('.jp-mllab-lineage-notebook')).toContainText(
    'sha256'
  );
  await expect(
    detail.locator('.jp-mllab-model-files .jp-mllab-preview-files li')
  ).not.toHaveCount(0);
  await expect(detail.locator('.jp-mllab-model-files')).toContainText(
    'MLmodel'
  );

  // set alias "champion" on v1: on the page and in the panel
  await view.locator('.jp-mllab-set-alias').click();
  const aliasDialog = page.locator('.jp-Dialog');
  await aliasDialog.locator('input.jp-mllab-alias-name').fill('champion');
  await expect(
    aliasDialog.locator('select.jp-mllab-alias-version')
  ).toHaveValue('1');
  await aliasDialog.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);
  await expect(
    view.locator(
      '.jp-mllab-model-version-header .jp-mllab-alias[data-alias="champion"]'
    )
  ).toBeVisible();
  await expect(
    view.locator('.jp-mllab-version[data-version="1"] .jp-mllab-alias')
  ).toHaveText('@champion');
  await expect(
    row.locator('.jp-mllab-alias[data-alias="champion"]')
  ).toContainText('v1');
  await lab.shot(testInfo, 'models-page');

  // a wrong alias is refused in the dialog, which stays open with the reason
  await view.locator('.jp-mllab-set-alias').click();
  await page.locator('.jp-Dialog input.jp-mllab-alias-name').fill('latest');
  await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-accept').click();
  await expect(page.locator('.jp-Dialog .jp-mllab-form-error')).toBeVisible();
  await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-reject').click();
  await expect(page.locator('.jp-Dialog')).toHaveCount(0);

  await page.sidebar.openTab('jp-mllab-sidebar');
  await lab.shot(testInfo, 'models-panel');
});
