import * as fs from 'fs';

import { expect, test } from './fixtures';

import { MLLabSidebar, pythonNotebook } from './mllab';

const PROJECT = 'serving';
// a fresh project: the model's first version is v1
test.use({ autoGoto: true, project: PROJECT });
test.setTimeout(300_000);

/** A notebook that trains two small wine classifiers: v1 (@champion) and v2 of "wine". */
function trainingNotebook(): unknown {
  return pythonNotebook([
    {
      source: [
        'import pandas as pd',
        'from sklearn.linear_model import LogisticRegression',
        'import jupyter_mllab as mllab',
        "wine = pd.read_csv('data/wine.csv')",
        "X, y = wine.drop(columns='target'), wine['target']",
        'model = LogisticRegression(max_iter=2000).fit(X, y)',
        "mllab.log_model(model, 'wine', sample=X.head(3), alias='champion')",
        'model = LogisticRegression(C=0.1, max_iter=2000).fit(X, y)',
        "mllab.log_model(model, 'wine', sample=X.head(3))"
      ].join('\n')
    }
  ]);
}

/**
 * From a model's page: Deploy; the service turns healthy; Try it predicts (and a bad
 * input is answered 400); the request counters move; the API page renders Swagger UI;
 * redeploy to another version; an alias chip deploys a service that follows it; stop;
 * remove.
 */
test('deploy a model version, try it, open its API page, redeploy, stop and remove it', async ({
  page
}, testInfo) => {
  // services are lab-wide (their names too): none left from an earlier try
  const before = await (await page.request.get('/mllab/api/services')).json();
  for (const { name } of before.services as { name: string }[]) {
    expect(
      (await page.request.delete(`/mllab/api/services/${name}`)).ok()
    ).toBe(true);
  }
  const lab = new MLLabSidebar(page);
  await lab.open();
  // the room to the Models & Services panel (a click on a title folds its section)
  await lab.sectionTitle('Datasets').click();
  await lab.sectionTitle('Experiments').click();
  await lab.sectionTitle('Hardware').click();
  const panel = page.locator('#jp-mllab-models');
  await expect(panel.locator('.jp-mllab-services-empty')).toContainText(
    'Deploy'
  );

  const put = await page.request.put('/api/contents/train_small.ipynb', {
    data: { type: 'notebook', format: 'json', content: trainingNotebook() }
  });
  expect(put.ok()).toBeTruthy();
  // v1 (@champion) and v2 (a version to redeploy to), from one tracked run
  await lab.runToCompletion({
    notebook: 'train_small.ipynb',
    project: PROJECT
  });

  // the model's page, at v1: Deploy
  await page.evaluate(async project => {
    await (window as any).jupyterapp.commands.execute('mllab:open-model', {
      project,
      name: 'wine',
      version: 1
    });
  }, PROJECT);
  const modelPage = page.locator(
    `.jp-mllab-model-page[data-key="${PROJECT}/wine"]`
  );
  await expect(
    modelPage.locator('.jp-mllab-version-detail[data-version="1"]')
  ).toBeVisible();
  await lab.shot(testInfo, 'services-model-page');
  await modelPage.locator('.jp-mllab-deploy-version').click();

  // the service's page opens and the service turns healthy
  const svc = page.locator('.jp-mllab-service-page[data-name="wine"]');
  await expect(svc).toBeVisible();
  await expect(svc).toHaveAttribute('data-ready', 'true', { timeout: 120_000 });
  await expect(svc.locator('.jp-mllab-service-header')).toContainText(
    'running · healthy'
  );
  await expect(svc.locator('.jp-mllab-service-serving')).toContainText(
    'wine@1'
  );
  await expect(svc.locator('.jp-mllab-service-url-text')).toContainText(
    'http://127.0.0.1:'
  );
  // the lineage of the served version: its run and the notebook that made it
  await expect(svc.locator('.jp-mllab-lineage-run')).toContainText(
    'MLflow run'
  );
  await expect(svc.locator('.jp-mllab-lineage-notebook')).toContainText(
    'train_small.ipynb'
  );

  // in the panel: a row with its dot, model@version and URL
  const row = panel.locator('.jp-mllab-service-row[data-name="wine"]');
  await expect(row).toContainText('wine@1');
  await expect(row.locator('.jp-mllab-service-url')).toContainText(
    'http://127.0.0.1:'
  );
  await expect(row.locator('.jp-mllab-service-status')).toHaveText(
    'running · healthy'
  );
  await expect(row.locator('.jp-mllab-service-requests')).toHaveText(
    '0 requests'
  );

  // Try it: the input example as a table, predicted through the lab's proxy
  const tryit = svc.locator('.jp-mllab-tryit');
  await expect(tryit.locator('thead')).toContainText('alcohol');
  await expect(tryit.locator('tbody tr')).toHaveCount(3);
  const answer = tryit.locator('.jp-mllab-tryit-answer');
  // a few seconds of traffic, for the charts
  for (let i = 0; i < 4; i++) {
    await tryit.locator('.jp-mllab-tryit-predict').click();
    await expect(answer).toHaveAttribute('data-status', '200');
    await expect(tryit.locator('.jp-mllab-tryit-predict')).toBeEnabled();
    await page.waitForTimeout(700);
  }
  await expect(answer.locator('.jp-mllab-tryit-output')).toContainText(
    'predictions'
  );
  await expect(answer.locator('.jp-mllab-tryit-latency')).toContainText('ms');
  // the lineage headers of the answer
  await expect(answer.locator('.jp-mllab-tryit-model')).toContainText('wine@1');
  await expect(answer.locator('.jp-mllab-tryit-run')).toHaveText(
    /^[0-9a-f]{32}$/
  );
  // the request counters move, on the page and in the panel
  await expect(
    svc.locator('[data-counter="requests"] .jp-mllab-counter-value')
  ).not.toHaveText('0', { timeout: 15_000 });
  await expect(row.locator('.jp-mllab-service-requests')).not.toHaveText(
    '0 requests',
    { timeout: 15_000 }
  );
  // the curl command calls the service itself, with its token
  await expect(svc.locator('.jp-mllab-curl-command')).toContainText(
    'Authorization: Bearer '
  );
  // the latency chart has its second of traffic; the log has the service's start
  await expect(svc.locator('.jp-mllab-service-charts')).toBeVisible({
    timeout: 15_000
  });
  await expect(svc.locator('.jp-mllab-service-log')).not.toHaveText(
    'Nothing logged yet.'
  );
  await lab.shot(testInfo, 'services-page');

  // edited as JSON: a column the signature does not have is refused, naming it
  await tryit.locator('.jp-mllab-tryit-mode', { hasText: 'JSON' }).click();
  const json = tryit.locator('textarea.jp-mllab-tryit-json');
  await expect(json).toHaveValue(/dataframe_split/);
  const example = await json.inputValue();
  await json.fill(
    JSON.stringify({
      dataframe_split: { columns: ['no_such_column'], data: [[1]] }
    })
  );
  await tryit.locator('.jp-mllab-tryit-predict').click();
  await expect(answer).toHaveAttribute('data-status', /^4\d\d$/);
  await expect(answer).toHaveClass(/jp-mllab-tryit-failed/);
  await expect(answer.locator('.jp-mllab-tryit-output')).toContainText(
    'no_such_column'
  );
  await expect(
    svc.locator('[data-counter="errors"] .jp-mllab-counter-value')
  ).toHaveText('1', { timeout: 15_000 });

  // the API page: the service's Swagger UI, through the proxy
  await svc.locator('.jp-mllab-show-api').click();
  const api = page.frameLocator('.jp-mllab-service-api-frame');
  await expect(api.locator('.swagger-ui .title').first()).toBeVisible({
    timeout: 30_000
  });
  await expect(api.locator('.opblock').first()).toBeVisible();
  await expect(api.locator('.swagger-ui')).toContainText('/invocations');
  await svc.locator('.jp-mllab-service-api').scrollIntoViewIfNeeded();
  await lab.shot(testInfo, 'services-api-page');

  // the production hand-off: a zip with the Dockerfile and the manifests
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    svc.locator('.jp-mllab-service-handoff').click()
  ]);
  expect(download.suggestedFilename()).toBe('wine-handoff.zip');
  const zip = fs.readFileSync(await download.path());
  expect(zip.subarray(0, 2).toString()).toBe('PK');
  expect(zip.includes(Buffer.from('Dockerfile'))).toBe(true);
  expect(zip.includes(Buffer.from('kserve.yaml'))).toBe(true);

  // redeploy to v2: the new process takes over once healthy; its answers name v2
  await svc.locator('select.jp-mllab-redeploy-version').selectOption('wine@2');
  await svc.locator('.jp-mllab-redeploy-button').click();
  await expect(svc.locator('.jp-mllab-service-serving')).toContainText(
    'wine@2',
    { timeout: 120_000 }
  );
  await expect(svc).toHaveAttribute('data-ready', 'true', { timeout: 120_000 });
  // (the old process drains what it accepted before the switch: ask until v2 answers)
  await json.fill(example);
  await expect(async () => {
    await tryit.locator('.jp-mllab-tryit-predict').click();
    await expect(answer).toHaveAttribute('data-status', '200');
    await expect(answer.locator('.jp-mllab-tryit-model')).toContainText(
      'wine@2',
      { timeout: 2000 }
    );
  }).toPass({ timeout: 30_000 });

  // an alias chip in the panel deploys a service that follows the alias
  await panel
    .locator(
      '.jp-mllab-model-row[data-name="wine"] .jp-mllab-alias[data-alias="champion"] .jp-mllab-alias-deploy'
    )
    .click();
  const follower = page.locator('.jp-mllab-service-page[data-name="wine-2"]');
  await expect(follower).toBeVisible();
  await expect(follower.locator('.jp-mllab-service-serving')).toContainText(
    '@champion'
  );
  await expect(
    panel.locator('.jp-mllab-service-row[data-name="wine-2"]')
  ).toBeVisible();
  await expect(follower).toHaveAttribute('data-ready', 'true', {
    timeout: 120_000
  });
  await page.sidebar.openTab('jp-mllab-sidebar');
  await lab.shot(testInfo, 'services-list');

  // stop the first service from its row; it says so on its page too
  await row.locator('.jp-mllab-service-stop').click();
  await expect(row.locator('.jp-mllab-service-status')).toHaveText('stopped', {
    timeout: 30_000
  });
  await expect(row.locator('.jp-mllab-service-start')).toBeVisible();
  // Enter on its row (the keyboard's way) shows its page
  await row.focus();
  await page.keyboard.press('Enter');
  await expect(svc).toBeVisible();
  await expect(svc).toHaveAttribute('data-status', 'stopped', {
    timeout: 15_000
  });

  // remove both: each asks first; the page of a removed service closes
  for (const name of ['wine', 'wine-2']) {
    await panel
      .locator(
        `.jp-mllab-service-row[data-name="${name}"] .jp-mllab-service-remove`
      )
      .click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog).toContainText(`Remove service ${name}?`);
    await dialog.locator('.jp-Dialog-button.jp-mod-warn').click();
    await expect(
      panel.locator(`.jp-mllab-service-row[data-name="${name}"]`)
    ).toHaveCount(0, { timeout: 30_000 });
    await expect(
      page.locator(`.jp-mllab-service-page[data-name="${name}"]`)
    ).toHaveCount(0, { timeout: 30_000 });
  }
  await expect(panel.locator('.jp-mllab-services-empty')).toBeVisible();
  const left = await (
    await page.request.get(`/mllab/api/services?project=${PROJECT}`)
  ).json();
  expect(left.services).toEqual([]);
});
