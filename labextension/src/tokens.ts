import { Token } from '@lumino/coreutils';

import { LabModel } from './model';

/** The ML Lab's model (projects, the current one, server info), for other plugins. */
export const ILabModel = new Token<ILabModel>(
  'jupyter-mllab:ILabModel',
  'The ML Lab model: projects and the current project.'
);

export type ILabModel = LabModel;
