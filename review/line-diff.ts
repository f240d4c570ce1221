/**
 * A small line diff (longest common subsequence) for showing how a host's
 * script changes. Scripts are a few hundred lines, so the quadratic table is
 * cheap, and it avoids a dependency for one report section.
 */

type Op = { readonly kind: ' ' | '-' | '+'; readonly line: string };

function operations(a: string[], b: string[]): Op[] {
  // lcs[i][j]: length of the common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++] });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      ops.push({ kind: '-', line: a[i++] });
    } else {
      ops.push({ kind: '+', line: b[j++] });
    }
  }
  return ops;
}

/**
 * Changed lines prefixed `-`/`+` with `context` unchanged lines around them,
 * hunks separated by `@@`; empty when the texts are equal.
 */
export function lineDiff(before: string, after: string, context = 2): string {
  if (before === after) return '';
  const ops = operations(before.split('\n'), after.split('\n'));
  const keep = ops.map((op, k) => op.kind !== ' ' || ops.slice(Math.max(0, k - context), k + context + 1).some((o) => o.kind !== ' '));
  const out: string[] = [];
  ops.forEach((op, k) => {
    if (!keep[k]) return;
    if (k > 0 && !keep[k - 1] && out.length) out.push('@@');
    out.push(`${op.kind}${op.line}`);
  });
  return out.join('\n');
}
