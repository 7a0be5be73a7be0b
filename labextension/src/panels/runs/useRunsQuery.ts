import { useMemo, useState } from 'react';

import { IRunsPage, IRunsQuery, listRuns } from '../../api/runs';
import { usePoll } from '../../poll';
import { IRunsFilters, NO_FILTERS, nextOrder, runsQuery } from './query';

/** The runs table's state: its query (filters, order, page) and the page it loaded. */
export interface IRunsState {
  query: IRunsQuery;
  filters: IRunsFilters;
  order: string;
  offset: number;
  page: IRunsPage | null;
  error: string;
  loading: boolean;
  /** Change some filters (back to the first page). */
  setFilters: (patch: Partial<IRunsFilters>) => void;
  /** Sort by a column, or flip its direction. */
  sortBy: (c: Parameters<typeof nextOrder>[1]) => void;
  setOffset: (offset: number) => void;
  refresh: () => Promise<void>;
}

/**
 * One project's runs, as the toolbar, the headers and the pager ask for them: fetched at
 * once when the query changes, then at the refresh interval while the view shows (runs
 * finish, new ones come), through the lab's one poller.
 */
export function useRunsQuery(
  project: string,
  visible?: () => boolean
): IRunsState {
  const [filters, setAll] = useState<IRunsFilters>(NO_FILTERS);
  const [order, setOrder] = useState('');
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<IRunsPage | null>(null);
  const [error, setError] = useState('');
  const [loading, setLoading] = useState(false);

  const query = useMemo(
    () => runsQuery(project, filters, order, offset),
    [project, filters, order, offset]
  );
  const load = async () => {
    setLoading(true);
    try {
      setPage(await listRuns(query));
      setError('');
    } catch (e) {
      setError((e as Error).message);
      throw e; // the poll backs off
    } finally {
      setLoading(false);
    }
  };
  const { refresh } = usePoll(load, {
    name: `mllab-runs-${project}`,
    deps: [query],
    visible
  });

  return {
    query,
    filters,
    order,
    offset,
    page,
    error,
    loading,
    setFilters: patch => {
      setAll(f => ({ ...f, ...patch }));
      setOffset(0);
    },
    sortBy: c => {
      setOrder(o => nextOrder(o, c));
      setOffset(0);
    },
    setOffset,
    refresh
  };
}
