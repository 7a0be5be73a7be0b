import { Debouncer } from '@lumino/polling';
import { useEffect, useMemo, useRef, useState } from 'react';

import { INotebookParameters, IPlan, planJob } from '../../api/jobs';
import { IRunSpec, missing, toSubmission } from './runSpec';

/** How long the form waits after the last edit before it asks the server. */
export const PLAN_DEBOUNCE_MS = 300;

/** The server's plan of what the form would submit, or why there is none yet. */
export type PlanState =
  | { kind: 'pending' }
  | { kind: 'missing'; message: string }
  | { kind: 'invalid'; message: string }
  | { kind: 'plan'; plan: IPlan };

/**
 * The dry run (`POST jobs/plan`) of the form's submission, asked again `PLAN_DEBOUNCE_MS`
 * after each edit (`version` changes on every edit): the count of runs and the first
 * ones come from the expansion the submit itself does. Answers to older edits are dropped.
 */
export function usePlan(
  info: INotebookParameters,
  spec: IRunSpec,
  version: number
): PlanState {
  const [state, setState] = useState<PlanState>({ kind: 'pending' });
  const latest = useRef(0);
  const debouncer = useMemo(
    () =>
      new Debouncer(
        async (asked: number, body: ReturnType<typeof toSubmission>) => {
          try {
            const plan = await planJob(body);
            if (asked === latest.current) {
              setState({ kind: 'plan', plan });
            }
          } catch (e) {
            if (asked === latest.current) {
              setState({ kind: 'invalid', message: (e as Error).message });
            }
          }
        },
        PLAN_DEBOUNCE_MS
      ),
    []
  );
  useEffect(() => () => debouncer.dispose(), [debouncer]);
  useEffect(() => {
    const asked = ++latest.current;
    const gap = missing(info, spec);
    if (gap) {
      setState({ kind: 'missing', message: gap });
      return;
    }
    let body;
    try {
      body = toSubmission(info, spec);
    } catch (e) {
      setState({ kind: 'invalid', message: (e as Error).message });
      return;
    }
    setState(s => (s.kind === 'plan' ? s : { kind: 'pending' }));
    void debouncer.invoke(asked, body).catch(() => undefined);
  }, [info, version]);
  return state;
}
