import { MainAreaWidget } from '@jupyterlab/apputils';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useRef, useState } from 'react';

import { useSettings } from '../../settings';
import { Column } from './ColumnPicker';
import { defaultColumns } from './query';
import { RunsPager } from './RunsPager';
import { RunsTable } from './RunsTable';
import { RunsToolbar } from './RunsToolbar';
import { useRunsQuery } from './useRunsQuery';

export interface IRunsActions {
  compare: (ids: string[]) => void;
  openJob: (id: string) => void;
}

/** A project's runs: the query hook, its toolbar, the table and the pager. */
function Runs(props: {
  project: string;
  actions: IRunsActions;
  visible: () => boolean;
}): JSX.Element {
  const runs = useRunsQuery(props.project, props.visible);
  const { runsColumns } = useSettings();
  const [shown, setShown] = useState<Column[] | null>(null);
  const [selected, setSelected] = useState<string[]>([]);
  const page = runs.page;
  useEffect(() => {
    if (page && shown === null) {
      setShown(defaultColumns(page, runsColumns));
    }
  }, [page]);
  // the setting changed (Settings Editor): its columns, without a reload
  const columnsSetting = JSON.stringify(runsColumns);
  const firstSetting = useRef(columnsSetting);
  useEffect(() => {
    if (page && columnsSetting !== firstSetting.current) {
      firstSetting.current = columnsSetting;
      setShown(defaultColumns(page, runsColumns));
    }
  }, [columnsSetting]);
  const toggle = (id: string) =>
    setSelected(s => (s.includes(id) ? s.filter(x => x !== id) : [...s, id]));
  const cols = shown ?? [];
  return (
    <div className="jp-mllab-runs">
      <RunsToolbar
        runs={runs}
        shown={cols}
        setShown={setShown}
        selected={selected}
        compare={props.actions.compare}
      />
      {runs.error && (
        <div className="jp-mllab-error" role="alert">
          {runs.error}
        </div>
      )}
      {page && (
        <RunsTable
          page={page}
          columns={cols}
          order={runs.order}
          sortBy={runs.sortBy}
          selected={selected}
          toggle={toggle}
          openJob={props.actions.openJob}
          showSweep={id => runs.setFilters({ sweep: id })}
        />
      )}
      <RunsPager runs={runs} />
    </div>
  );
}

export function createRunsView(
  project: string,
  actions: IRunsActions
): MainAreaWidget {
  const content: ReactWidget = ReactWidget.create(
    <Runs
      project={project}
      actions={actions}
      visible={() => content.isVisible}
    />
  );
  content.addClass('jp-mllab-runs-view');
  const widget = new MainAreaWidget({ content });
  widget.id = `jp-mllab-runs-${project}`;
  widget.title.label = `Runs · ${project}`;
  widget.title.closable = true;
  return widget;
}
