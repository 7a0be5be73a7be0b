/**
 * Stand-in for F1's CONTRACT C5 TimeChart until h-F1 is merged (the merge takes F1's file).
 */
import React from 'react';

export interface ITimeSeries {
  label: string;
  values: (number | null)[];
  color?: string;
}

export function TimeChart(props: {
  title?: string;
  unit?: string;
  ariaLabel: string;
  x: number[];
  xKind: 'time' | 'step';
  series: ITimeSeries[];
  log?: boolean;
  smoothing?: number;
  height?: number;
}): JSX.Element {
  return (
    <figure aria-label={props.ariaLabel} style={{ minHeight: props.height }}>
      <figcaption>
        {props.title}{' '}
        {props.series.map(s => (
          <span key={s.label}>
            {s.label} {s.values[s.values.length - 1] ?? '—'} {props.unit}{' '}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
