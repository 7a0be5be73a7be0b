import { IServerInfo } from '../../api/info';

/**
 * A tracking URI short enough for the sidebar: the scheme and the last two path parts
 * of a file or SQLite store, the host of a tracking server.
 */
export function shortTrackingUri(uri: string): string {
  const match = /^([a-z][a-z0-9+.-]*):(.*)$/i.exec(uri);
  if (!match) {
    return shortPath(uri);
  }
  const [, scheme, rest] = match;
  if (/^https?$/i.test(scheme)) {
    try {
      return new URL(uri).host;
    } catch {
      return uri;
    }
  }
  return `${scheme}:${shortPath(rest.replace(/^\/+/, '/'))}`;
}

function shortPath(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.length > 2 ? `…/${parts.slice(-2).join('/')}` : path;
}

/** Two short lines about the server: version, executor and GPU; the tracking store. */
export function serverSummary(info: IServerInfo): [string, string] {
  const gpu = info.gpu.available
    ? `${info.gpu.count} GPU${info.gpu.count === 1 ? '' : 's'}`
    : 'no GPU';
  return [
    `ML Lab ${info.version} · ${info.executor} ×${info.max_concurrent_runs} · ${gpu}`,
    `MLflow ${shortTrackingUri(info.tracking_uri)}`
  ];
}
