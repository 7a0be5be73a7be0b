import { expect, test } from './fixtures';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true });

test.describe('ML Lab sidebar', () => {
  test('shows the project picker and the four panels', async ({
    page
  }, testInfo) => {
    const lab = new MLLabSidebar(page);
    await lab.open();
    for (const name of [
      'Datasets',
      'Experiments',
      'Hardware',
      'Models & Services'
    ]) {
      await expect(lab.sectionTitle(name)).toBeVisible();
    }
    await expect.poll(() => lab.current()).toBe('default');
    // the default project stays: no rename, no delete
    await expect(lab.root.locator('.jp-mllab-delete-project')).toBeDisabled();
    await expect(lab.root.locator('.jp-mllab-rename-project')).toBeDisabled();
    await expect(lab.root.locator('.jp-mllab-server-info')).toContainText(
      'ML Lab 0.1.0'
    );
    // the tracking URI, shortened, and whether there is a GPU (none here)
    await expect(lab.root.locator('.jp-mllab-server-info')).toContainText(
      'sqlite:…/.mllab/mlflow.db'
    );
    await expect(lab.root.locator('.jp-mllab-server-info')).toContainText(
      /no GPU|\d GPUs?/
    );
    await lab.shot(testInfo, 'sidebar');
  });

  test('creates, switches, renames and deletes projects', async ({
    page
  }, testInfo) => {
    const lab = new MLLabSidebar(page);
    await lab.open();
    await expect.poll(() => lab.current()).toBe('default');

    await lab.createProject('wine-quality', 'Which wines do people like?');
    await expect.poll(() => lab.current()).toBe('wine-quality');
    await expect(lab.root.locator('.jp-mllab-picker-description')).toHaveText(
      'Which wines do people like?'
    );
    await expect(lab.root.locator('.jp-mllab-planned').first()).toContainText(
      'wine-quality'
    );
    await lab.shot(testInfo, 'project-created');

    // the choice survives a reload, and the server knows it (for new kernels)
    await page.reload();
    await lab.open();
    await expect.poll(() => lab.current()).toBe('wine-quality');
    const current = await page.request.get('/mllab/api/current-project');
    expect(await current.json()).toEqual({ name: 'wine-quality' });

    await lab.switchTo('default');
    await expect
      .poll(
        async () =>
          (await (await page.request.get('/mllab/api/current-project')).json())
            .name
      )
      .toBe('default');
    await lab.switchTo('wine-quality');

    // rename through the dialog
    await lab.root.locator('.jp-mllab-rename-project').click();
    const dialog = page.locator('.jp-Dialog');
    await dialog.locator('.jp-mllab-form-name').fill('wine');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect.poll(() => lab.current()).toBe('wine');
    await expect.poll(() => lab.projectNames()).toContain('wine');
    expect(await lab.projectNames()).not.toContain('wine-quality');

    // delete with confirmation
    await lab.root.locator('.jp-mllab-delete-project').click();
    await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-warn').click();
    await expect.poll(() => lab.projectNames()).not.toContain('wine');
    await expect.poll(() => lab.current()).toBe('default');
  });

  test('shows the server message for a bad name, and keeps what was typed', async ({
    page
  }, testInfo) => {
    const lab = new MLLabSidebar(page);
    await lab.open();
    await lab.createProject('no/slashes');
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-mllab-form-error')).toContainText(
      'path separators'
    );
    await expect(dialog.locator('.jp-mllab-form-name')).toHaveValue(
      'no/slashes'
    );
    await lab.shot(testInfo, 'bad-name');
    await dialog.locator('.jp-mllab-form-name').fill('default');
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
    await expect(dialog.locator('.jp-mllab-form-error')).toContainText(
      'already exists'
    );
    await dialog.locator('.jp-Dialog-button.jp-mod-reject').click();
    await expect(dialog).toHaveCount(0);
    expect(await lab.projectNames()).not.toContain('no/slashes');
    expect(
      (await lab.projectNames()).filter(name => name === 'default')
    ).toHaveLength(1);
  });

  test('project commands are in the palette', async ({ page }) => {
    await page.keyboard.press('Control+Shift+C');
    await page.locator('.lm-CommandPalette-input').fill('ML Lab');
    await expect(
      page.locator('.lm-CommandPalette-item', { hasText: 'New Project…' })
    ).toBeVisible();
    await expect(
      page.locator('.lm-CommandPalette-item', { hasText: 'About this ML Lab' })
    ).toBeVisible();
  });
});

test('deleting a project that holds a dataset asks again, then deletes anyway', async ({
  page
}) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  await lab.createProject('full-cellar');
  await expect.poll(() => lab.current()).toBe('full-cellar');
  await lab.dropFile('reds.csv', 'name,quality\nbarolo,7\n');
  await expect(
    lab.root.locator('.jp-mllab-dataset[data-name="reds"]')
  ).toBeVisible();

  await lab.root.locator('.jp-mllab-delete-project').click();
  await page.locator('.jp-Dialog .jp-Dialog-button.jp-mod-warn').click();
  const again = page.locator('.jp-Dialog', { hasText: 'is not empty' });
  await expect(again).toContainText('It holds 1 dataset.');
  await again.locator('.jp-Dialog-button.jp-mod-warn').click();
  await expect.poll(() => lab.projectNames()).not.toContain('full-cellar');
  await expect.poll(() => lab.current()).toBe('default');
});
