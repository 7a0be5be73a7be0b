import { LabModel } from '../../model';
import { PlannedPanel } from '../placeholder';

export function createHardwarePanel(model: LabModel): PlannedPanel {
  const panel = new PlannedPanel(
    model,
    () =>
      'Live CPU, memory, disk, network and GPU use of this machine will ' +
      'appear here.'
  );
  panel.id = 'jp-mllab-hardware';
  panel.title.label = 'Hardware';
  return panel;
}
