import { expect, test } from './fixtures';
import * as fs from 'fs';
import * as path from 'path';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true });

const PROJECT = 'wine-tasting';

test('a project with a dataset, as the README shows it', async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  await lab.createProject(PROJECT, 'Which wines do people like, and why?');
  await expect.poll(() => lab.current()).toBe(PROJECT);

  const csv = fs.readFileSync(
    path.resolve(__dirname, '../../../demo/data/wine.csv'),
    'utf-8'
  );
  await lab.dropFile('wine.csv', csv);
  const view = page.locator(
    `.jp-mllab-dataset-view[data-key="${PROJECT}/wine@1"]`
  );
  await expect(
    view.locator('.jp-mllab-preview tbody tr').first()
  ).toBeVisible();
  await expect(
    lab.root.locator('.jp-mllab-dataset[data-name="wine"] .jp-mllab-version')
  ).toHaveCount(1);
  await expect(page.locator('.Toastify__toast')).toHaveCount(0, {
    timeout: 10_000
  });
  // the upload refreshes the project's counts in the picker
  await expect(lab.select.locator('option:checked')).toHaveText(
    `${PROJECT} (1 dataset)`
  );
  await lab.shot(testInfo, 'readme');

  // the same in the dark theme: colours come from JupyterLab's variables
  await page.theme.setDarkTheme();
  await lab.shot(testInfo, 'readme-dark');
  await page.theme.setLightTheme();
});
