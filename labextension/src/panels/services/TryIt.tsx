import { closeIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useRef, useState } from 'react';

import {
  IFrameSplit,
  IPrediction,
  IService,
  predict
} from '../../api/services';
import { curlCommand, formatMs } from './format';
import { cellText, parseCell, requestBody } from './frames';
import { copyText } from './ServicesSection';

function FrameTable(props: {
  frame: IFrameSplit;
  onChange: (frame: IFrameSplit) => void;
}): JSX.Element {
  const { columns, data } = props.frame;
  const setCell = (i: number, j: number, text: string) => {
    const rows = data.map(r => [...r]);
    rows[i][j] = parseCell(text);
    props.onChange({ columns, data: rows });
  };
  return (
    <div className="jp-mllab-preview-table-wrap jp-mllab-tryit-table">
      <table className="jp-mllab-preview-table">
        <thead>
          <tr>
            <th aria-label="Row" />
            {columns.map(c => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data.map((row, i) => (
            <tr key={i}>
              <td>
                <button
                  className="jp-mllab-icon-button"
                  aria-label={`Remove row ${i + 1}`}
                  title="Remove this row"
                  disabled={data.length <= 1}
                  onClick={() =>
                    props.onChange({
                      columns,
                      data: data.filter((_, k) => k !== i)
                    })
                  }
                >
                  <closeIcon.react tag="span" />
                </button>
              </td>
              {row.map((cell, j) => (
                <td key={j}>
                  <input
                    className="jp-mllab-tryit-cell"
                    aria-label={`${columns[j]}, row ${i + 1}`}
                    value={cellText(cell)}
                    onChange={e => setCell(i, j, e.target.value)}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <button
        className="jp-mod-styled jp-mllab-tryit-add-row"
        disabled={!data.length}
        onClick={() =>
          props.onChange({
            columns,
            data: [...data, [...data[data.length - 1]]]
          })
        }
      >
        Add row
      </button>
    </div>
  );
}

function Answer(props: { answer: IPrediction }): JSX.Element {
  const a = props.answer;
  return (
    <div
      className={`jp-mllab-tryit-answer${a.ok ? '' : ' jp-mllab-tryit-failed'}`}
      data-status={a.status}
    >
      <div className="jp-mllab-tryit-facts">
        <span className="jp-mllab-tryit-status">HTTP {a.status}</span>
        <span className="jp-mllab-tryit-latency">{formatMs(a.ms)}</span>
        {a.model ? (
          <span title="X-MLLab-Model: the model version that answered">
            model <code className="jp-mllab-tryit-model">{a.model}</code>
          </span>
        ) : null}
        {a.run ? (
          <span title="X-MLLab-Run: the MLflow run that made it">
            run <code className="jp-mllab-tryit-run">{a.run}</code>
          </span>
        ) : null}
      </div>
      <pre className="jp-mllab-tryit-output">
        {JSON.stringify(a.body, null, 2)}
      </pre>
    </div>
  );
}

/**
 * Try the service: its input example as an editable table or as the JSON body, sent
 * through the lab's proxy; the answer with its latency and lineage headers; the same
 * call as a curl command against the service itself.
 */
export function TryIt(props: {
  service: IService;
  onPredicted: () => void;
}): JSX.Element {
  const s = props.service;
  const example = s.input_example;
  const [mode, setMode] = useState<'table' | 'json'>(
    example ? 'table' : 'json'
  );
  const [frame, setFrame] = useState<IFrameSplit | null>(example);
  const [json, setJson] = useState(
    JSON.stringify(
      example
        ? requestBody(example)
        : { dataframe_split: { columns: [], data: [[]] } },
      null,
      2
    )
  );
  const [jsonError, setJsonError] = useState('');
  const [answer, setAnswer] = useState<IPrediction | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  // the example arrives with the service (once its model is in place) or changes with
  // a redeploy: it replaces the input unless the person has edited it
  const edited = useRef(false);
  const exampleKey = JSON.stringify(example);
  useEffect(() => {
    if (example && !edited.current) {
      setFrame(example);
      setJson(JSON.stringify(requestBody(example), null, 2));
      setMode('table');
    }
  }, [exampleKey]);

  const switchTo = (next: 'table' | 'json') => {
    if (next === mode) {
      return;
    }
    if (next === 'json' && frame) {
      setJson(JSON.stringify(requestBody(frame), null, 2));
    }
    if (next === 'table') {
      try {
        const split = (JSON.parse(json) as { dataframe_split?: IFrameSplit })
          .dataframe_split;
        if (
          !split ||
          !Array.isArray(split.columns) ||
          !Array.isArray(split.data)
        ) {
          setJsonError('The table edits a "dataframe_split" body only.');
          return;
        }
        setFrame(split);
      } catch (e) {
        setJsonError(`Not JSON: ${(e as Error).message}`);
        return;
      }
    }
    setJsonError('');
    setMode(next);
  };

  let body: unknown = null;
  if (mode === 'table') {
    body = frame ? requestBody(frame) : null;
  } else {
    try {
      body = JSON.parse(json);
    } catch {
      body = null;
    }
  }

  const send = async () => {
    if (body === null) {
      setJsonError('The body is not JSON.');
      return;
    }
    setBusy(true);
    setError('');
    try {
      setAnswer(await predict(s, body));
      props.onPredicted();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const curl = curlCommand(s, body ?? {});
  return (
    <div className="jp-mllab-tryit">
      <div
        className="jp-mllab-tryit-modes"
        role="tablist"
        aria-label="Edit the input as"
      >
        {(['table', 'json'] as const).map(m => (
          <button
            key={m}
            role="tab"
            aria-selected={mode === m}
            className={`jp-mllab-tryit-mode${mode === m ? ' jp-mod-selected' : ''}`}
            disabled={m === 'table' && !frame && mode !== 'json'}
            onClick={() => switchTo(m)}
          >
            {m === 'table' ? 'Table' : 'JSON'}
          </button>
        ))}
      </div>
      {mode === 'table' && frame ? (
        <FrameTable
          frame={frame}
          onChange={f => {
            edited.current = true;
            setFrame(f);
          }}
        />
      ) : (
        <textarea
          className="jp-mod-styled jp-mllab-tryit-json"
          aria-label="Request body (JSON)"
          spellCheck={false}
          rows={8}
          value={json}
          onChange={e => {
            edited.current = true;
            setJson(e.target.value);
            setJsonError('');
          }}
        />
      )}
      {jsonError ? (
        <div className="jp-mllab-form-error">{jsonError}</div>
      ) : null}
      <div className="jp-mllab-tryit-send">
        <button
          className="jp-mod-styled jp-mod-accept jp-mllab-tryit-predict"
          disabled={busy || !s.ready}
          title={
            s.ready
              ? 'POST /invocations through the lab'
              : 'The service is not ready'
          }
          onClick={() => void send()}
        >
          {busy ? 'Predicting…' : 'Predict'}
        </button>
        {!s.ready ? (
          <span className="jp-mllab-muted">
            Waiting for the service to be ready…
          </span>
        ) : null}
      </div>
      {error ? <div className="jp-mllab-error">{error}</div> : null}
      {answer ? <Answer answer={answer} /> : null}
      <div className="jp-mllab-curl">
        <div className="jp-mllab-curl-header">
          <span className="jp-mllab-muted">
            The same call, straight to the service (it needs its token):
          </span>
          <button
            className="jp-mod-styled jp-mllab-copy-curl"
            onClick={() => copyText(curl, 'the curl command')}
          >
            Copy curl
          </button>
        </div>
        <pre className="jp-mllab-curl-command">{curl}</pre>
      </div>
    </div>
  );
}
