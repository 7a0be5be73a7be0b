/**
 * A page object for the ML Lab sidebar, so that tests read as what a person does.
 */
import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { expect, Locator, TestInfo } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

export const SCREENSHOTS = path.resolve(__dirname, '../../../test-output/ui');
/** The README's images: made by the browser tests, so they show the lab as it is. */
export const README_IMAGES = path.resolve(__dirname, '../../../docs/images');

/** A Python notebook (nbformat 4.5) of code cells; `parameters`: the papermill cell. */
export function pythonNotebook(
  cells: { source: string; parameters?: boolean }[]
): Record<string, unknown> {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: {
        name: 'python3',
        display_name: 'Python 3',
        language: 'python'
      }
    },
    cells: cells.map(({ source, parameters }) => ({
      cell_type: 'code',
      metadata: parameters ? { tags: ['parameters'] } : {},
      source,
      outputs: [],
      execution_count: null
    }))
  };
}

export class MLLabSidebar {
  constructor(readonly page: IJupyterLabPageFixture) {}

  get root(): Locator {
    return this.page.locator('#jp-mllab-sidebar');
  }

  get select(): Locator {
    return this.root.locator('.jp-mllab-project-select');
  }

  /** Show the ML Lab sidebar (a click on its tab would hide it if already shown). */
  async open(): Promise<void> {
    await this.page.sidebar.openTab('jp-mllab-sidebar');
    await expect(this.root).toBeVisible();
    await expect(this.select).toBeVisible();
  }

  sectionTitle(name: string): Locator {
    return this.root.locator('.jp-AccordionPanel-title', { hasText: name });
  }

  async current(): Promise<string> {
    return this.select.inputValue();
  }

  async projectNames(): Promise<string[]> {
    return this.select
      .locator('option')
      .evaluateAll(options => options.map(o => (o as HTMLOptionElement).value));
  }

  /** Fill the "New project" dialog and press Create. */
  async createProject(name: string, description = ''): Promise<void> {
    await this.root.locator('.jp-mllab-new-project').click();
    const dialog = this.page.locator('.jp-Dialog');
    await expect(dialog).toBeVisible();
    await dialog.locator('.jp-mllab-form-name').fill(name);
    await dialog.locator('.jp-mllab-form-description').fill(description);
    await dialog.locator('.jp-Dialog-button.jp-mod-accept').click();
  }

  async switchTo(name: string): Promise<void> {
    await this.select.selectOption(name);
    await expect(this.select).toHaveValue(name);
  }

  /** Drop a file on the Datasets panel, as a person dragging it from the desktop. */
  async dropFile(
    name: string,
    content: string,
    type = 'text/csv'
  ): Promise<void> {
    const dataTransfer = await this.page.evaluateHandle(
      ({ name, content, type }) => {
        const dt = new DataTransfer();
        dt.items.add(new File([content], name, { type }));
        return dt;
      },
      { name, content, type }
    );
    await this.page.dispatchEvent('.jp-mllab-datasets', 'dragover', {
      dataTransfer
    });
    await this.page.dispatchEvent('.jp-mllab-datasets', 'drop', {
      dataTransfer
    });
  }

  /** Submits a run or sweep through the REST API and waits until it has COMPLETED. */
  async runToCompletion(
    data: Record<string, unknown>,
    timeout = 180_000
  ): Promise<{ id: string }> {
    const submitted = await this.page.request.post('/mllab/api/jobs', { data });
    expect(submitted.status()).toBe(201);
    const job = await submitted.json();
    await expect
      .poll(
        async () =>
          (
            await (
              await this.page.request.get(`/mllab/api/jobs/${job.id}`)
            ).json()
          ).status,
        { timeout, intervals: [1000] }
      )
      .toBe('COMPLETED');
    return job;
  }

  async shot(testInfo: TestInfo, name: string): Promise<void> {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const file = path.join(SCREENSHOTS, `${name}.png`);
    await this.page.screenshot({ path: file });
    await testInfo.attach(name, { path: file, contentType: 'image/png' });
  }

  /**
   * A screenshot for the README, `docs/images/<name>.png` (and the test output's copy):
   * the part of the page inside `clip` (page pixels), or the whole page.
   */
  async readmeShot(
    testInfo: TestInfo,
    name: string,
    clip?: { x: number; y: number; width: number; height: number }
  ): Promise<void> {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    fs.mkdirSync(README_IMAGES, { recursive: true });
    const file = path.join(SCREENSHOTS, `${name}.png`);
    await this.page.screenshot({ path: file, clip });
    fs.copyFileSync(file, path.join(README_IMAGES, `${name}.png`));
    await testInfo.attach(name, { path: file, contentType: 'image/png' });
  }
}
