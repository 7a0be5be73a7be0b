import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import React from 'react';

import { LabModel } from '../model';

/**
 * A panel whose domain has not landed yet: it says what it will hold, for the
 * current project, rather than showing nothing.
 */
export class PlannedPanel extends ReactWidget {
  constructor(
    private readonly model: LabModel,
    private readonly describe: (project: string) => string
  ) {
    super();
    this.addClass('jp-mllab-panel');
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => (
          <div className="jp-mllab-planned">
            {this.describe(this.model.current)}
          </div>
        )}
      </UseSignal>
    );
  }
}
