import type { KeyboardEvent } from 'react';

/** A row's keyboard action: Enter or Space on the row itself (not on a button in it). */
export function onEnterOrSpace(e: KeyboardEvent, action: () => void): void {
  if (e.target === e.currentTarget && (e.key === 'Enter' || e.key === ' ')) {
    e.preventDefault();
    action();
  }
}
