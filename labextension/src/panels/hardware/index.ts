import { LabModel } from '../../model';
import { HardwarePanel } from './HardwarePanel';

export function createHardwarePanel(
  model: LabModel,
  openJob: (id: string) => void
): HardwarePanel {
  return new HardwarePanel(model, openJob);
}
