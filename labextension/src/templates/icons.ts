import { LabIcon } from '@jupyterlab/ui-components';

import { TemplateKind } from './format';

// 24x24 glyphs in the theme's icon colour (jp-icon3), one per kind of template
const paths: Record<TemplateKind, string> = {
  // a scatter of points and the line fitted through them
  tabular:
    'M3 3h2v16h16v2H3V3zm4 12.6 4.2-4.6 3 2.6L19.6 7 21 8.4l-6.7 7.8-3-2.6-2.8 3.1L7 15.6zM9 8a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3zm5 8a1.5 1.5 0 1 1 0 3 1.5 1.5 0 0 1 0-3z',
  // a picture: frame, sun and a mountain
  image:
    'M3 4h18a1 1 0 0 1 1 1v14a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm1 2v10.6l4.5-4.6 3.5 3.5 2.5-2.5L20 18.5V6H4zm11.5 1.5a2 2 0 1 1 0 4 2 2 0 0 1 0-4z',
  // lines of text and a tag
  text: 'M3 5h13v2H3V5zm0 4h18v2H3V9zm0 4h10v2H3v-2zm0 4h7v2H3v-2zm12.5-3.5H21V19h-5.5l-2-2.75 2-2.75z',
  // a table with an arrow into a new one
  data: 'M3 4h8v4H3V4zm0 6h8v4H3v-4zm0 6h8v4H3v-4zm10-6h3V7l5 5-5 5v-3h-3v-4z'
};

function icon(kind: TemplateKind): LabIcon {
  return new LabIcon({
    name: `jupyter-mllab:template-${kind}`,
    svgstr:
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="16" height="16">' +
      `<path class="jp-icon3" fill="#616161" d="${paths[kind]}"/></svg>`
  });
}

export const templateIcons: Record<TemplateKind, LabIcon> = {
  tabular: icon('tabular'),
  image: icon('image'),
  text: icon('text'),
  data: icon('data')
};
