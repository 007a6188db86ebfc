/** `tetora init` on a terminal: asks for each choice, offering the flags (or defaults) as answers. */
import { TetoraError } from '../errors.js';
import { problemWith, STARTER_PROVIDERS, type Detected, type InitChoices, type StarterProvider } from './starter.js';

/** Asks one question and resolves to the raw answer. */
export type Ask = (question: string) => Promise<string>;

const MAX_TRIES = 5;

async function askUntilValid(ask: Ask, question: string, fallback: string, check: (v: string) => string | null, say: (line: string) => void): Promise<string> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const answer = (await ask(`${question} [${fallback}]: `)).trim() || fallback;
    const problem = check(answer);
    if (problem === null) return answer;
    say(`  ${problem}; try again.`);
  }
  throw new TetoraError('TET_ERR_USAGE', `tetora init: no valid answer to "${question}" after ${MAX_TRIES} tries. Run \`tetora init --yes\` with flags instead (see \`tetora init --help\`).`);
}

function yesNo(answer: string, fallback: boolean): boolean | null {
  const a = answer.trim().toLowerCase();
  if (a === '') return fallback;
  if (a === 'y' || a === 'yes') return true;
  if (a === 'n' || a === 'no') return false;
  return null;
}

/**
 * Walk the user through the choices. `defaults` holds the flags or built-in defaults; `resolveDir` turns a
 * typed folder into the absolute path written to the config.
 */
export async function askChoices(ask: Ask, defaults: InitChoices, detected: Detected, say: (line: string) => void, resolveDir: (dir: string) => string): Promise<InitChoices> {
  const seen = STARTER_PROVIDERS.map((p) => `${p} ${detected[p] ? `(found: ${detected[p]})` : '(not found on PATH)'}`).join(', ');
  say(`Providers: ${seen}.`);
  const provider = (await askUntilValid(ask, 'Default provider', defaults.provider, (v) => problemWith('provider', v), say)) as StarterProvider;
  const agent = await askUntilValid(ask, 'Name of the first agent', defaults.agent, (v) => problemWith('agent', v), say);
  const listen = await askUntilValid(ask, 'HTTP listen address', defaults.listen, (v) => problemWith('listen', v), say);
  const dirAnswer = (await ask(`Default working folder for agents (blank for none) [${defaults.workdir ?? 'none'}]: `)).trim();
  const workdir = dirAnswer === '' ? defaults.workdir : dirAnswer.toLowerCase() === 'none' ? undefined : resolveDir(dirAnswer);
  let token: boolean | null = null;
  for (let i = 0; token === null && i < MAX_TRIES; i++) {
    token = yesNo(await ask(`Generate an API token for the HTTP API? [${defaults.token ? 'Y/n' : 'y/N'}]: `), defaults.token);
    if (token === null) say('  answer y or n.');
  }
  const choices: InitChoices = { provider, agent, listen, token: token ?? defaults.token };
  if (workdir !== undefined) choices.workdir = workdir;
  return choices;
}
