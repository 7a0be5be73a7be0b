/**
 * Accessibility: axe-core (the engine of Lighthouse and of the browsers' devtools) on
 * every ML Lab panel and main-area view, with real content in them (a project, a
 * dataset, a sweep of runs, a registered model); none may have a serious or critical
 * violation. And the keyboard: rows take Enter and Space, dialogs close on Escape.
 */
import AxeBuilder from '@axe-core/playwright';
import { Locator, Page } from '@playwright/test';

import { expect, test } from './fixtures';
import { MLLabSidebar, pythonNotebook } from './mllab';

test.use({ autoGoto: true, project: 'a11y' });
test.setTimeout(300_000);

/** A notebook that trains a small model, logs a metric and registers the model. */
const MODEL_NOTEBOOK = pythonNotebook([
  { source: 'max_iter = 200', parameters: true },
  {
    source: [
      'import jupyter_mllab as mllab\n',
      'from sklearn.datasets import load_wine\n',
      'from sklearn.linear_model import LogisticRegression\n',
      'X, y = load_wine(return_X_y=True, as_frame=True)\n',
      'model = LogisticRegression(max_iter=max_iter).fit(X, y)\n',
      "mllab.log_metric('accuracy', model.score(X, y))\n",
      "mllab.log_model(model, 'wine', sample=X[:3])"
    ].join('')
  }
]);

/** axe's serious and critical violations inside `root`, each with its nodes. */
async function violations(page: Page, root: string): Promise<string[]> {
  const result = await new AxeBuilder({ page })
    .include(root)
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'])
    .analyze();
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(
      v =>
        `${v.impact} ${v.id}: ${v.help}\n` +
        v.nodes
          .slice(0, 5)
          .map(n => `    ${n.target.join(' ')}: ${n.failureSummary}`)
          .join('\n')
    );
}

async function expectAccessible(page: Page, root: string): Promise<void> {
  await expect(page.locator(root).first()).toBeVisible();
  // soft: every view is checked, and the test lists all that fail
  expect.soft(await violations(page, root), `axe in ${root}`).toEqual([]);
}

/** Run a lab command; `wait`: until it is done (a dialog's command is done when it closes). */
async function command(
  page: Page,
  id: string,
  args: unknown,
  wait = true
): Promise<void> {
  await page.evaluate(
    async ({ id, args, wait }) => {
      const done = (window as any).jupyterapp.commands.execute(id, args);
      if (wait) {
        await done;
      }
    },
    { id, args, wait }
  );
}

/** Tab from `start` until `target` has the focus (at most `max` presses). */
async function tabTo(page: Page, target: Locator, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    if (await target.evaluate(el => el === document.activeElement)) {
      return;
    }
    await page.keyboard.press('Tab');
  }
  throw new Error(`${target} never got the focus by Tab`);
}

test('every panel and view: no serious or critical axe violation; keyboard', async ({
  page
}) => {
  const lab = new MLLabSidebar(page);
  await lab.open();

  // content: a dataset, a sweep of two runs that each register a model version
  const put = await page.request.put('/api/contents/a11y_model.ipynb', {
    data: { type: 'notebook', format: 'json', content: MODEL_NOTEBOOK }
  });
  expect(put.ok()).toBe(true);
  const sweep = await lab.runToCompletion({
    notebook: 'a11y_model.ipynb',
    project: 'a11y',
    parameters: { max_iter: { values: [100, 200] } }
  });
  const csv = 'a,b,label\n1,2,x\n3,4,y\n5,6,x\n';
  await lab.dropFile('wine.csv', csv);
  const datasetView = page.locator(
    '.jp-mllab-dataset-view[data-key="a11y/wine@1"]'
  );
  await expect(datasetView.locator('.jp-mllab-preview tbody tr')).toHaveCount(
    3
  );

  // the sidebar: project picker, Datasets, Experiments, Hardware, Models & Services
  await expect(
    page.locator('#jp-mllab-experiments .jp-mllab-job-row').first()
  ).toBeVisible();
  await expect(page.locator('#jp-mllab-models')).toContainText('wine');
  await expectAccessible(page, '#jp-mllab-sidebar');

  // the dataset's page
  await expectAccessible(page, '.jp-mllab-dataset-view');

  // the runs table; a row takes Space (select) and Enter (its run's page)
  await command(page, 'mllab:open-runs', { project: 'a11y' });
  const runs = page.locator('.jp-mllab-runs');
  const rows = runs.locator('.jp-mllab-runs-table tbody tr');
  await expect(rows).toHaveCount(3);
  await expectAccessible(page, '.jp-mllab-runs');
  const child = rows.filter({ hasNot: page.locator('.jp-mllab-chip') }).first();
  await child.focus();
  await page.keyboard.press('Space');
  await expect(child).toHaveAttribute('aria-selected', 'true');
  await expect(child.locator('input[type="checkbox"]')).toBeChecked();
  // sorting from the keyboard: a header's button, its state in aria-sort
  const started = runs.locator('thead th', { hasText: 'Started' });
  await started.locator('button').focus();
  await page.keyboard.press('Enter');
  await expect(started).toHaveAttribute('aria-sort', 'descending');

  // compare the two runs of the sweep
  const job = await (
    await page.request.get(`/mllab/api/jobs/${sweep.id}`)
  ).json();
  const ids = job.children.map(
    (c: { mlflow_run_id: string }) => c.mlflow_run_id
  );
  await command(page, 'mllab:compare-runs', { ids });
  await expect(page.locator('.jp-mllab-compare thead th')).toHaveCount(3);
  await expectAccessible(page, '.jp-mllab-compare');

  // a run's page (from the runs table, by Enter on its row)
  await page.locator('.lm-TabBar-tab', { hasText: 'Runs · a11y' }).click();
  await child.focus();
  await page.keyboard.press('Enter');
  const runPage = page.locator('.jp-mllab-job-page');
  await expect(runPage.locator('.jp-mllab-job-status')).toHaveText('COMPLETED');
  await expectAccessible(page, '.jp-mllab-job-page');

  // the model's page
  await command(page, 'mllab:open-model', {
    project: 'a11y',
    name: 'wine',
    version: 2
  });
  await expect(page.locator('.jp-mllab-model-view-content')).toContainText(
    'wine'
  );
  await expectAccessible(page, '.jp-mllab-model-view-content');

  // the run form: a dialog, reached by keyboard, closed by Escape
  await command(
    page,
    'mllab:run-experiment',
    { path: 'a11y_model.ipynb' },
    false
  );
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.locator('.jp-mllab-run-count')).toHaveText(
    'This makes 1 run.'
  );
  await expectAccessible(page, '.jp-Dialog');
  await tabTo(page, dialog.locator('input[aria-label="max_iter"]'));
  await page.keyboard.press('Escape');
  await expect(dialog).toHaveCount(0);
});
