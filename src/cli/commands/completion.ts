import type { Command } from 'commander';
import { TetoraError } from '../../errors.js';
import { SHELLS, bashScript, commandTree, fishScript, zshScript } from '../../ops/completion.js';

export function registerCompletion(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash, zsh or fish), made from the commands this tetora has')
    .argument('<shell>', SHELLS.join(', '))
    .addHelpText(
      'after',
      `
Install:
  bash  echo 'source <(tetora completion bash)' >> ~/.bashrc
  zsh   tetora completion zsh > "\${fpath[1]}/_tetora"   (or: source <(tetora completion zsh) in ~/.zshrc)
  fish  tetora completion fish > ~/.config/fish/completions/tetora.fish`,
    )
    .action((shell: string, _opts: unknown, cmd: Command) => {
      let root: Command = cmd;
      while (root.parent) root = root.parent;
      const tree = commandTree(root);
      if (shell === 'bash') process.stdout.write(bashScript(tree));
      else if (shell === 'zsh') process.stdout.write(zshScript(tree));
      else if (shell === 'fish') process.stdout.write(fishScript(tree));
      else throw new TetoraError('TET_ERR_USAGE', `no completion for the shell "${shell}"; use one of ${SHELLS.join(', ')}.`, { shell });
    });
}
