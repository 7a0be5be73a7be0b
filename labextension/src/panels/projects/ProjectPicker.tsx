import { CommandRegistry } from '@lumino/commands';
import {
  addIcon,
  deleteIcon,
  editIcon,
  ReactWidget,
  refreshIcon,
  UseSignal
} from '@jupyterlab/ui-components';
import React from 'react';

import { IServerInfo } from '../../api/info';
import { LabModel } from '../../model';
import { CommandIDs } from '../../commands';
import { serverSummary } from './format';

function countsText(counts: { runs: number; datasets: number }): string {
  const parts = [];
  if (counts.runs) {
    parts.push(`${counts.runs} run${counts.runs === 1 ? '' : 's'}`);
  }
  if (counts.datasets) {
    parts.push(`${counts.datasets} dataset${counts.datasets === 1 ? '' : 's'}`);
  }
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function IconButton(props: {
  icon: typeof addIcon;
  title: string;
  onClick: () => void;
  className: string;
  disabled?: boolean;
}): JSX.Element {
  return (
    <button
      className={`jp-mllab-icon-button ${props.className}`}
      title={props.title}
      aria-label={props.title}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <props.icon.react tag="span" />
    </button>
  );
}

function ServerInfo(props: {
  info: IServerInfo;
  onClick: () => void;
}): JSX.Element {
  const { info } = props;
  return (
    <button
      className="jp-mllab-server-info"
      title={
        `${info.executor} executor, up to ${info.max_concurrent_runs} runs at once\n` +
        `Tracking: ${info.tracking_uri}\nArtifacts: ${info.artifact_root}\n` +
        `Home: ${info.home}\n(click for details)`
      }
      onClick={props.onClick}
    >
      {serverSummary(info).map(line => (
        <span key={line} className="jp-mllab-server-info-line">
          {line}
        </span>
      ))}
    </button>
  );
}

function Picker(props: {
  model: LabModel;
  commands: CommandRegistry;
}): JSX.Element {
  const { model, commands } = props;
  const project = model.currentProject;
  const run = (id: string, args = {}) => void commands.execute(id, args);
  // the default project can be neither renamed nor deleted
  const canChange = model.current !== 'default';
  return (
    <div className="jp-mllab-picker">
      <div className="jp-mllab-picker-title">
        <span className="jp-mllab-picker-label">Project</span>
        <IconButton
          icon={addIcon}
          title="New project"
          className="jp-mllab-new-project"
          onClick={() => run(CommandIDs.createProject)}
        />
        <IconButton
          icon={editIcon}
          title="Rename project"
          className="jp-mllab-rename-project"
          disabled={!canChange}
          onClick={() => run(CommandIDs.renameProject)}
        />
        <IconButton
          icon={deleteIcon}
          title="Delete project"
          className="jp-mllab-delete-project"
          disabled={!canChange}
          onClick={() => run(CommandIDs.deleteProject)}
        />
        <IconButton
          icon={refreshIcon}
          title="Refresh"
          className="jp-mllab-refresh"
          onClick={() => run(CommandIDs.refresh)}
        />
      </div>
      <select
        className="jp-mod-styled jp-mllab-project-select"
        aria-label="Current project"
        value={model.current}
        onChange={e => run(CommandIDs.switchProject, { name: e.target.value })}
      >
        {model.projects.map(p => (
          <option key={p.name} value={p.name}>
            {p.name}
            {countsText(p.counts)}
          </option>
        ))}
      </select>
      {project?.description ? (
        <div className="jp-mllab-picker-description">{project.description}</div>
      ) : null}
      {model.error ? (
        <div className="jp-mllab-error" role="alert">
          {model.error}
        </div>
      ) : null}
      {model.info ? (
        <ServerInfo
          info={model.info}
          onClick={() => run(CommandIDs.showInfo)}
        />
      ) : null}
    </div>
  );
}

/** The project picker on top of the ML Lab sidebar. */
export class ProjectPicker extends ReactWidget {
  constructor(
    private readonly model: LabModel,
    private readonly commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-mllab-picker-widget');
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <Picker model={this.model} commands={this.commands} />}
      </UseSignal>
    );
  }
}
