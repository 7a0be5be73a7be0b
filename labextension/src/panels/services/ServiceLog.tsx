import React, { useCallback, useEffect, useRef, useState } from 'react';

import { serviceLog } from '../../api/services';
import { usePoll } from '../../poll';

/** Keep the last 2 MB of text a log view shows: the page stays fast on a chatty service. */
const KEEP = 2_000_000;

/** A service's log, fetched incrementally (from the offset the last chunk ended at). */
export function ServiceLog(props: {
  name: string;
  live: boolean;
}): JSX.Element {
  const [text, setText] = useState('');
  const [error, setError] = useState('');
  const offset = useRef(0);
  const view = useRef<HTMLPreElement>(null);
  const follow = useRef(true);

  const load = useCallback(async () => {
    try {
      // a long log comes in several chunks: read until the server has nothing more
      for (let i = 0; i < 20; i++) {
        const chunk = await serviceLog(props.name, offset.current);
        if (chunk.offset < offset.current) {
          // the file started over (the service was removed and deployed again)
          setText('');
        }
        offset.current = chunk.offset;
        if (!chunk.text) {
          break;
        }
        setText(old => (old + chunk.text).slice(-KEEP));
      }
      setError('');
    } catch (e) {
      setError((e as Error).message);
      throw e;
    }
  }, [props.name]);
  usePoll(load, {
    name: `jupyter-mllab:service-log:${props.name}`,
    interval: props.live ? 2000 : 10_000,
    deps: [props.name]
  });

  useEffect(() => {
    const el = view.current;
    if (el && follow.current) {
      el.scrollTo({ top: el.scrollHeight });
    }
  }, [text]);

  return (
    <>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      <pre
        className="jp-mllab-log jp-mllab-service-log"
        ref={view}
        tabIndex={0}
        aria-label={`Log of ${props.name}`}
        onScroll={e => {
          const el = e.currentTarget;
          // follow the end unless the reader scrolled up
          follow.current =
            el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {text || 'Nothing logged yet.'}
      </pre>
    </>
  );
}
