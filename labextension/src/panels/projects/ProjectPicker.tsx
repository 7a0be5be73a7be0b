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

import { LabModel } from '../../model';
import { CommandIDs } from '../../commands';

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
}): JSX.Element {
  return (
    <button
      className={`jp-mllab-icon-button ${props.className}`}
      title={props.title}
      aria-label={props.title}
      onClick={props.onClick}
    >
      <props.icon.react tag="span" />
    </button>
  );
}

function Picker(props: {
  model: LabModel;
  commands: CommandRegistry;
}): JSX.Element {
  const { model, commands } = props;
  const project = model.currentProject;
  const info = model.info;
  const run = (id: string, args = {}) => void commands.execute(id, args);
  return (
    <div className="jp-mllab-picker">
      <div className="jp-mllab-picker-title">
        <span className="jp-mllab-picker-label">Project</span>
        <IconButton
          icon={refreshIcon}
          title="Refresh"
          className="jp-mllab-refresh"
          onClick={() => run(CommandIDs.refresh)}
        />
      </div>
      <div className="jp-mllab-picker-row">
        <select
          className="jp-mod-styled jp-mllab-project-select"
          aria-label="Current project"
          value={model.current}
          onChange={e =>
            run(CommandIDs.switchProject, { name: e.target.value })
          }
        >
          {model.projects.map(p => (
            <option key={p.name} value={p.name}>
              {p.name}
              {countsText(p.counts)}
            </option>
          ))}
        </select>
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
          onClick={() => run(CommandIDs.renameProject)}
        />
        <IconButton
          icon={deleteIcon}
          title="Delete project"
          className="jp-mllab-delete-project"
          onClick={() => run(CommandIDs.deleteProject)}
        />
      </div>
      {project?.description ? (
        <div className="jp-mllab-picker-description">{project.description}</div>
      ) : null}
      {model.error ? (
        <div className="jp-mllab-error" role="alert">
          {model.error}
        </div>
      ) : null}
      {info ? (
        <div
          className="jp-mllab-server-info"
          title={`Home: ${info.home}\nTracking: ${info.tracking_uri}\nArtifacts: ${info.artifact_root}`}
          onClick={() => run(CommandIDs.showInfo)}
        >
          ML Lab {info.version} · {info.executor} runs ×
          {info.max_concurrent_runs} ·{' '}
          {info.tracking_uri.startsWith('sqlite:')
            ? 'embedded MLflow'
            : 'MLflow server'}{' '}
          · {info.gpu.available ? `${info.gpu.count} GPU` : 'no GPU'}
        </div>
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
