import type { ComponentChildren, JSX } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { statusTone } from './format.js';

export function Badge({ status, label }: { status: string | null | undefined; label?: string }): JSX.Element {
  const s = status ?? 'unknown';
  return (
    <span class={`badge tone-${statusTone(s)}`} data-status={s}>
      {label ?? s.replace(/_/g, ' ')}
    </span>
  );
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }): JSX.Element | null {
  if (!error) return null;
  const e = error as Error;
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div class="error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {e.message ?? String(error)}
      {code ? <code class="code">{code}</code> : null}
    </div>
  );
}

export function Loading({ what }: { what: string }): JSX.Element {
  return <p class="muted" aria-busy="true">Loading {what}…</p>;
}

export function Empty({ children }: { children: ComponentChildren }): JSX.Element {
  return <p class="muted empty">{children}</p>;
}

export function Card({ title, children, class: cls, actions }: { title?: ComponentChildren; children: ComponentChildren; class?: string; actions?: ComponentChildren }): JSX.Element {
  return (
    <section class={`card ${cls ?? ''}`}>
      {title || actions ? (
        <header class="card-head">
          {title ? <h2>{title}</h2> : <span />}
          {actions ? <div class="actions">{actions}</div> : null}
        </header>
      ) : null}
      {children}
    </section>
  );
}

/** A button that runs an async action: disabled while it runs; its error shown next to it. */
export function ActionButton({ label, busyLabel, onClick, kind, confirm: ask, disabled, title }: { label: string; busyLabel?: string; onClick: () => Promise<unknown>; kind?: 'primary' | 'danger' | 'plain'; confirm?: string; disabled?: boolean; title?: string }): JSX.Element {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const run = async () => {
    if (ask && !window.confirm(ask)) return;
    setBusy(true);
    setError(undefined);
    try {
      await onClick();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={`btn ${kind ?? 'plain'}`} disabled={busy || disabled} onClick={() => void run()} title={title}>
        {busy ? (busyLabel ?? `${label}…`) : label}
      </button>
      {error ? <ErrorBox error={error} /> : null}
    </span>
  );
}

/** A definition list of label → value pairs. */
export function Facts({ items }: { items: Array<[string, ComponentChildren]> }): JSX.Element {
  return (
    <dl class="facts">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v ?? '—'}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Table({ head, children, label }: { head: string[]; children: ComponentChildren; label: string }): JSX.Element {
  return (
    <div class="table-wrap" role="region" aria-label={label} tabIndex={0}>
      <table>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

export function shortId(id: string | null | undefined): string {
  if (!id) return '—';
  return id.length > 12 ? id.slice(0, 8) : id;
}
