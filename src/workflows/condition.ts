/**
 * The `if` of a condition step, evaluated as the original does (spec §8.1). Pure.
 *
 * - With `==` (looked for first) or `!=`: both sides are trimmed, and quotes (' and ") are stripped from the
 *   ends of the right-hand side only; the sides are compared as text.
 * - Otherwise: true unless the trimmed text is "", "false" or "0".
 *
 * The original renders the whole expression, then looks for the operator, so an output that itself holds
 * "==" splits in the wrong place. Here, when the operator stands in the expression as written (outside any
 * `{{…}}`), the split is made first and each side rendered on its own; an operator that only appears after
 * rendering (`"if": "{{expr}}"`) is still found as the original finds it.
 */
import { renderTemplate, type TemplateContext, type TemplateOptions } from './template.js';

export interface ConditionExplained {
  op: '==' | '!=' | 'truthy';
  /** The rendered left side (or the whole rendered text for `truthy`). */
  left: string;
  /** The rendered right side, quotes stripped; "" for `truthy`. */
  right: string;
  result: boolean;
}

/** Index of the first `op` outside `{{…}}` in `text`, or -1. */
function indexOutsideTemplates(text: string, op: string): number {
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('{{', i)) {
      const end = text.indexOf('}}', i + 2);
      // A `{{` that never closes is plain text.
      if (end !== -1 && !text.slice(i + 2, end).includes('}')) {
        i = end + 2;
        continue;
      }
    }
    if (text.startsWith(op, i)) return i;
    i++;
  }
  return -1;
}

function stripQuotes(s: string): string {
  return s.replace(/^["']+|["']+$/g, '');
}

function compare(op: '==' | '!=', leftText: string, rightText: string): ConditionExplained {
  const left = leftText.trim();
  const right = stripQuotes(rightText.trim());
  return { op, left, right, result: op === '==' ? left === right : left !== right };
}

/** Splits already-rendered text the original's way. */
function evalRendered(text: string): ConditionExplained {
  for (const op of ['==', '!='] as const) {
    const at = text.indexOf(op);
    if (at !== -1) return compare(op, text.slice(0, at), text.slice(at + op.length));
  }
  const value = text.trim();
  return { op: 'truthy', left: value, right: '', result: value !== '' && value !== 'false' && value !== '0' };
}

/** Evaluates `expr` and says how (for dry-run and logs). Throws only what `renderTemplate` throws. */
export function explainCondition(expr: string, ctx: TemplateContext, opts: TemplateOptions = {}): ConditionExplained {
  for (const op of ['==', '!='] as const) {
    const at = indexOutsideTemplates(expr, op);
    if (at !== -1) {
      return compare(op, renderTemplate(expr.slice(0, at), ctx, opts), renderTemplate(expr.slice(at + op.length), ctx, opts));
    }
  }
  return evalRendered(renderTemplate(expr, ctx, opts));
}

/** True when the condition holds. */
export function evalCondition(expr: string, ctx: TemplateContext, opts: TemplateOptions = {}): boolean {
  return explainCondition(expr, ctx, opts).result;
}

/** The operator written outside templates in `expr` and its raw sides (for validation's quote check). */
export function splitCondition(expr: string): { op: '==' | '!='; left: string; right: string } | undefined {
  for (const op of ['==', '!='] as const) {
    const at = indexOutsideTemplates(expr, op);
    if (at !== -1) return { op, left: expr.slice(0, at), right: expr.slice(at + op.length) };
  }
  return undefined;
}
