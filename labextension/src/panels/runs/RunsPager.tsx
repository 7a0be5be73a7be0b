import React from 'react';

import { hasNext, PAGE, pageRange } from './query';
import { IRunsState } from './useRunsQuery';

/** Previous / next page, where the page is, and a refresh. */
export function RunsPager(props: { runs: IRunsState }): JSX.Element | null {
  const { page, offset, loading } = props.runs;
  if (!page) {
    return null;
  }
  const rows = page.runs.length;
  return (
    <nav className="jp-mllab-pager" aria-label="pages">
      <button
        className="jp-mllab-button"
        disabled={offset === 0}
        onClick={() => props.runs.setOffset(Math.max(0, offset - PAGE))}
      >
        ‹ Previous
      </button>
      <span aria-label="page" aria-live="polite">
        {pageRange(offset, rows, page.total)}
        {loading ? ' …' : ''}
      </span>
      <button
        className="jp-mllab-button"
        disabled={!hasNext(offset, rows, page.total)}
        onClick={() => props.runs.setOffset(offset + PAGE)}
      >
        Next ›
      </button>
      <button
        className="jp-mllab-button"
        onClick={() => void props.runs.refresh().catch(() => undefined)}
      >
        Refresh
      </button>
    </nav>
  );
}
