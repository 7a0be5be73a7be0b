import { LabIcon } from '@jupyterlab/ui-components';

const flask = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <path class="jp-icon3" fill="#616161" d="M9 2h6v2h-1v5.2l5.6 9.3A2 2 0 0 1 17.9 21H6.1a2 2 0 0 1-1.7-2.5L10 9.2V4H9V2zm3 9.1-2.6 4.4h5.2L12 11.1z"/>
</svg>`;

export const mllabIcon = new LabIcon({
  name: 'jupyter-mllab:flask',
  svgstr: flask
});

const cube = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">
  <path class="jp-icon3" fill="#616161" d="M12 2 3 7v10l9 5 9-5V7l-9-5zm0 2.3 6.6 3.7L12 11.7 5.4 8 12 4.3zM5 9.7l6 3.4v6.6l-6-3.4V9.7zm8 10v-6.6l6-3.4v6.6l-6 3.4z"/>
</svg>`;

/** A model: the Export model buttons and the model pages. */
export const modelIcon = new LabIcon({
  name: 'jupyter-mllab:model',
  svgstr: cube
});
