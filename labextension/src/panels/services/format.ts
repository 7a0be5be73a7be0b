import type { IService, ServiceStatus } from '../../api/services';

/** Seconds of uptime, short: "42 s", "5 min", "3 h 20 min", "2 d 4 h". */
export function formatUptime(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) {
    return '—';
  }
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  const m = Math.floor(s / 60);
  if (m < 60) {
    return `${m} min`;
  }
  const h = Math.floor(m / 60);
  if (h < 24) {
    return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  }
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Milliseconds: "0.84 ms", "12.3 ms", "1,204 ms"; a dash for none. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !isFinite(ms)) {
    return '—';
  }
  if (ms < 10) {
    return `${ms.toFixed(2)} ms`;
  }
  if (ms < 100) {
    return `${ms.toFixed(1)} ms`;
  }
  return `${Math.round(ms).toLocaleString()} ms`;
}

/** The status a person reads, with health: "running · healthy", "running · warming up". */
export function statusText(s: IService): string {
  if (s.status === 'running') {
    return s.ready ? 'running · healthy' : 'running · not ready';
  }
  if (s.status === 'failed' && s.restarts) {
    return `failed after ${s.restarts} restart${s.restarts === 1 ? '' : 's'}`;
  }
  return s.status;
}

/** The dot's class: one colour per status (healthy green, starting pulsing, failed red). */
export function dotClass(s: IService): string {
  const kind: Record<ServiceStatus, string> = {
    starting: 'starting',
    restarting: 'starting',
    running: s.ready ? 'healthy' : 'starting',
    stopping: 'stopped',
    stopped: 'stopped',
    failed: 'failed'
  };
  return `jp-mllab-dot jp-mllab-service-dot jp-mllab-service-${kind[s.status]}`;
}

/** What the service serves: "wine@3" (and the alias it follows: "wine@3 (@champion)"). */
export function servedText(s: IService): string {
  if (s.model) {
    const key =
      s.model.version === null
        ? s.model.key
        : `${s.model.name}@${s.model.version}`;
    return s.source.alias ? `${key} (@${s.source.alias})` : key;
  }
  if (s.source.bundle) {
    return s.source.bundle.split('/').pop() ?? s.source.bundle;
  }
  return s.source.model ?? '—';
}

/** A service page's widget id: one page per service. */
export function serviceWidgetId(name: string): string {
  return `jp-mllab-service-${name.replace(/[^A-Za-z0-9-]/g, '_')}`;
}

/** The project and model name of a served model's key ("demo/wine@3"). */
export function modelOf(
  svc: IService
): { project: string; name: string } | null {
  if (!svc.model || svc.model.version === null) {
    return null; // a bundle's model, not a registered version
  }
  const [path] = svc.model.key.split('@');
  const slash = path.indexOf('/');
  return slash > 0
    ? { project: path.slice(0, slash), name: path.slice(slash + 1) }
    : { project: svc.project, name: svc.model.name };
}

/** The command a person copies to call the service directly (it needs the token there). */
export function curlCommand(svc: IService, body: unknown): string {
  const json = JSON.stringify(body).replace(/'/g, "'\\''");
  return [
    `curl -X POST ${svc.url}/invocations`,
    `  -H 'Authorization: Bearer ${svc.token}'`,
    "  -H 'Content-Type: application/json'",
    `  -d '${json}'`
  ].join(' \\\n');
}
