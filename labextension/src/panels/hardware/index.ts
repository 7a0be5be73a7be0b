import { LabModel } from '../../model';
import { PlannedPanel } from '../placeholder';

export function createHardwarePanel(model: LabModel): PlannedPanel {
  const panel = new PlannedPanel(
    model,
    () =>
      'Live CPU, memory, disk, network and GPU charts of this machine will appear ' +
      'here, with what each running job uses.'
  );
  panel.id = 'jp-mllab-hardware';
  panel.title.label = 'Hardware';
  return panel;
}
