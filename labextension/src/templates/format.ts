/** Pure helpers of the template launcher cards and commands (unit-tested). */

export interface ITemplateLike {
  id: string;
  title: string;
  category: string;
  dataset: { parameter: string } | null;
}

export type TemplateKind = 'tabular' | 'image' | 'text' | 'data';

/** Which icon a template's category gets. */
export function templateKind(category: string): TemplateKind {
  const c = category.toLowerCase();
  if (/image|vision|digit/.test(c)) {
    return 'image';
  }
  if (/text|language|nlp/.test(c)) {
    return 'text';
  }
  if (/prep|clean|data/.test(c)) {
    return 'data';
  }
  return 'tabular';
}

/** The command's label: the title on a launcher card, a sentence in the palette. */
export function templateLabel(
  template: ITemplateLike | undefined,
  isLauncher: boolean
): string {
  if (!template) {
    return 'New Notebook from Template';
  }
  return isLauncher
    ? template.title
    : `New notebook from template: ${template.title}`;
}

/** The folder a new notebook goes to: the launcher's, else the file browser's. */
export function targetFolder(
  cwd: unknown,
  browserPath: string | undefined
): string {
  return typeof cwd === 'string' ? cwd : (browserPath ?? '');
}

/** What the notification after a new notebook says about its dataset. */
export function createdMessage(
  template: ITemplateLike | undefined,
  path: string,
  dataset: string | null,
  project: string
): string {
  const name = path.split('/').pop() ?? path;
  if (dataset) {
    const parameter = template?.dataset?.parameter ?? 'the dataset parameter';
    return `Created ${name} with ${parameter} = "${dataset}".`;
  }
  if (template?.dataset) {
    return (
      `Created ${name}. No dataset of project ${project} fits it: ` +
      'it reads the sample data copied beside it.'
    );
  }
  return `Created ${name}.`;
}
