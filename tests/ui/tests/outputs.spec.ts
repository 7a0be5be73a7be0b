import { expect, test } from './fixtures';

import { MLLabSidebar, pythonNotebook } from './mllab';

const PROJECT = 'outputs-demo';
test.use({ autoGoto: true, project: PROJECT });
test.setTimeout(240_000);

/** A notebook that writes a text file and a small PNG into its working folder. */
function writingNotebook(): Record<string, unknown> {
  return pythonNotebook([
    { source: 'label = "hello"', parameters: true },
    {
      source: [
        'import os',
        'from PIL import Image',
        'with open("out.txt", "w") as f:',
        '    f.write(f"label={label}\\n")',
        'os.makedirs("plots", exist_ok=True)',
        'Image.new("RGB", (64, 48), (30, 120, 200)).save("plots/square.png")',
        'print("wrote", sorted(os.listdir(".")))'
      ].join('\n')
    }
  ]);
}

test("a run's outputs: listed on its page, an image previewed, a file promoted", async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  const put = await page.request.put('/api/contents/writes_outputs.ipynb', {
    data: { type: 'notebook', format: 'json', content: writingNotebook() }
  });
  expect(put.ok()).toBeTruthy();

  const job = await lab.runToCompletion({
    notebook: 'writes_outputs.ipynb',
    project: PROJECT,
    parameters: { label: 'from-the-spec' }
  });

  // the run's page, from the Experiments panel
  const panel = page.locator('#jp-mllab-experiments');
  const row = panel.locator('.jp-mllab-job-row').first();
  await expect(row).toContainText('writes_outputs.ipynb');
  await row.click();
  const runPage = page.locator('.jp-mllab-job-page');
  await expect(runPage.locator('.jp-mllab-job-status')).toHaveText('COMPLETED');

  // its Outputs section lists both files with their sizes
  const outputs = runPage.locator('.jp-mllab-outputs');
  await expect(outputs.locator('h3')).toHaveText('Outputs');
  const text = outputs.locator('tr[data-path="out.txt"]');
  const image = outputs.locator('tr[data-path="plots/square.png"]');
  await expect(text).toBeVisible({ timeout: 30_000 });
  await expect(text).toContainText('B'); // a size
  await expect(image).toBeVisible();
  await expect(text.locator('a', { hasText: 'Download' })).toHaveAttribute(
    'href',
    new RegExp(`/mllab/api/jobs/${job.id}/outputs/out.txt$`)
  );

  // click the image: its thumbnail, as a dataset preview shows it
  await image.locator('.jp-mllab-output-name').click();
  const preview = runPage.locator('.jp-mllab-output-preview');
  await expect(preview).toHaveAttribute('data-path', 'plots/square.png');
  await expect(preview.locator('img')).toBeVisible();
  await expect(preview).toContainText('64 × 48');
  await lab.shot(testInfo, 'outputs-run-page-image-preview');

  // the text file's preview, then promote it to a dataset
  await text.locator('.jp-mllab-output-name').click();
  await expect(preview.locator('.jp-mllab-preview-text')).toContainText(
    'label=from-the-spec'
  );
  await text.locator('button', { hasText: 'Promote to dataset' }).click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.locator('input').fill('spec-output');
  await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
  await expect(
    page.locator('.Toastify__toast').filter({ hasText: 'spec-output@1' })
  ).toBeVisible({ timeout: 30_000 });
  const version = await (
    await page.request.get(
      `/mllab/api/projects/${PROJECT}/datasets/spec-output/versions/1`
    )
  ).json();
  expect(version.source_job_id).toBe(job.id);
  expect(version.source_path).toBe('out.txt');
  await lab.shot(testInfo, 'outputs-promoted');
});
