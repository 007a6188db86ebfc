// What the chaos agent answers, shared by the agent (test/chaos/chaos-agent.mjs) and the checker: the
// answer is a function of the prompt's tag and length directives only, so the checker knows every reply.

/** The directives `@@name=value@@` of a prompt; the LAST of each name wins (a chat prompt may carry history). */
export function directives(prompt) {
  const out = {};
  for (const m of prompt.matchAll(/@@([a-zA-Z]+)(?:=([^@]*))?@@/g)) out[m[1]] = m[2] ?? true;
  return out;
}

/** The agent's answer for `tag`: `done <tag>`, or numbered lines of about `long` characters (several Discord chunks). */
export function expectedOutput(tag, long) {
  const n = Number(long ?? 0);
  if (!n) return `done ${tag}`;
  const lines = [];
  let size = 0;
  for (let i = 1; size < n; i++) {
    const line = `${tag} line ${String(i).padStart(4, '0')} ${'abcdefghij'.repeat(6)}`;
    lines.push(line);
    size += line.length + 1;
  }
  return lines.join('\n');
}
