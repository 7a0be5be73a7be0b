import { expect, test } from './fixtures';

import { MLLabSidebar } from './mllab';

test.use({ autoGoto: true });
test.setTimeout(240_000);

/** A notebook that writes a loss curve with tf.summary into its run's TensorBoard folder. */
const NOTEBOOK = {
  type: 'notebook',
  content: {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3',
        language: 'python'
      }
    },
    cells: [
      {
        cell_type: 'code',
        metadata: { tags: ['parameters'] },
        source: 'steps = 20',
        outputs: [],
        execution_count: null
      },
      {
        cell_type: 'code',
        metadata: {},
        source: [
          'import tensorflow as tf\n',
          'import jupyter_mllab as mllab\n',
          'writer = tf.summary.create_file_writer(str(mllab.tensorboard_dir()))\n',
          'with writer.as_default():\n',
          '    for step in range(steps):\n',
          "        tf.summary.scalar('loss', 1 / (step + 1), step=step)\n",
          'writer.flush()'
        ].join(''),
        outputs: [],
        execution_count: null
      }
    ]
  }
};

test("a run's TensorBoard, opened from its page through the server", async ({
  page
}, testInfo) => {
  const lab = new MLLabSidebar(page);
  await lab.open();
  expect(
    (
      await page.request.put('/api/contents/tb_curve.ipynb', { data: NOTEBOOK })
    ).ok()
  ).toBe(true);
  const job = await lab.runToCompletion(
    { notebook: 'tb_curve.ipynb' },
    120_000
  );

  await page.evaluate(async id => {
    await (window as any).jupyterapp.commands.execute('mllab:open-job', { id });
  }, job.id);
  const open = page.locator('.jp-mllab-tensorboard-button');
  await expect(open).toBeVisible({ timeout: 20_000 });
  await open.click();
  const frame = page.frameLocator('.jp-mllab-tensorboard iframe');
  // TensorBoard's own page, served through the lab's authenticated proxy, with the curve
  await expect(frame.locator('tb-webapp')).toBeAttached({ timeout: 90_000 });
  await expect(frame.getByText('loss').first()).toBeVisible({
    timeout: 60_000
  });
  await page.waitForTimeout(1500); // let the chart draw
  await lab.shot(testInfo, 'tensorboard');
});
