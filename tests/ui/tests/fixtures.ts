/**
 * The `test` every spec uses: galata's, plus a fresh lab before each test.
 *
 * All specs share one Jupyter server (and one ML Lab home), so before each test (and
 * before its page loads) the server is put back as a new user finds it: no project but
 * `default`, and `default` current. Without this a test depends on what ran before it,
 * and a retry meets what its own first try left behind (a project that "already
 * exists"). A spec that needs version numbers from 1 sets `test.use({ project })`: that
 * project is made new and current. (A dataset's numbers never restart in a project, even
 * after it is deleted, so that a key never names other content; a deleted project
 * takes its numbers with it.)
 */
import { expect, test as base } from '@jupyterlab/galata';
import {
  APIRequestContext,
  APIResponse,
  Page,
  TestInfo
} from '@playwright/test';

async function ok(what: string, response: Promise<APIResponse>): Promise<void> {
  const r = await response;
  if (!r.ok()) {
    throw new Error(`${what}: ${r.status()} ${await r.text()}`);
  }
}

async function resetLab(
  request: APIRequestContext,
  project = 'default'
): Promise<void> {
  await ok(
    'PUT current-project',
    request.put('/mllab/api/current-project', { data: { name: 'default' } })
  );
  const { projects } = await (await request.get('/mllab/api/projects')).json();
  for (const { name } of projects as { name: string }[]) {
    if (name !== 'default') {
      await ok(
        `DELETE project ${name}`,
        request.delete(
          `/mllab/api/projects/${encodeURIComponent(name)}?force=true`
        )
      );
    }
  }
  if (project !== 'default') {
    await ok(
      `POST project ${project}`,
      request.post('/mllab/api/projects', { data: { name: project } })
    );
    await ok(
      'PUT current-project',
      request.put('/mllab/api/current-project', { data: { name: project } })
    );
  }
}

/**
 * What was on screen when a test failed: the text of open dialogs and notifications,
 * printed with the failure. CI shows only the output, and "a dialog intercepts pointer
 * events" does not say which dialog.
 */
async function reportScreen(page: Page, testInfo: TestInfo): Promise<void> {
  const texts = async (selector: string) =>
    (
      await page
        .locator(selector)
        .allInnerTexts()
        .catch(() => [])
    )
      .map(t => t.replace(/\s+/g, ' ').trim())
      .filter(Boolean);
  const dialogs = await texts('.jp-Dialog');
  const toasts = await texts('.Toastify__toast');
  console.log(
    `[on screen when "${testInfo.title}" failed] ` +
      `dialogs: ${JSON.stringify(dialogs)} notifications: ${JSON.stringify(toasts)}`
  );
}

export const test = base.extend<{
  project: string;
  freshLab: void;
  screenOnFailure: void;
}>({
  project: ['default', { option: true }],
  // declared first so that it runs before the page (and the lab) loads
  freshLab: [
    async ({ request, project }, use) => {
      await resetLab(request, project);
      await use();
    },
    { auto: true }
  ],
  screenOnFailure: [
    async ({ page }, use, testInfo) => {
      await use();
      if (testInfo.status !== testInfo.expectedStatus) {
        await reportScreen(page, testInfo);
      }
    },
    { auto: true }
  ]
});

export { expect };
