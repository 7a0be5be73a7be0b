import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An error answered by the ML Lab server: its HTTP status, message and reason code. */
export class MLLabApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: string
  ) {
    super(message);
    this.name = 'MLLabApiError';
  }
}

/** The URL of an ML Lab API path, e.g. apiUrl('projects', name). */
export function apiUrl(...parts: string[]): string {
  const settings = ServerConnection.makeSettings();
  return URLExt.join(
    settings.baseUrl,
    'mllab/api',
    ...parts.map(p => encodeURIComponent(p))
  );
}

/**
 * Call the ML Lab REST API: JSON in, JSON out, errors as MLLabApiError.
 * Every widget goes through here (or a domain module built on it); none fetches by hand.
 */
export async function requestAPI<T>(
  parts: string[],
  init: RequestInit = {},
  query: Record<string, string> = {}
): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const search = new URLSearchParams(query).toString();
  const url = apiUrl(...parts) + (search ? `?${search}` : '');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = { message: text };
    }
  }
  if (!response.ok) {
    throw new MLLabApiError(
      response.status,
      data?.message ?? response.statusText,
      data?.reason ?? ''
    );
  }
  return data as T;
}

/** JSON body helper. */
export function jsonBody(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body) };
}

/**
 * Fetch a file from the API and hand it to the browser as a download named
 * `filename` (the server may take a while, e.g. to build a bundle); errors as
 * MLLabApiError.
 */
export async function downloadFile(
  url: string,
  filename: string
): Promise<void> {
  const settings = ServerConnection.makeSettings();
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    const data = await response.json().catch(() => ({}));
    throw new MLLabApiError(
      response.status,
      data.message ?? response.statusText,
      data.reason ?? ''
    );
  }
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(href), 10_000);
}
