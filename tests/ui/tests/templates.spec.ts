import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

import { expect, test } from './fixtures';
import { MLLabSidebar } from './mllab';

const PROJECT = 'starters';
test.use({ autoGoto: true, project: PROJECT });

const DATA = path.resolve(__dirname, '../../../jupyter_mllab/templates/data');

/** A file in `folder` (the contents API), then a dataset version of it. */
async function addDataset(
  request: APIRequestContext,
  folder: string,
  file: string,
  name: string
): Promise<string> {
  const content = fs.readFileSync(path.join(DATA, file), 'utf-8');
  const put = await request.put(`/api/contents/${folder}/${file}`, {
    data: { type: 'file', format: 'text', content }
  });
  expect(put.ok()).toBeTruthy();
  const added = await request.post(`/mllab/api/projects/${PROJECT}/datasets`, {
    data: { path: `${folder}/${file}`, name }
  });
  expect(added.status()).toBe(201);
  return (await added.json()).key;
}

/** A launcher for the folder the file browser shows (galata's tmpPath, the test's own). */
async function openLauncher(page: IJupyterLabPageFixture): Promise<void> {
  await page.evaluate(async () => {
    await (window as any).jupyterapp.commands.execute('launcher:create');
  });
  await expect(page.locator('.jp-Launcher').last()).toBeVisible();
}

function mllabSection(page: IJupyterLabPageFixture) {
  return page.locator('.jp-Launcher:visible .jp-Launcher-section').filter({
    has: page.locator('.jp-Launcher-sectionTitle', { hasText: 'ML Lab' })
  });
}

/** The code cell of the notebook showing that assigns `name` (as CodeMirror shows it). */
function cellAssigning(page: IJupyterLabPageFixture, name: string) {
  return page
    .locator('.jp-NotebookPanel:visible .jp-CodeCell .cm-content')
    .filter({ hasText: `${name} = ` })
    .first();
}

test('the launcher has an ML Lab section with a card per template', async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  if ((await page.locator('.jp-Launcher:visible').count()) === 0) {
    await openLauncher(page);
  }
  const section = mllabSection(page);
  await expect(section).toBeVisible();
  const cards = section.locator('.jp-LauncherCard');
  await expect(cards).toHaveCount(4);
  await expect(cards.locator('.jp-LauncherCard-label')).toHaveText([
    /wine/i,
    /digits/i,
    /text/i,
    /preparation/i
  ]);
  // each card has its icon
  await expect(cards.locator('.jp-LauncherCard-icon svg')).toHaveCount(4);
  await section.scrollIntoViewIfNeeded();
  await lab.shot(testInfo, 'launcher');
});

test('a launcher card makes the notebook with the project dataset filled in', async ({
  page,
  tmpPath
}) => {
  const key = await addDataset(page.request, tmpPath, 'wine.csv', 'wine');
  expect(key).toBe(`${PROJECT}/wine@1`);
  await openLauncher(page);
  await mllabSection(page)
    .locator('.jp-LauncherCard', { hasText: /wine/i })
    .click();

  await expect(
    page.locator('.lm-TabBar-tab.lm-mod-current', {
      hasText: 'wine_regression.ipynb'
    })
  ).toBeVisible();
  await expect(cellAssigning(page, 'data')).toContainText(
    `data = "${PROJECT}/wine@1"`
  );
  await expect(
    page
      .locator('.Toastify__toast')
      .filter({ hasText: `data = "${PROJECT}/wine@1"` })
  ).toBeVisible();
  // it is in the folder the file browser shows; a key: no sample data beside it
  await expect(
    page.locator('.jp-DirListing-item', { hasText: 'wine_regression.ipynb' })
  ).toBeVisible();
  const listing = await (
    await page.request.get(`/api/contents/${tmpPath}`)
  ).json();
  expect(listing.content.map((f: { name: string }) => f.name).sort()).toEqual([
    'wine.csv',
    'wine_regression.ipynb'
  ]);
});

test('the palette command makes the text notebook', async ({
  page,
  tmpPath
}) => {
  const key = await addDataset(page.request, tmpPath, 'news.csv', 'news');
  await page.keyboard.press('Control+Shift+C');
  const palette = page.locator('#command-palette');
  await expect(palette).toBeVisible();
  await palette.locator('.lm-CommandPalette-input').fill('template: text');
  const item = palette.locator('.lm-CommandPalette-item', {
    hasText: 'New notebook from template: Text classification'
  });
  await expect(item).toBeVisible();
  await item.click();

  await expect(
    page.locator('.lm-TabBar-tab.lm-mod-current', {
      hasText: 'text_classification.ipynb'
    })
  ).toBeVisible();
  await expect(
    page.locator('.jp-DirListing-item', {
      hasText: 'text_classification.ipynb'
    })
  ).toBeVisible();
  await expect(cellAssigning(page, 'corpus')).toContainText(
    `corpus = "${key}"`
  );
});
