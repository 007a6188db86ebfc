import type { Command } from 'commander';

/**
 * `tetora completion bash|zsh|fish`: shell completion generated from the commander command tree, so a
 * new command or option is completed without anyone editing this file.
 */

export interface CommandNode {
  name: string;
  description: string;
  /** Long and short flags. */
  options: Array<{ flags: string[]; takesValue: boolean; description: string }>;
  subcommands: CommandNode[];
}

/** The tree of `cmd` (hidden commands left out). */
export function commandTree(cmd: Command): CommandNode {
  const options = cmd.options
    .filter((o) => !o.hidden)
    .map((o) => ({ flags: [o.long, o.short].filter((f): f is string => typeof f === 'string'), takesValue: o.required || o.optional, description: o.description }));
  options.push({ flags: ['--help', '-h'], takesValue: false, description: 'show help' });
  const subcommands = cmd.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden).map(commandTree);
  return { name: cmd.name(), description: cmd.description(), options, subcommands };
}

function walk(node: CommandNode, path: string[], fn: (n: CommandNode, path: string[]) => void): void {
  fn(node, path);
  for (const s of node.subcommands) walk(s, [...path, s.name], fn);
}

const sq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** The bash script: `source <(tetora completion bash)`. Pure. */
export function bashScript(root: CommandNode): string {
  const fn = `_${root.name.replace(/\W/g, '_')}`;
  const words: string[] = [];
  const subs: string[] = [];
  const valued: string[] = [];
  walk(root, [root.name], (n, path) => {
    const key = path.join(' ');
    const extra = path.length === 1 ? ['help'] : [];
    words.push(`    ${sq(key)}) words=${sq([...n.subcommands.map((s) => s.name), ...extra, ...n.options.flatMap((o) => o.flags)].join(' '))} ;;`);
    subs.push(`    ${sq(key)}) subs=${sq([...n.subcommands.map((s) => s.name), ...extra].join(' '))} ;;`);
    valued.push(`    ${sq(key)}) valued=${sq(n.options.filter((o) => o.takesValue).flatMap((o) => o.flags).join(' '))} ;;`);
  });
  return `# bash completion for ${root.name} (generated from its commands: \`${root.name} completion bash\`)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="" path="${root.name}" i w subs valued words skip=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if [ "$skip" = 1 ]; then skip=0; continue; fi
    valued=""
    case "$path" in
${valued.join('\n')}
    esac
    case "$w" in
      -*) if [[ " $valued " == *" $w "* ]]; then skip=1; fi; continue ;;
    esac
    subs=""
    case "$path" in
${subs.join('\n')}
    esac
    if [[ " $subs " == *" $w "* ]]; then path="$path $w"; fi
  done
  if [ "$skip" = 1 ]; then COMPREPLY=( $(compgen -f -- "$cur") ); return 0; fi
  words=""
  case "$path" in
${words.join('\n')}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
  return 0
}
complete -o default -F ${fn} ${root.name}
`;
}

/** zsh: the bash script through bashcompinit. Pure. */
export function zshScript(root: CommandNode): string {
  return `#compdef ${root.name}
# zsh completion for ${root.name} (generated: \`${root.name} completion zsh\`); uses zsh's bash completion support.
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(root)}`;
}

/** fish. Pure. */
export function fishScript(root: CommandNode): string {
  const lines = [`# fish completion for ${root.name} (generated: \`${root.name} completion fish\`)`, `complete -c ${root.name} -f`];
  walk(root, [], (n, path) => {
    const names = n.subcommands.map((s) => s.name);
    // The condition: the path's words were seen, and no subcommand of this level yet.
    const seen = path.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${path[path.length - 1]}${names.length ? `; and not __fish_seen_subcommand_from ${names.join(' ')}` : ''}`;
    for (const s of n.subcommands) lines.push(`complete -c ${root.name} -n ${sq(seen)} -a ${sq(s.name)} -d ${sq(s.description.slice(0, 80))}`);
    for (const o of n.options) {
      const long = o.flags.find((f) => f.startsWith('--'));
      const short = o.flags.find((f) => /^-[^-]$/.test(f));
      const cond = path.length === 0 ? '' : ` -n ${sq(`__fish_seen_subcommand_from ${path[path.length - 1]}`)}`;
      lines.push(`complete -c ${root.name}${cond}${long ? ` -l ${long.slice(2)}` : ''}${short ? ` -s ${short.slice(1)}` : ''}${o.takesValue ? ' -r -F' : ''} -d ${sq(o.description.slice(0, 80))}`);
    }
  });
  return `${lines.join('\n')}\n`;
}

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
